package config

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// MaxFileSize bounds the size of a config file Parse accepts.
const MaxFileSize = 1 << 20

// Load reads and parses the config file at path; see Parse.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes a TOML config; name is the file name used in problems. Keys
// left out keep their defaults: the sections of Default, and
// DefaultVhostConfig for every [[vhost]] (ring_frames is rounded up to a power
// of two, an [[ingest]] without output gets live/NAME). If the file defines no
// __defaultVhost__, the default one is kept after the file's vhosts.
//
// Unknown keys, values of the wrong type, syntax errors and everything
// Validate rejects are all returned at once as *Errors, each as
// FILE:LINE: key: message.
func Parse(name string, data []byte) (*Config, error) {
	src := &source{name: name}
	ps := &problems{src: src}
	if len(data) > MaxFileSize {
		ps.add("", "file larger than %d bytes", MaxFileSize)
		return nil, ps.err()
	}
	if line, msg := precheck(string(data)); line > 0 {
		ps.list = append(ps.list, Problem{File: name, Line: line, Msg: msg})
		return nil, ps.err()
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if !errors.As(err, &pe) {
			ps.add("", "%v", err)
			return nil, ps.err()
		}
		ps.list = append(ps.list, Problem{File: name, Line: pe.Position.Line, Msg: pe.Message})
		return nil, ps.err()
	}
	src.lines = scanLines(string(data))

	c := Default()
	c.src = src
	d := decodeState{ps: ps}
	d.value("", raw, reflect.ValueOf(c).Elem())
	c.normalize()
	c.validate(ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// normalize fills the defaults that depend on other values.
func (c *Config) normalize() {
	found := false
	for i := range c.Vhosts {
		v := &c.Vhosts[i]
		if strings.EqualFold(v.Name, DefaultVhost) {
			found = true
		}
		if v.RingFrames > 0 && v.RingFrames <= maxRingFrames {
			v.RingFrames = max(minRingFrames, 1<<bits.Len(uint(v.RingFrames-1)))
		}
	}
	if !found {
		c.Vhosts = append(c.Vhosts, DefaultVhostConfig(DefaultVhost))
	}
	for i := range c.Ingests {
		in := &c.Ingests[i]
		if in.Output == "" && in.Name != "" {
			in.Output = "live/" + in.Name
		}
	}
}

// decoder is implemented by the value types that decode themselves.
type decoder interface {
	decodeTOML(v any) error
}

var decoderType = reflect.TypeFor[decoder]()

// decodeState walks the generic TOML tree into the Config, collecting every
// problem rather than stopping at the first.
type decodeState struct {
	ps *problems
}

// value decodes raw into rv (addressable) at the indexed path.
func (d *decodeState) value(path string, raw any, rv reflect.Value) {
	if rv.CanAddr() && rv.Addr().Type().Implements(decoderType) {
		if err := rv.Addr().Interface().(decoder).decodeTOML(raw); err != nil {
			d.ps.add(path, "%v", err)
		}
		return
	}
	switch rv.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			d.ps.add(path, "expected a table, got %s", describe(raw))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if what := notSupported(joinKey(path, k)); what != "" {
				d.ps.add(joinKey(path, k), "not supported yet (%s is not in this build)", what)
				continue
			}
			f, ok := fieldByTag(rv, k)
			if !ok {
				d.ps.add(joinKey(path, k), "unknown key")
				continue
			}
			d.value(joinKey(path, k), m[k], f)
		}
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Struct {
			d.tables(path, raw, rv)
			return
		}
		list, ok := raw.([]any)
		if !ok {
			d.ps.add(path, "expected a list of strings, got %s", describe(raw))
			return
		}
		out := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				d.ps.add(path, "element %d: expected a string, got %s", i+1, describe(e))
				return
			}
			out = append(out, s)
		}
		rv.Set(reflect.ValueOf(out))
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.ps.add(path, "expected a string, got %s", describe(raw))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.ps.add(path, "expected true or false, got %s", describe(raw))
			return
		}
		rv.SetBool(b)
	case reflect.Int:
		n, ok := raw.(int64)
		if !ok {
			d.ps.add(path, "expected an integer, got %s", describe(raw))
			return
		}
		if rv.OverflowInt(n) {
			d.ps.add(path, "integer %d out of range", n)
			return
		}
		rv.SetInt(n)
	default:
		d.ps.add(path, "unsupported field type %s", rv.Type()) // a schema bug
	}
}

// tables decodes an array of tables ([[vhost]], [[ingest]]); each element
// starts from its defaults.
func (d *decodeState) tables(path string, raw any, rv reflect.Value) {
	var elems []map[string]any
	switch x := raw.(type) {
	case []map[string]any:
		elems = x
	case []any: // vhost = [{...}, {...}]
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				d.ps.add(indexKey(path, i), "expected a table, got %s", describe(e))
				return
			}
			elems = append(elems, m)
		}
	default:
		d.ps.add(path, "expected an array of tables ([[%s]]), got %s", displayKey(path), describe(raw))
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(elems), len(elems))
	for i, m := range elems {
		e := out.Index(i)
		switch e.Addr().Interface().(type) {
		case *Vhost:
			e.Set(reflect.ValueOf(DefaultVhostConfig("")))
		case *Ingest:
			e.Set(reflect.ValueOf(defaultIngest()))
		}
		d.value(indexKey(path, i), m, e)
	}
	rv.Set(out)
}

// fieldByTag returns the field of struct rv whose toml tag is key.
func fieldByTag(rv reflect.Value, key string) (reflect.Value, bool) {
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == key {
			return rv.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// describe names a decoded TOML value for a message.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a %T", v)
}
