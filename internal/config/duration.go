package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string: "2s", "500ms",
// "1h30m". Integers are rejected, so that "5" never silently means nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.String without trailing zero units:
// "30m" rather than "30m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText implements encoding.TextMarshaler (TOML and JSON strings).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q", b)
	}
	*d = Duration(v)
	return nil
}

// decodeTOML sets d from a decoded TOML value.
func (d *Duration) decodeTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("invalid duration %s: must be a string like \"5s\"", describe(v))
	}
	return d.UnmarshalText([]byte(s))
}
