//go:build tiny

package server

import (
	"context"
	"time"

	"github.com/srs-lite/srs-lite/internal/api"
	"github.com/srs-lite/srs-lite/internal/service/dvr"
)

// The tiny profile has no console: no ingest edits, no recordings API.

func (c *apiComponent) editIngest() func(context.Context, string, *api.IngestEdit, bool, string) error {
	return nil
}
func (c *apiComponent) retryIngest() func(string) error                 { return nil }
func (c *apiComponent) dvrRoots() func() []api.DVRRoot                  { return nil }
func (c *apiComponent) dvrDuration() func(string) (time.Duration, bool) { return nil }

// track keeps nothing: nobody lists the recordings.
func (c *dvrComponent) track(dvr.File) {}
