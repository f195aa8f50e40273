package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/service/snapshot"
)

// Codes of the camera gateway's answers.
const (
	// CodeUnsupported answers a snapshot of a codec the decoder is not fed.
	CodeUnsupported = http.StatusUnsupportedMediaType
	// CodeNoFFmpeg answers a snapshot when ffmpeg is not installed.
	CodeNoFFmpeg = http.StatusServiceUnavailable
	// CodeTimeout answers a snapshot that took too long.
	CodeTimeout = http.StatusGatewayTimeout
)

// snapshotTimeout bounds a snapshot request.
const snapshotTimeout = 15 * time.Second

// cameraRoutes adds the camera gateway's paths: transcoders, video devices
// and snapshots.
func (a *API) cameraRoutes(m *http.ServeMux) {
	for _, p := range []string{"GET /api/v1/transcodes", "GET /api/v1/transcodes/{$}"} {
		m.HandleFunc(p, a.transcodes)
	}
	for _, p := range []string{"GET /api/v1/devices", "GET /api/v1/devices/{$}"} {
		m.HandleFunc(p, a.devices)
	}
	m.HandleFunc("GET /api/v1/snapshot", a.snapshot)
}

func (a *API) transcodes(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, "transcodes", a.deps.Transcodes)
}

func (a *API) devices(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, "devices", a.deps.Devices)
}

// snapshot answers GET /api/v1/snapshot?app=APP&stream=STREAM[&vhost=V]
// with a JPEG of the stream's latest keyframe, or a JSON error: 400 without
// app and stream, 404 for a stream not published (or audio only), 415 for a
// codec not supported, 503 without ffmpeg, 504 when no keyframe came.
func (a *API) snapshot(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	app, stream := q.Get("app"), q.Get("stream")
	if app == "" || stream == "" {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "want ?app=APP&stream=STREAM (and &vhost=VHOST for another vhost)")
		return
	}
	if a.deps.Snapshot == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "snapshots are not available")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), snapshotTimeout)
	defer cancel()
	jpeg, err := a.deps.Snapshot(ctx, q.Get("vhost"), app, stream)
	if err != nil {
		status, code := http.StatusInternalServerError, http.StatusInternalServerError
		switch {
		case errors.Is(err, snapshot.ErrNotFound), errors.Is(err, snapshot.ErrNoVideo):
			status, code = http.StatusNotFound, CodeStreamNotFound
		case errors.Is(err, snapshot.ErrCodec):
			status, code = http.StatusUnsupportedMediaType, CodeUnsupported
		case errors.Is(err, ffmpeg.ErrNotFound):
			status, code = http.StatusServiceUnavailable, CodeNoFFmpeg
		case errors.Is(err, snapshot.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			status, code = http.StatusGatewayTimeout, CodeTimeout
		}
		if r.Context().Err() != nil {
			return // the client left
		}
		a.fail(w, r, status, code, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(jpeg)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(jpeg)
	}
}
