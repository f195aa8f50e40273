package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every *Errors.
var ErrInvalid = errors.New("config: invalid")

// Problem is one thing wrong with a config: an unknown key, a bad value, a
// syntax error. Line is 0 when unknown (a config not read from a file).
type Problem struct {
	File string
	Line int
	Key  string // dotted, without array indices: "vhost.hls.fragment"
	Msg  string
}

// String formats p as FILE:LINE: key: message, leaving out the parts that
// are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in a config, sorted by line. Load, Parse and
// Validate return it as an error.
type Errors struct {
	Problems []Problem
}

// Error returns one problem per line.
func (e *Errors) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }

// problems collects problems with the internal (indexed) key path of each,
// so that a key already reported is not reported twice.
type problems struct {
	src   *source
	list  []Problem
	seen  map[string]bool // indexed paths with a problem
	extra int             // problems past maxProblems, not kept
}

// maxProblems bounds the problems reported for one file.
const maxProblems = 100

// add records a problem at the indexed path ("vhost[1].hls.fragment").
func (ps *problems) add(path, format string, args ...any) {
	if ps.seen == nil {
		ps.seen = make(map[string]bool)
	}
	ps.seen[path] = true
	if len(ps.list) >= maxProblems {
		ps.extra++
		return
	}
	p := Problem{Key: displayKey(path), Msg: fmt.Sprintf(format, args...)}
	if ps.src != nil {
		p.File = ps.src.name
		p.Line = ps.src.line(path)
	}
	ps.list = append(ps.list, p)
}

// err returns the problems as *Errors sorted by line, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	list := slices.Clone(ps.list)
	slices.SortStableFunc(list, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	if ps.extra > 0 {
		p := Problem{Msg: fmt.Sprintf("%d more problems not shown", ps.extra)}
		if ps.src != nil {
			p.File = ps.src.name
		}
		list = append(list, p)
	}
	return &Errors{Problems: list}
}

// joinKey appends the key component k to the path prefix, quoting k when it
// is not a bare TOML key.
func joinKey(prefix, k string) string {
	if !isBare(k) {
		k = quote(k)
	}
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// indexKey marks element i of the array of tables at path. The marker (NUL
// and digits) never occurs in a key: quote escapes control characters.
func indexKey(path string, i int) string {
	return path + "\x00" + strconv.Itoa(i)
}

func isBare(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// displayKey removes the array indices from an indexed path.
func displayKey(path string) string {
	if !strings.Contains(path, "\x00") {
		return path
	}
	b := make([]byte, 0, len(path))
	for i := 0; i < len(path); i++ {
		if path[i] == 0 {
			for i+1 < len(path) && path[i+1] >= '0' && path[i+1] <= '9' {
				i++
			}
			continue
		}
		b = append(b, path[i])
	}
	return string(b)
}
