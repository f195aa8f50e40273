package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

const usage = `usage: srs-lite bench play [-n N] [-d DURATION] [-ramp DURATION] [-stall DURATION] [-json] URL

Opens N players against URL (http://host/app/stream.flv, or a scheme the
binary plugs in such as rtmp://, rtmps://, srt:// and whep://HOST:1985/APP/STREAM
or a WHEP endpoint http://HOST:1985/rtc/v1/whep/?app=APP&stream=STREAM) and reports connects, failures, bitrate,
frames, time to first video frame and stalls. Exit status 0 when every
player connected and none failed, 1 otherwise, 2 for a usage error.
A load tool: https:// and rtmps:// players do not verify the server's
certificate (a self-signed one is fine), and each makes a full TLS
handshake, as separate real players do.

`

// Main runs `bench` with the built-in players only (HTTP-FLV); it is
// NewMain(nil).
func Main(args []string, stdout, stderr io.Writer) int {
	return NewMain(nil)(args, stdout, stderr)
}

// NewMain returns the `srs-lite bench` command. players maps URL schemes
// ("rtmp") to their Player and may override the built-in HTTP-FLV player of
// "http" and "https". The command's args are those after "bench":
//
//	play [-n N] [-d DURATION] [-ramp DURATION] [-json] URL
//
// Flags may also follow the URL. The progress line goes to stderr; the
// summary table goes to stdout, or with -json the Result as JSON goes to
// stdout and the table to stderr. Interrupt (Ctrl-C) ends the run early and
// still prints the summary. It returns 0 when every player connected and
// none failed, 1 otherwise and 2 for a usage error.
func NewMain(players map[string]Player) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		return mainPlay(players, args, stdout, stderr)
	}
}

func mainPlay(players map[string]Player, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "play" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stderr, usage)
			return 0
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("bench play", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1, "number of players")
	d := fs.Duration("d", 10*time.Second, "duration of the run, ramp included")
	ramp := fs.Duration("ramp", 0, "spread the connects over this time (0: as fast as possible, at most 50 connecting at once)")
	stall := fs.Duration("stall", StallGap, "a gap without a (video) frame longer than this counts as a stall")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	// Parse flags before and after the URL.
	var pos []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "bench play: want one URL, got %d\n", len(pos))
		fs.Usage()
		return 2
	}
	if *n < 1 || *d <= 0 || *ramp < 0 || *stall <= 0 {
		fmt.Fprintln(stderr, "bench play: -n must be at least 1, -d and -stall positive and -ramp not negative")
		return 2
	}
	p, err := PlayerFor(pos[0], *n, players)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := Config{URL: pos[0], Players: *n, Duration: *d, Ramp: *ramp, StallGap: *stall, Progress: stderr, Terminal: isTerminal(stderr)}
	res, err := Run(ctx, cfg, p)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *asJSON {
		writeTable(stderr, &cfg, &res)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&res); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	} else {
		writeTable(stdout, &cfg, &res)
	}
	if !res.OK() {
		return 1
	}
	return 0
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// writeTable writes the human-readable summary of res.
func writeTable(w io.Writer, c *Config, res *Result) {
	var b strings.Builder
	fmt.Fprintf(&b, "bench play %s\n", c.URL)
	fmt.Fprintf(&b, "  %-10s %d requested, %d connected, %d failed\n", "players", res.Players, res.Connected, res.Failed)
	fmt.Fprintf(&b, "  %-10s %.1f s\n", "duration", float64(res.DurationMs)/1000)
	fmt.Fprintf(&b, "  %-10s %d (%.2f MB)\n", "bytes", res.Bytes, float64(res.Bytes)/1e6)
	fmt.Fprintf(&b, "  %-10s %.2f Mbps total, %.0f kbps per player\n", "bitrate", res.BitrateKbps/1000, res.PerPlayerKbps)
	fmt.Fprintf(&b, "  %-10s %d\n", "frames", res.Frames)
	fmt.Fprintf(&b, "  %-10s p50 %d ms, p95 %d ms, max %d ms (%d players)\n", "ttff", res.TTFF.P50, res.TTFF.P95, res.TTFF.Max, res.TTFF.Count)
	fmt.Fprintf(&b, "  %-10s %d\n", "stalls", res.Stalls)
	fmt.Fprintf(&b, "  %-10s %.0f%% of a core, %d usable (GOMAXPROCS)\n", "bench cpu", res.CPUPercent, res.CPUs)
	for i, e := range res.Errors {
		label := ""
		if i == 0 {
			label = "errors"
		}
		fmt.Fprintf(&b, "  %-10s %s\n", label, e)
	}
	if res.BenchBound() {
		fmt.Fprintf(&b, "  %-10s %d players never connected while the bench used %.0f%% of its %d CPU(s):\n"+
			"  %-10s the bench may be the limit, not the server: split the players over more bench processes or CPUs\n",
			"note", res.Players-res.Connected, res.CPUPercent, res.CPUs, "")
	}
	result := "ok"
	if !res.OK() {
		result = "FAIL"
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "result", result)
	io.WriteString(w, b.String())
}
