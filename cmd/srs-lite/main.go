// Command srs-lite is a live streaming server for routers, boards and camera
// boxes: RTMP in, RTMP and HTTP-FLV out, with an SRS-compatible HTTP API.
//
//	srs-lite [-c FILE]        run (embedded defaults without -c)
//	srs-lite -t [-c FILE]     check a config and exit
//	srs-lite -v               print version, target and the features compiled in
//	srs-lite bench play ...   load-test a server (see srs-lite bench -h; not in tiny builds)
//
// Signals: SIGHUP reloads the config, SIGTERM drains connections for
// [server] grace and exits, SIGINT and SIGQUIT exit fast. Under systemd
// (Type=notify) it reports READY, RELOADING, STOPPING and watchdog pings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/sdnotify"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/server"
)

// subcommands are the tools built into the binary (`srs-lite NAME ...`),
// registered by files that build tags may leave out.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{}

// startProfile starts optional profiling and returns its stop function
// (see pprof.go; a no-op in tiny builds).
var startProfile = func() (stop func()) { return func() {} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		cmd, ok := subcommands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "srs-lite: %s is not compiled into this build (profile %s); use a full build\n",
				args[0], buildinfo.Profile())
			return 2
		}
		return cmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("srs-lite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config `file` (TOML); without it the embedded defaults are used")
	check := fs.Bool("t", false, "check the config, print every problem and exit")
	version := fs.Bool("v", false, "print the version, target and features compiled in, and exit")
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
		_ = buildinfo.Read().Write(stdout)
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
		if err := server.CheckBoard(cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
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
	defer startProfile()()
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
	// Listeners are bound and serving: tell systemd (Type=notify). Outside
	// systemd these calls do nothing.
	sd := sdnotify.New(logger.Slog())
	sd.Ready(listening(srv))
	go sd.Watchdog(ctx, nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		for sig := range sigs {
			switch sig {
			case syscall.SIGHUP:
				sd.Reloading()
				status := listening(srv)
				if err := srv.Reload(); err != nil {
					status = "reload failed, running the previous config: " + err.Error()
				}
				sd.Ready(status)
			case syscall.SIGTERM:
				sd.Stopping()
				stop()
			default: // SIGINT, SIGQUIT: exit fast
				sd.Stopping()
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

// listening is the status line systemd shows: the bound addresses.
func listening(srv *server.Server) string {
	s := "serving"
	for _, role := range []string{"rtmp", "http_api", "http_server", "srt", "rtmps", "https_api", "https_server"} {
		if a := srv.Addr(role); a != "" {
			s += " " + role + "=" + a
		}
	}
	return s
}
