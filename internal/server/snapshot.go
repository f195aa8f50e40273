package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/srs-lite/srs-lite/internal/service/snapshot"
)

// snapshotTakers holds each Server's snapshot taker, made at the first
// request. It stands in for a Server field.
var snapshotTakers sync.Map // *Server -> *snapshot.Taker

// snapshot returns a JPEG of a stream, for GET /api/v1/snapshot. An empty
// vhost is the default one.
func (s *Server) snapshot(ctx context.Context, vhost, app, stream string) ([]byte, error) {
	v, ok := s.vhostFor("", vhost)
	if !ok {
		return nil, fmt.Errorf("%w: vhost %q is disabled", snapshot.ErrNotFound, vhost)
	}
	t, ok := snapshotTakers.Load(s)
	if !ok {
		n, err := snapshot.New(snapshot.Deps{Registry: s.reg, Log: s.log})
		if err != nil {
			return nil, err
		}
		t, _ = snapshotTakers.LoadOrStore(s, n)
	}
	return t.(*snapshot.Taker).JPEG(ctx, v, app, stream)
}
