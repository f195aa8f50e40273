package api

import "time"

// The types of the endpoints the web console needs beyond SRS's API:
// recordings (dvr.go) and ingest edits (ingests.go). The tiny profile
// leaves the endpoints out (console_tiny.go).

// DVRRoot is a folder recordings are written under: the fixed part of a
// [vhost.dvr] path template (dvr.Root), how many folder levels below it
// the files may be, and the template itself (to tell the stream of a file).
type DVRRoot struct {
	Dir      string
	Depth    int
	Template string
}

// DVRFile is a recording as GET /api/v1/dvr/files lists it.
type DVRFile struct {
	// Path is the file's path in the API: the root's label, then the path
	// below the root ("dvr/live/cam.1700000000000.flv").
	Path   string    `json:"path"`
	Name   string    `json:"name"`
	Stream string    `json:"stream,omitempty"` // "app/stream" when the template tells it
	Format string    `json:"format"`           // flv, mp4, ts
	Size   int64     `json:"size"`
	MTime  time.Time `json:"mtime"`
	// Duration in seconds, when known (FLV, MP4, or tracked at the end of
	// the recording).
	Duration *float64 `json:"duration,omitempty"`
}

// IngestEdit is an [[ingest]] entry as POST and PUT /api/v1/ingests/{name}
// take it (JSON); empty fields are left out of the config file, so they
// keep their defaults.
type IngestEdit struct {
	Name        string `json:"name"`
	Enabled     *bool  `json:"enabled,omitempty"` // nil: true
	Input       string `json:"input"`
	Output      string `json:"output,omitempty"`
	OnDemand    bool   `json:"on_demand,omitempty"`
	IdleTimeout string `json:"idle_timeout,omitempty"`
	Transport   string `json:"transport,omitempty"`
	Encoder     string `json:"encoder,omitempty"`
	ACodec      string `json:"acodec,omitempty"`
}
