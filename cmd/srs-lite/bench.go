//go:build !tiny

package main

import (
	"io"

	"github.com/srs-lite/srs-lite/internal/bench"
	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

// The load-test tool (srs-lite bench play ...) is left out of tiny builds.
func init() {
	buildinfo.Register("bench")
	subcommands["bench"] = func(args []string, stdout, stderr io.Writer) int {
		return bench.NewMain(map[string]bench.Player{"rtmp": rtmp.PlayTags, "srt": bench.SRTPlayer})(args, stdout, stderr)
	}
}
