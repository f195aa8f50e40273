package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a byte count written in TOML as an integer (bytes) or a string with
// a unit: "512KiB", "64MiB", "1GB". IEC units (KiB, MiB, GiB, TiB) are powers
// of 1024, SI units (KB, MB, GB, TB) powers of 1000; units are case-insensitive.
type Size int64

var sizeUnits = []struct {
	name string
	mul  int64
}{
	{"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"tb", 1e12}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3},
	{"b", 1},
}

// String formats s with the largest IEC unit that divides it exactly, or as
// plain bytes: "64MiB", "1000".
func (s Size) String() string {
	for _, u := range []struct {
		name string
		mul  int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.mul == 0 {
			return strconv.FormatInt(int64(s)/u.mul, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := parseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// decodeTOML sets s from a decoded TOML value.
func (s *Size) decodeTOML(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return fmt.Errorf("invalid size %d: negative", x)
		}
		*s = Size(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("invalid size %s: must be an integer or a string like \"64MiB\"", describe(v))
}

func parseSize(in string) (Size, error) {
	str := strings.TrimSpace(in)
	mul := int64(1)
	low := strings.ToLower(str)
	for _, u := range sizeUnits {
		if strings.HasSuffix(low, u.name) {
			mul = u.mul
			str = strings.TrimSpace(str[:len(str)-len(u.name)])
			break
		}
	}
	if str == "" || str[0] == '-' || str[0] == '+' {
		return 0, fmt.Errorf("invalid size %q", in)
	}
	if n, err := strconv.ParseInt(str, 10, 64); err == nil {
		if n > math.MaxInt64/mul {
			return 0, fmt.Errorf("invalid size %q: too large", in)
		}
		return Size(n * mul), nil
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid size %q", in)
	}
	v := f * float64(mul)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: too large", in)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("invalid size %q: not a whole number of bytes", in)
	}
	return Size(v), nil
}
