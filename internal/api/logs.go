package api

import (
	"net/http"
	"strconv"
	"strings"
)

// LogLine is one line of the server's in-memory log ring (Deps.Logs).
type LogLine struct {
	Seq  uint64
	Text string // one formatted record, text or JSON
}

// Bounds of GET /api/v1/logs.
const (
	logsDefault = 200  // lines answered without ?count=
	logsMax     = 1000 // at most
)

type logLineView struct {
	Seq   uint64 `json:"seq"`
	Level string `json:"level,omitempty"` // DEBUG, INFO, WARN, ERROR
	CID   string `json:"cid,omitempty"`
	Text  string `json:"text"`
}

type logsData struct {
	// Next is the sequence number to pass as ?since= on the next poll: the
	// newest line looked at, filtered out or not.
	Next  uint64        `json:"next"`
	Lines []logLineView `json:"lines"`
	// Dropped counts the lines after ?since= that matched but are not in
	// the answer (older than the newest count).
	Dropped int `json:"dropped,omitempty"`
}

// logs is GET /api/v1/logs?level=&cid=&since=&count=: the newest lines of
// the log ring after sequence number since (0: all kept), newest last, at
// least at level (debug, info, warn, error) and of connection cid when
// given, at most count (default 200, at most 1000).
func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	if a.deps.Logs == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "the server keeps no log lines")
		return
	}
	q := r.URL.Query()
	var since uint64
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "since: want a sequence number")
			return
		}
		since = n
	}
	count := logsDefault
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "count: want a positive number")
			return
		}
		count = min(n, logsMax)
	}
	minLevel := -1
	if s := q.Get("level"); s != "" {
		minLevel = levelRank(strings.ToUpper(s))
		if minLevel < 0 {
			a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "level: want debug, info, warn or error")
			return
		}
	}
	cid := q.Get("cid")
	lines := a.deps.Logs(since)
	d := logsData{Next: since, Lines: []logLineView{}}
	if n := len(lines); n > 0 {
		d.Next = lines[n-1].Seq
	}
	for _, l := range lines {
		v := logLineView{Seq: l.Seq, Text: l.Text, Level: logField(l.Text, "level"), CID: logField(l.Text, "cid")}
		if minLevel >= 0 && levelRank(v.Level) < minLevel {
			continue
		}
		if cid != "" && v.CID != cid {
			continue
		}
		d.Lines = append(d.Lines, v)
	}
	if len(d.Lines) > count {
		d.Dropped = len(d.Lines) - count
		d.Lines = d.Lines[d.Dropped:]
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data logsData `json:"data"`
	}{a.env(CodeSuccess), d})
}

// levelRank orders slog's level names ("WARN+2" ranks as WARN); -1: not a
// level.
func levelRank(s string) int {
	for i, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		if strings.HasPrefix(s, l) {
			return i
		}
	}
	return -1
}

// logField returns the value of key in a record formatted by slog's text
// handler (key=value, key="quoted") or JSON handler ("key":"value"), at the
// top level; empty when absent.
func logField(line, key string) string {
	if strings.HasPrefix(line, "{") {
		k := `"` + key + `":"`
		i := strings.Index(line, k)
		if i < 0 {
			return ""
		}
		rest := line[i+len(k):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j]
		}
		return ""
	}
	// key=value pairs separated by spaces; quoted values may hold spaces
	// and "=", so they are skipped whole.
	for rest := line; rest != ""; {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return ""
		}
		k, v := rest[:eq], rest[eq+1:]
		var val string
		if strings.HasPrefix(v, `"`) {
			q, err := strconv.QuotedPrefix(v)
			if err != nil {
				return ""
			}
			val, _ = strconv.Unquote(q)
			rest = v[len(q):]
		} else {
			e := strings.IndexByte(v, ' ')
			if e < 0 {
				e = len(v)
			}
			val, rest = v[:e], v[e:]
		}
		if k == key {
			return val
		}
		rest = strings.TrimLeft(rest, " ")
	}
	return ""
}
