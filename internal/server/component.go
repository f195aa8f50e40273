package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
)

// component is one service of the server: a protocol, a remuxer, the API.
// The server holds them in one ordered list and never names them: start in
// order, close in reverse order, reload all or none.
type component interface {
	// name is the component's name in logs and errors.
	name() string
	// start binds what c configures and starts serving. A component that
	// is off in c starts nothing but stays in the list, so that a reload
	// can turn it on.
	start(ctx context.Context, c *config.Config) error
	// reload applies next in place of old; changed are the sections that
	// differ. An error leaves the component as it was with old. It is
	// called for every reload, and returns at once when none of its
	// sections changed.
	reload(old, next *config.Config, changed config.Sections) error
	// close stops the component; ctx bounds how long it may let its
	// connections drain.
	close(ctx context.Context) error
}

// router is a component with HTTP routes.
type router interface {
	routes(r *routes)
}

// publishWatcher is a component that starts something with each publish
// session (HLS, DVR, transcoders). It runs in the publisher's goroutine.
type publishWatcher interface {
	onPublish(st *media.Stream)
}

// routes are where components put their HTTP handlers: Go 1.22 ServeMux
// patterns on the API port and on the HTTP server port, and stream handlers
// for paths no pattern can name (SRS's mount templates, HLS names), asked
// in order before the static files.
type routes struct {
	api, http *http.ServeMux
	streams   []streamHandler
	fallback  http.Handler // the HTTP port's last resort: static files
}

// streamHandler serves r and reports true, or reports false without
// writing when r is not one of its paths.
type streamHandler struct {
	name  string
	serve func(w http.ResponseWriter, r *http.Request) bool
}

func newRoutes() *routes {
	return &routes{api: http.NewServeMux(), http: http.NewServeMux()}
}

// stream adds a stream handler.
func (r *routes) stream(name string, serve func(w http.ResponseWriter, r *http.Request) bool) {
	r.streams = append(r.streams, streamHandler{name, serve})
}

// serveStreams is the HTTP port's catch-all: the stream handlers in order,
// then the fallback.
func (r *routes) serveStreams(w http.ResponseWriter, req *http.Request) {
	for _, h := range r.streams {
		if h.serve(w, req) {
			return
		}
	}
	if r.fallback != nil {
		r.fallback.ServeHTTP(w, req)
		return
	}
	http.NotFound(w, req)
}

// factory makes a component of s. Each component's file registers its
// factory with an order: adding a protocol is its package plus one file
// here.
type factory struct {
	order int
	make  func(s *Server) (component, error)
}

var factories []factory

// Component start order. Remuxers first (they watch publishes), then
// handlers, listeners, and sources last: closing in reverse order stops
// the sources and publishers first, so players and recordings see the end
// of their streams before their own components close.
const (
	orderDVR = 10 * (iota + 1)
	orderHLS
	orderFLV
	orderStatic
	orderAPI
	orderHTTP
	orderTranscode
	orderSRT
	orderRTMP
	orderIngest
	orderPTZ
)

// register adds a component factory; from init functions.
func register(order int, make func(s *Server) (component, error)) {
	factories = append(factories, factory{order, make})
	slices.SortStableFunc(factories, func(a, b factory) int { return a.order - b.order })
}

// makeComponents makes every registered component of s, plus extra ones
// (tests add theirs), in order.
func (s *Server) makeComponents(extra []component) error {
	for _, f := range factories {
		c, err := f.make(s)
		if err != nil {
			return err
		}
		s.comps = append(s.comps, c)
	}
	s.comps = append(s.comps, extra...)
	return nil
}

// startComponents starts every component in order; on an error the ones
// started are closed again.
func (s *Server) startComponents(ctx context.Context, c *config.Config) error {
	for i, comp := range s.comps {
		if err := comp.start(ctx, c); err != nil {
			cctx, cancel := context.WithCancel(context.Background())
			cancel() // no grace: nothing served yet
			for j := i - 1; j >= 0; j-- {
				_ = s.comps[j].close(cctx)
			}
			return err
		}
	}
	return nil
}

// reloadComponents applies next to every component, or to none: when one
// fails, those already changed reload old again, in reverse order.
func (s *Server) reloadComponents(old, next *config.Config, changed config.Sections) error {
	for i, comp := range s.comps {
		err := comp.reload(old, next, changed)
		if err == nil {
			continue
		}
		err = fmt.Errorf("%s: %w", comp.name(), err)
		for j := i - 1; j >= 0; j-- {
			if uerr := s.comps[j].reload(next, old, changed); uerr != nil {
				err = errors.Join(err, fmt.Errorf("undo %s: %w", s.comps[j].name(), uerr))
			}
		}
		return err
	}
	return nil
}

// closeComponents closes every component in reverse order.
func (s *Server) closeComponents(ctx context.Context) {
	for i := len(s.comps) - 1; i >= 0; i-- {
		if err := s.comps[i].close(ctx); err != nil {
			s.log.Warn("close", "component", s.comps[i].name(), "err", err)
		}
	}
}

// passive is the lifecycle of a component with nothing to start, reload or
// close; components embed it and define what they need.
type passive struct{}

func (passive) start(context.Context, *config.Config) error         { return nil }
func (passive) reload(_, _ *config.Config, _ config.Sections) error { return nil }
func (passive) close(context.Context) error                         { return nil }
