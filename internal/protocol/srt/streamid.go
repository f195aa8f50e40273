package srt

import (
	"errors"
	"fmt"
	"strings"
)

// Mode is what a caller wants of a stream: to play it or to publish it.
type Mode uint8

// Modes, the m key of a stream id (Appendix B).
const (
	// ModeRequest plays a stream (m=request, the default).
	ModeRequest Mode = iota
	// ModePublish publishes a stream (m=publish).
	ModePublish
)

// String returns the m value of the mode.
func (m Mode) String() string {
	if m == ModePublish {
		return "publish"
	}
	return "request"
}

// DefaultApp is the app of a stream id that names no app ("livestream"),
// as SRS's default_app.
const DefaultApp = "live"

// Errors of stream ids.
var (
	// ErrStreamID reports a stream id srs-lite cannot map onto a stream.
	ErrStreamID = errors.New("srt: bad stream id")
	// ErrStreamMode reports an m= other than publish and request; it is
	// an ErrStreamID.
	ErrStreamMode = fmt.Errorf("%w: unknown mode", ErrStreamID)
)

// StreamID is a caller's stream id read as SRS reads it: either the access
// control syntax of Appendix B, "#!::r=live/livestream,m=publish" (keys r
// resource, m mode, h host, u user, s session; other keys and a query in the
// resource become the param), or a plain "live/livestream[?param]"
// (plain "livestream" is in app "live").
type StreamID struct {
	Vhost  string // h, or h's part before the first '/'; "" when none
	App    string
	Stream string
	Mode   Mode
	User   string // u
	// Param is the query handed to hooks, as SRS builds it: the resource's
	// own query and the keys other than h, r and m (u and s among them),
	// "k=v" joined by '&', with a leading '?'; "" when none.
	Param string
}

// ParseStreamID parses a stream id. The stream name must not be empty.
func ParseStreamID(s string) (StreamID, error) {
	var id StreamID
	if len(s) > maxSIDBytes {
		return id, fmt.Errorf("%w: %d bytes, at most %d", ErrStreamID, len(s), maxSIDBytes)
	}
	resource := s
	var params []string
	if rest, ok := strings.CutPrefix(s, "#!::"); ok {
		resource = ""
		hostRes := ""
		for kv := range strings.SplitSeq(rest, ",") {
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return id, fmt.Errorf("%w: %q is not key=value", ErrStreamID, kv)
			}
			switch k {
			case "h":
				// SRS: h=vhost, or h=vhost/app/stream naming the resource.
				if host, res, ok := strings.Cut(v, "/"); ok {
					id.Vhost, hostRes = host, res
				} else {
					id.Vhost = v
				}
			case "r":
				resource = v
			case "m":
				switch strings.ToLower(v) {
				case "publish":
					id.Mode = ModePublish
				case "request":
					id.Mode = ModeRequest
				default:
					return id, fmt.Errorf("%w %q: use m=publish or m=request", ErrStreamMode, v)
				}
			default:
				if k == "u" {
					id.User = v
				}
				params = append(params, k+"="+v)
			}
		}
		if resource == "" {
			resource = hostRes
		}
	} else if strings.HasPrefix(s, "#!:") {
		return id, fmt.Errorf("%w: %q: only the #!:: key=value form is supported", ErrStreamID, s)
	}
	resource, query, _ := strings.Cut(resource, "?")
	if query != "" {
		params = append([]string{query}, params...)
	}
	resource = strings.TrimLeft(resource, "/")
	if i := strings.LastIndexByte(resource, '/'); i >= 0 {
		id.App, id.Stream = resource[:i], resource[i+1:]
	} else {
		id.App, id.Stream = DefaultApp, resource
	}
	if id.Stream == "" || id.App == "" {
		return id, fmt.Errorf("%w: %q names no stream: use #!::r=APP/STREAM,m=publish", ErrStreamID, s)
	}
	if len(params) > 0 {
		id.Param = "?" + strings.Join(params, "&")
	}
	return id, nil
}

// String returns the stream id in the access control syntax.
func (id StreamID) String() string {
	var b strings.Builder
	b.WriteString("#!::r=")
	b.WriteString(id.App)
	b.WriteByte('/')
	b.WriteString(id.Stream)
	if id.Vhost != "" {
		b.WriteString(",h=")
		b.WriteString(id.Vhost)
	}
	b.WriteString(",m=")
	b.WriteString(id.Mode.String())
	return b.String()
}
