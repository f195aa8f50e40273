// Package metrics writes the Prometheus text exposition format (version
// 0.0.4) by hand: a family's HELP and TYPE lines, then its samples, with
// label values and help texts escaped as the format says. It is what SRS
// and MediaMTX do instead of linking a client library (client_golang costs
// about 2.9 MiB on mipsle).
//
// A scrape is one Writer over one byte slice, reused from scrape to scrape:
//
//	w.Family("srs_streams", metrics.Gauge, "The number of streams.")
//	w.Value(float64(n))
//	w.Family("srs_stream_frames_total", metrics.Counter, "Frames received.")
//	w.Sample("vhost", v, "app", a, "stream", s).Uint(frames)
//
// Every sample belongs to the family last started; a family started twice
// is an error (Err), as are names that are not Prometheus names. The caller
// keeps the order stable (sorted streams, fixed label order) and the
// series unique within a family. It imports the standard library only.
package metrics

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// Type is a family's TYPE.
type Type string

// Types of families.
const (
	Counter Type = "counter"
	Gauge   Type = "gauge"
	Untyped Type = "untyped"
)

// ContentType is the text format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Errors of Err.
var (
	// ErrName is a metric or label name outside [a-zA-Z_:][a-zA-Z0-9_:]*.
	ErrName = errors.New("metrics: bad name")
	// ErrDuplicate is a family started twice in one scrape.
	ErrDuplicate = errors.New("metrics: family written twice")
	// ErrNoFamily is a sample written before any family.
	ErrNoFamily = errors.New("metrics: sample without a family")
	// ErrLabels is an odd number of label strings (names and values pair up).
	ErrLabels = errors.New("metrics: labels must be name, value pairs")
)

// Writer builds one scrape in memory. The zero value is ready; Reset makes
// it ready for the next scrape and keeps its buffers.
type Writer struct {
	b        []byte
	name     string   // the family being written
	families []string // every family of this scrape, to refuse a repeat
	err      error
}

// Reset empties w for a new scrape, keeping its buffers.
func (w *Writer) Reset() {
	w.b = w.b[:0]
	w.name = ""
	w.families = w.families[:0]
	w.err = nil
}

// Bytes returns the scrape written so far; valid until the next write.
func (w *Writer) Bytes() []byte { return w.b }

// Err returns the first misuse of w since Reset (a bad name, a repeated
// family, a sample with no family), or nil. The text written stays usable:
// a refused family or sample is left out.
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(err error, what string) {
	if w.err == nil {
		w.err = errors.New(err.Error() + ": " + strconv.Quote(what))
	}
}

// Family starts a family: its HELP and TYPE lines. The samples that follow
// belong to it.
func (w *Writer) Family(name string, typ Type, help string) {
	w.name = ""
	if !ValidName(name) {
		w.fail(ErrName, name)
		return
	}
	for _, f := range w.families {
		if f == name {
			w.fail(ErrDuplicate, name)
			return
		}
	}
	w.families = append(w.families, name)
	w.name = name
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = appendEscaped(w.b, help, false)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// Sample starts a sample of the current family with labels given as name,
// value pairs, in the order given; finish it with Value, Int or Uint. The
// labels slice is not kept.
func (w *Writer) Sample(labels ...string) *Writer {
	if w.name == "" {
		w.fail(ErrNoFamily, "")
		w.b = append(w.b, '#') // keeps the line a comment: it is left out
		return w
	}
	if len(labels)%2 != 0 {
		w.fail(ErrLabels, w.name)
		w.b = append(w.b, '#')
		return w
	}
	for i := 0; i < len(labels); i += 2 {
		if !validLabel(labels[i]) {
			w.fail(ErrName, labels[i])
			w.b = append(w.b, '#')
			return w
		}
	}
	w.b = append(w.b, w.name...)
	if len(labels) > 0 {
		w.b = append(w.b, '{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, labels[i]...)
			w.b = append(w.b, '=', '"')
			w.b = appendEscaped(w.b, labels[i+1], true)
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	return w
}

// Value ends a sample with a float value. A sample with no labels can be
// written with Value alone: w.Family(...); w.Value(1) writes "name 1".
func (w *Writer) Value(v float64) {
	w.start()
	w.b = append(w.b, ' ')
	switch {
	case math.IsNaN(v):
		w.b = append(w.b, "NaN"...)
	case math.IsInf(v, 1):
		w.b = append(w.b, "+Inf"...)
	case math.IsInf(v, -1):
		w.b = append(w.b, "-Inf"...)
	default:
		w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	}
	w.b = append(w.b, '\n')
}

// Int ends a sample with an integer value.
func (w *Writer) Int(v int64) {
	w.start()
	w.b = append(w.b, ' ')
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '\n')
}

// Uint ends a sample with an unsigned integer value.
func (w *Writer) Uint(v uint64) {
	w.start()
	w.b = append(w.b, ' ')
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, '\n')
}

// Bool ends a sample with 1 for true, 0 for false.
func (w *Writer) Bool(v bool) {
	if v {
		w.Int(1)
		return
	}
	w.Int(0)
}

// start writes the metric name when the value comes with no Sample call:
// the line then is "name value". After Sample, the name is there already.
func (w *Writer) start() {
	n := len(w.b)
	if n == 0 || w.b[n-1] == '\n' {
		w.Sample()
	}
}

// appendEscaped appends s escaped as the format says: a backslash and a
// line feed in help texts, and the double quote too in label values.
// Invalid UTF-8 becomes U+FFFD: the format is UTF-8.
func appendEscaped(b []byte, s string, quote bool) []byte {
	plain := 0 // s[:plain] needs no escaping: appended in one go
	for plain < len(s) {
		c := s[plain]
		if c == '\\' || c == '\n' || c == '"' && quote || c >= utf8.RuneSelf {
			break
		}
		plain++
	}
	b = append(b, s[:plain]...)
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '"' && quote:
				b = append(b, '\\', '"')
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// ValidName reports whether s is a Prometheus metric name:
// [a-zA-Z_:][a-zA-Z0-9_:]*.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validLabel reports whether s is a label name: [a-zA-Z_][a-zA-Z0-9_]*,
// not starting with "__" (reserved).
func validLabel(s string) bool {
	if s == "" || len(s) >= 2 && s[0] == '_' && s[1] == '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
