//go:build !tiny

package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/api"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/config/txn"
	"github.com/srs-lite/srs-lite/internal/service/dvr"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
)

// errIngestText is returned when the [[ingest]] tables of the config file
// cannot be told apart in its text (written in another TOML form).
var errIngestText = errors.New("the [[ingest]] entries of the config file are not written as [[ingest]] tables " +
	"this editor can change: edit the file on the config page")

// editIngest is the API's POST, PUT and DELETE /api/v1/ingests/{name}: the
// config file's text is edited, the [[ingest]] table of the entry added,
// replaced or removed, everything else (comments included) kept as it is,
// and the new file goes through the config transaction as PUT
// /api/v1/config does.
func (s *Server) editIngest(ctx context.Context, name string, e *api.IngestEdit, create bool, origin string) error {
	if s.path == "" {
		return txn.ErrNoFile
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	cur, err := config.Parse(s.path, data)
	if err != nil {
		return fmt.Errorf("the config file does not parse as it is: %w", err)
	}
	at := -1
	for i, in := range cur.Ingests {
		if in.Name == name {
			at = i
		}
	}
	switch {
	case create && at >= 0:
		return kindError{fmt.Sprintf("there is an ingest %q already", name), fs.ErrExist}
	case !create && at < 0:
		return kindError{fmt.Sprintf("no ingest %q in the config file", name), fs.ErrNotExist}
	}
	if e != nil && at >= 0 {
		// The API shows passwords in URLs as xxxxx: given back unchanged,
		// they keep the password of the file.
		old := cur.Ingests[at]
		shown := (&config.Config{Ingests: []config.Ingest{old}}).Redacted().Ingests[0]
		if e.Input == shown.Input {
			e.Input = old.Input
		}
		if e.Output == shown.Output && e.Output != "" {
			e.Output = old.Output
		}
	}
	blocks, ok := ingestBlocks(data)
	if !ok || len(blocks) != len(cur.Ingests) {
		return errIngestText
	}
	var next []byte
	switch {
	case e == nil:
		b := blocks[at]
		next = append(append([]byte{}, data[:b[0]]...), data[b[1]:]...)
	case create:
		next = append([]byte{}, data...)
		if len(next) > 0 && next[len(next)-1] != '\n' {
			next = append(next, '\n')
		}
		next = append(append(next, '\n'), ingestTOML(e)...)
	default:
		b := blocks[at]
		next = append(append(append([]byte{}, data[:b[0]]...), ingestTOML(e)...), data[b[1]:]...)
	}
	// The edit must change that entry and nothing else.
	nc, err := config.Parse(s.path, next)
	if err != nil {
		return err
	}
	want := append([]config.Ingest(nil), cur.Ingests...)
	switch {
	case e == nil:
		want = append(want[:at], want[at+1:]...)
	case create:
		want = append(want, config.Ingest{Name: e.Name})
		at = len(want) - 1
	}
	if len(nc.Ingests) != len(want) {
		return errIngestText
	}
	for i := range want {
		if e != nil && i == at {
			if nc.Ingests[i].Name != e.Name || nc.Ingests[i].Input != e.Input {
				return errIngestText
			}
			continue
		}
		if nc.Ingests[i] != want[i] {
			return errIngestText
		}
	}
	return s.putConfig(ctx, next, origin)
}

// ingestBlocks returns the byte ranges of the [[ingest]] tables of a TOML
// text, in order: from the header line to the next table header, less the
// blank and comment lines just before that header (they belong to it). ok
// is false when the text holds ingests in another form the line scan
// cannot follow (a multi-line string holding a header is skipped).
func ingestBlocks(data []byte) (blocks [][2]int, ok bool) {
	text := string(data)
	open := -1   // start of the current ingest block
	lastKey := 0 // end of the last line that was neither blank nor a comment
	inML := ""   // the delimiter of a multi-line string we are in
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos + 1
		}
		line := strings.TrimSpace(text[pos:end])
		if inML != "" {
			if strings.Count(line, inML)%2 == 1 {
				inML = ""
			}
			lastKey = end
			pos = end
			continue
		}
		for _, d := range []string{`"""`, `'''`} {
			if strings.Count(line, d)%2 == 1 {
				inML = d
			}
		}
		switch {
		case strings.HasPrefix(line, "["):
			if open >= 0 {
				blocks = append(blocks, [2]int{open, lastKey})
				open = -1
			}
			h := strings.ReplaceAll(line, " ", "")
			if i := strings.IndexByte(h, '#'); i >= 0 {
				h = h[:i]
			}
			if h == "[[ingest]]" {
				open = pos
			} else if strings.HasPrefix(h, "[ingest") || strings.HasPrefix(h, "[[ingest.") {
				return nil, false
			}
			lastKey = end
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if open < 0 && (strings.HasPrefix(line, "ingest") && strings.Contains(line, "=")) {
				return nil, false
			}
			lastKey = end
		}
		pos = end
	}
	if open >= 0 {
		blocks = append(blocks, [2]int{open, lastKey})
	}
	return blocks, true
}

// ingestTOML writes an [[ingest]] table; empty fields are left out (their
// defaults apply).
func ingestTOML(e *api.IngestEdit) []byte {
	var b strings.Builder
	b.WriteString("[[ingest]]\n")
	kv := func(k, v string) {
		if v != "" {
			b.WriteString(k + " = " + tomlString(v) + "\n")
		}
	}
	kv("name", e.Name)
	kv("input", e.Input)
	kv("output", e.Output)
	if e.Enabled != nil && !*e.Enabled {
		b.WriteString("enabled = false\n")
	}
	if e.OnDemand {
		b.WriteString("on_demand = true\n")
	}
	kv("idle_timeout", e.IdleTimeout)
	kv("transport", e.Transport)
	kv("encoder", e.Encoder)
	kv("acodec", e.ACodec)
	return []byte(b.String())
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			h := strconv.FormatInt(int64(r), 16)
			if len(h) < 2 {
				b.WriteByte('0')
			}
			b.WriteString(h)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// The API's console endpoints (left out of the tiny profile:
// ingestedit_tiny.go).
func (c *apiComponent) editIngest() func(context.Context, string, *api.IngestEdit, bool, string) error {
	return c.s.editIngest
}
func (c *apiComponent) retryIngest() func(string) error { return c.s.retryIngest }
func (c *apiComponent) dvrRoots() func() []api.DVRRoot  { return c.s.dvrRoots }
func (c *apiComponent) dvrDuration() func(string) (time.Duration, bool) {
	return func(path string) (time.Duration, bool) {
		if dc := find[*dvrComponent](c.s); dc != nil {
			return dc.duration(path)
		}
		return 0, false
	}
}

// dvrRoots are the folders of the recordings: the roots of the [vhost.dvr]
// path templates of every vhost that records.
func (s *Server) dvrRoots() []api.DVRRoot {
	var out []api.DVRRoot
	for _, v := range s.cfg.Load().Vhosts {
		if v.DVR.Enabled {
			dir, depth := dvr.Root(v.DVR.Path)
			out = append(out, api.DVRRoot{Dir: dir, Depth: depth, Template: v.DVR.Path})
		}
	}
	return out
}

// retryIngest is the API's POST /api/v1/ingests/{name}/retry.
func (s *Server) retryIngest(name string) error {
	ic := find[*ingestComponent](s)
	if ic == nil {
		return kindError{fmt.Sprintf("no ingest %q", name), fs.ErrNotExist}
	}
	if err := ic.m.Retry(name); err != nil {
		if errors.Is(err, ingest.ErrUnknown) {
			return kindError{fmt.Sprintf("no ingest %q", name), fs.ErrNotExist}
		}
		return err
	}
	return nil
}

// kindError is a message that matches a sentinel (fs.ErrExist,
// fs.ErrNotExist) without showing its text.
type kindError struct {
	msg  string
	kind error
}

func (e kindError) Error() string        { return e.msg }
func (e kindError) Is(target error) bool { return target == e.kind }

// maxTracked bounds the durations kept for the API's list of recordings.
const maxTracked = 4096

// track keeps the duration of a finished recording, for TS files whose
// duration the API cannot read cheaply.
func (c *dvrComponent) track(f dvr.File) {
	c.durs.mu.Lock()
	defer c.durs.mu.Unlock()
	if c.durs.m == nil || len(c.durs.m) >= maxTracked {
		c.durs.m = map[string]time.Duration{}
	}
	c.durs.m[filepath.Clean(f.Path)] = f.Duration
}

// duration returns the duration of a recording finished in this run.
func (c *dvrComponent) duration(path string) (time.Duration, bool) {
	c.durs.mu.Lock()
	defer c.durs.mu.Unlock()
	d, ok := c.durs.m[filepath.Clean(path)]
	return d, ok
}
