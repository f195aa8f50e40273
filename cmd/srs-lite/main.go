// Command srs-lite is a live streaming server for routers, boards and camera
// boxes: RTMP in, RTMP and HTTP-FLV out, with an SRS-compatible HTTP API.
//
//	srs-lite [-c FILE]        run (embedded defaults without -c)
//	srs-lite -t [-c FILE]     check a config and exit
//	srs-lite -v               print version and build info
//	srs-lite bench play ...   load-test a server (see srs-lite bench -h)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/srs-lite/srs-lite/internal/bench"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/rtmp"
	"github.com/srs-lite/srs-lite/internal/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return bench.NewMain(map[string]bench.Player{"rtmp": rtmp.PlayTags})(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("srs-lite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config `file` (TOML); without it the embedded defaults are used")
	check := fs.Bool("t", false, "check the config, print every problem and exit")
	version := fs.Bool("v", false, "print the version and build info and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: srs-lite [-c FILE] [-t] [-v]\n       srs-lite bench play [-n N] [-d DURATION] URL\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *version {
		printVersion(stdout)
		return 0
	}
	cfg := config.Default()
	if *file != "" {
		c, err := config.Load(*file)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		cfg = c
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *check {
		name := *file
		if name == "" {
			name = "(embedded defaults)"
		}
		fmt.Fprintf(stdout, "srs-lite: the configuration %s is ok\n", name)
		return 0
	}
	logger, err := log.New(server.LogOptions(cfg))
	if err != nil {
		fmt.Fprintf(stderr, "srs-lite: %v\n", err)
		return 1
	}
	defer logger.Close()
	if p := os.Getenv("SRS_LITE_CPUPROFILE"); p != "" { // for development: go tool pprof
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	srv, err := server.New(*file, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "srs-lite: %v\n", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "srs-lite: %v\n", err)
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		for sig := range sigs {
			switch sig {
			case syscall.SIGHUP:
				_ = srv.Reload()
			case syscall.SIGTERM:
				stop()
			default: // SIGINT, SIGQUIT: exit fast
				srv.Fast()
				stop()
			}
		}
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "srs-lite: %v\n", err)
		return 1
	}
	return 0
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "srs-lite %s\n", server.Version)
	fmt.Fprintf(w, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "-tags", "GOARM", "GOMIPS", "CGO_ENABLED", "vcs.revision":
				fmt.Fprintf(w, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	fmt.Fprintf(w, "features: rtmp http-flv http-api\n")
}
