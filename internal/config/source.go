package config

import (
	"fmt"
	"strconv"
	"strings"
)

// source is where a config was read from: the file name and the line of each
// key, found by scanning the text (toml.MetaData has no positions for keys).
type source struct {
	name  string
	lines map[string]int // indexed path -> line of its first appearance
}

// line returns the line of path, or of its closest parent that has one, or 0.
func (s *source) line(path string) int {
	if s == nil {
		return 0
	}
	for path != "" {
		if n, ok := s.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".\x00")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// scanLines maps every key, table header and array-of-tables element of a
// TOML text to its line. The text has already been parsed successfully, but
// the scanner never indexes out of range on any input.
func scanLines(text string) map[string]int {
	sc := lineScanner{s: text, line: 1, lines: make(map[string]int), aot: make(map[string]int)}
	sc.run()
	return sc.lines
}

type lineScanner struct {
	s     string
	pos   int
	line  int
	table string         // indexed path of the current table
	lines map[string]int // result
	aot   map[string]int // indexed path of an array of tables -> elements so far
}

func (sc *lineScanner) record(path string) {
	if _, ok := sc.lines[path]; !ok {
		sc.lines[path] = sc.line
	}
}

func (sc *lineScanner) run() {
	for sc.pos < len(sc.s) {
		sc.skipSpace(true)
		if sc.pos >= len(sc.s) {
			return
		}
		start := sc.pos
		if sc.s[sc.pos] == '[' {
			sc.header()
		} else {
			sc.keyValue()
		}
		if sc.pos == start { // no progress on garbage: skip the byte
			sc.advance()
		}
	}
}

// advance moves past one byte, counting lines.
func (sc *lineScanner) advance() {
	if sc.s[sc.pos] == '\n' {
		sc.line++
	}
	sc.pos++
}

// skipSpace skips blanks and comments, and newlines when nl is set.
func (sc *lineScanner) skipSpace(nl bool) {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ' ', '\t', '\r':
			sc.pos++
		case '\n':
			if !nl {
				return
			}
			sc.advance()
		case '#':
			for sc.pos < len(sc.s) && sc.s[sc.pos] != '\n' {
				sc.pos++
			}
		default:
			return
		}
	}
}

// header handles [a.b] and [[a.b]].
func (sc *lineScanner) header() {
	sc.pos++
	double := sc.pos < len(sc.s) && sc.s[sc.pos] == '['
	if double {
		sc.pos++
	}
	parts := sc.key()
	path := ""
	parts = parts[:min(len(parts), maxKeyParts)]
	for i, p := range parts {
		path = joinKey(path, p)
		if double && i == len(parts)-1 {
			sc.record(path)
			n := sc.aot[path]
			sc.aot[path] = n + 1
			path = indexKey(path, n)
		} else if n, ok := sc.aot[path]; ok && n > 0 {
			path = indexKey(path, n-1)
		}
		sc.record(path)
	}
	sc.table = path
	sc.skipLine()
}

// keyValue handles key = value, with a dotted key relative to the table.
func (sc *lineScanner) keyValue() {
	parts := sc.key()
	if len(parts) == 0 {
		sc.skipLine()
		return
	}
	path := sc.table
	for _, p := range parts[:min(len(parts), maxKeyParts)] {
		path = joinKey(path, p)
		sc.record(path)
	}
	sc.skipSpace(false)
	if sc.pos < len(sc.s) && sc.s[sc.pos] == '=' {
		sc.pos++
	}
	sc.value(path)
}

// key reads a dotted key up to '=', ']' or the end of the line.
func (sc *lineScanner) key() []string {
	var parts []string
	for {
		sc.skipSpace(false)
		if sc.pos >= len(sc.s) {
			return parts
		}
		switch c := sc.s[sc.pos]; c {
		case '"':
			parts = append(parts, sc.basicKey())
		case '\'':
			end := strings.IndexAny(sc.s[sc.pos+1:], "'\n")
			if end < 0 {
				end = len(sc.s) - sc.pos - 1
			}
			parts = append(parts, sc.s[sc.pos+1:sc.pos+1+end])
			sc.pos += end + 1
			if sc.pos < len(sc.s) && sc.s[sc.pos] == '\'' {
				sc.pos++
			}
		default:
			start := sc.pos
			for sc.pos < len(sc.s) && isBareByte(sc.s[sc.pos]) {
				sc.pos++
			}
			if sc.pos == start {
				return parts
			}
			parts = append(parts, sc.s[start:sc.pos])
		}
		sc.skipSpace(false)
		if sc.pos >= len(sc.s) || sc.s[sc.pos] != '.' {
			return parts
		}
		sc.pos++
	}
}

// basicKey reads a "quoted" key and unescapes it.
func (sc *lineScanner) basicKey() string {
	start := sc.pos
	sc.pos++
	for sc.pos < len(sc.s) && sc.s[sc.pos] != '"' && sc.s[sc.pos] != '\n' {
		if sc.s[sc.pos] == '\\' && sc.pos+1 < len(sc.s) {
			sc.pos++
		}
		sc.pos++
	}
	if sc.pos < len(sc.s) && sc.s[sc.pos] == '"' {
		sc.pos++
	}
	raw := sc.s[start:sc.pos]
	if k, err := strconv.Unquote(raw); err == nil {
		return k
	}
	return strings.Trim(raw, `"`)
}

func isBareByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// skipLine skips to the start of the next line, past strings and comments.
func (sc *lineScanner) skipLine() {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case '\n':
			sc.advance()
			return
		case '"', '\'':
			sc.str()
		case '#':
			sc.skipSpace(false)
		default:
			sc.pos++
		}
	}
}

// value skips a value, which may span lines inside arrays, inline tables and
// multi-line strings, and the rest of its line. The elements of an array
// value are recorded at their lines, as path's indexed elements (so that
// a bad rule in a list spanning lines is reported at its own line).
func (sc *lineScanner) value(path string) {
	depth, elems := 0, 0
	inArray := false // the value is an array and depth 1 is inside it
	elem := func() {
		if depth == 1 && inArray {
			sc.record(indexKey(path, elems))
			elems++
		}
	}
	for sc.pos < len(sc.s) {
		switch c := sc.s[sc.pos]; c {
		case '"', '\'':
			elem()
			sc.str()
		case '[', '{':
			elem()
			if depth == 0 {
				inArray = c == '['
			}
			depth++
			sc.pos++
		case ']', '}':
			if depth > 0 {
				depth--
			}
			sc.pos++
		case '#':
			sc.skipSpace(false)
		case '\n':
			sc.advance()
			if depth == 0 {
				return
			}
		case ' ', '\t', '\r', ',':
			sc.pos++
		default:
			elem()
			for sc.pos < len(sc.s) && !strings.ContainsRune(" \t\r\n,]}#", rune(sc.s[sc.pos])) {
				sc.pos++
			}
		}
	}
}

// str skips a basic, literal or multi-line string starting at pos.
func (sc *lineScanner) str() {
	q := sc.s[sc.pos]
	triple := `"""`
	if q == '\'' {
		triple = "'''"
	}
	if strings.HasPrefix(sc.s[sc.pos:], triple) {
		sc.pos += 3
		for sc.pos < len(sc.s) {
			if q == '"' && sc.s[sc.pos] == '\\' && sc.pos+1 < len(sc.s) {
				sc.advance()
				sc.advance()
				continue
			}
			if strings.HasPrefix(sc.s[sc.pos:], triple) {
				sc.pos += 3
				// Up to two more quotes belong to the content: """a"""".
				for i := 0; i < 2 && sc.pos < len(sc.s) && sc.s[sc.pos] == q; i++ {
					sc.pos++
				}
				return
			}
			sc.advance()
		}
		return
	}
	sc.pos++
	for sc.pos < len(sc.s) && sc.s[sc.pos] != q && sc.s[sc.pos] != '\n' {
		if q == '"' && sc.s[sc.pos] == '\\' && sc.pos+1 < len(sc.s) && sc.s[sc.pos+1] != '\n' {
			sc.pos++
		}
		sc.pos++
	}
	if sc.pos < len(sc.s) && sc.s[sc.pos] == q {
		sc.pos++
	}
}

// Limits that keep the TOML decoder away from its quadratic cases: it builds
// the full path of every prefix of a dotted key and of every nesting level, so
// "a.a.a...= 1" with 16000 parts takes seconds (measured: 10s).
const (
	maxKeyParts = 32
	maxNesting  = 32
)

// precheck finds a key with more than maxKeyParts parts or brackets nested
// deeper than maxNesting, outside strings and comments. It returns the line
// and a message, or 0.
func precheck(s string) (int, string) {
	line, dots, depth := 1, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n':
			line++
			dots = 0
		case '#':
			for i+1 < len(s) && s[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			triple := i+2 < len(s) && s[i+1] == c && s[i+2] == c
			if triple {
				i += 3
				for i < len(s) && !(i+2 < len(s) && s[i] == c && s[i+1] == c && s[i+2] == c) {
					if s[i] == '\\' && c == '"' && i+1 < len(s) {
						if s[i+1] == '\n' {
							line++
						}
						i++
					} else if s[i] == '\n' {
						line++
					}
					i++
				}
				i += 2
				continue
			}
			for i++; i < len(s) && s[i] != c && s[i] != '\n'; i++ {
				if s[i] == '\\' && c == '"' && i+1 < len(s) && s[i+1] != '\n' {
					i++
				}
			}
			if i < len(s) && s[i] == '\n' {
				i-- // count the line above
			}
		case '.':
			if dots++; dots >= maxKeyParts {
				return line, fmt.Sprintf("key with more than %d parts", maxKeyParts)
			}
		case '[', '{':
			dots = 0
			if depth++; depth > maxNesting {
				return line, fmt.Sprintf("nested deeper than %d levels", maxNesting)
			}
		case ']', '}':
			dots = 0
			if depth > 0 {
				depth--
			}
		case '=', ',':
			dots = 0
		}
	}
	return 0, ""
}
