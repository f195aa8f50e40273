package log

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// handler is the slog.Handler behind Logger.Slog. It holds no sink itself:
// each record goes to the Logger's current sink, with this handler's
// WithAttrs/WithGroup chain applied to it once per sink and cached.
type handler struct {
	l     *Logger
	ops   []op // WithAttrs and WithGroup calls, in order
	cache atomic.Pointer[cached]
}

// op is one WithGroup (group set) or WithAttrs call.
type op struct {
	group string
	attrs []slog.Attr
}

// cached is the chain applied to the sink of generation gen.
type cached struct {
	gen uint64
	h   slog.Handler
}

// Enabled reports whether level is at or above the Logger's level.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.l.level.Level()
}

// Handle writes r to the current sink.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	h.l.mu.RLock()
	defer h.l.mu.RUnlock()
	s := h.l.sink
	c := h.cache.Load()
	if c == nil || c.gen != s.gen {
		hh := s.base
		for _, o := range h.ops {
			if o.attrs != nil {
				hh = hh.WithAttrs(o.attrs)
			} else {
				hh = hh.WithGroup(o.group)
			}
		}
		c = &cached{gen: s.gen, h: hh}
		h.cache.Store(c)
	}
	return c.h.Handle(ctx, r)
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(op{attrs: attrs})
}

// WithGroup returns a handler that nests later attributes under name.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(op{group: name})
}

func (h *handler) with(o op) *handler {
	ops := make([]op, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &handler{l: h.l, ops: append(ops, o)}
}
