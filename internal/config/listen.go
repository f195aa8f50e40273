package config

import (
	"fmt"
	"strings"
)

// Listen is a list of listen addresses, written in TOML as one string
// ("0.0.0.0:1935") or an array of strings.
type Listen []string

// MarshalTOML implements toml.Marshaler: one address as a string, several as
// an array.
func (l Listen) MarshalTOML() ([]byte, error) {
	if len(l) == 1 {
		return []byte(quote(l[0])), nil
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = quote(s)
	}
	return []byte("[" + strings.Join(q, ", ") + "]"), nil
}

// decodeTOML sets l from a decoded TOML value.
func (l *Listen) decodeTOML(v any) error {
	switch x := v.(type) {
	case string:
		*l = Listen{x}
		return nil
	case []any:
		out := make(Listen, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("expected a string or a list of strings, got a list with %s", describe(e))
			}
			out = append(out, s)
		}
		*l = out
		return nil
	}
	return fmt.Errorf("expected a string or a list of strings, got %s", describe(v))
}

// quote returns s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
