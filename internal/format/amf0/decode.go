package amf0

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Decode decodes one value from the start of b and returns it with the
// number of bytes it took. Malformed or truncated input returns an error;
// no length field makes it allocate more than b's size.
func Decode(b []byte) (v any, n int, err error) {
	d := decoder{b: b}
	v, err = d.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, d.off, nil
}

// DecodeAll decodes every value of b, such as the body of an RTMP command or
// data message.
func DecodeAll(b []byte) ([]any, error) {
	var vs []any
	d := decoder{b: b}
	for d.off < len(d.b) {
		v, err := d.value(0)
		if err != nil {
			return vs, fmt.Errorf("amf0: value %d at offset %d: %w", len(vs), d.off, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

type decoder struct {
	b   []byte
	off int
}

func (d *decoder) need(n int) ([]byte, error) {
	if n < 0 || len(d.b)-d.off < n {
		return nil, ErrTruncated
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) u16() (int, error) {
	p, err := d.need(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(p)), nil
}

func (d *decoder) u32() (uint32, error) {
	p, err := d.need(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (d *decoder) number() (float64, error) {
	p, err := d.need(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
}

// shortString reads a UTF-8 string with a 16-bit length (AMF0 1.3.1).
func (d *decoder) shortString() (string, error) {
	n, err := d.u16()
	if err != nil {
		return "", err
	}
	p, err := d.need(n)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// longString reads a UTF-8 string with a 32-bit length (AMF0 2.14).
func (d *decoder) longString() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	if uint64(n) > uint64(len(d.b)-d.off) {
		return "", ErrTruncated
	}
	p, _ := d.need(int(n))
	return string(p), nil
}

func (d *decoder) value(depth int) (any, error) {
	p, err := d.need(1)
	if err != nil {
		return nil, err
	}
	switch p[0] {
	case markerNumber: // AMF0 2.2
		return d.number()
	case markerBoolean: // AMF0 2.3
		p, err := d.need(1)
		if err != nil {
			return nil, err
		}
		return p[0] != 0, nil
	case markerString: // AMF0 2.4
		return d.shortString()
	case markerLongString: // AMF0 2.14
		return d.longString()
	case markerXMLDocument: // AMF0 2.17
		s, err := d.longString()
		return XMLDocument(s), err
	case markerNull: // AMF0 2.7
		return nil, nil
	case markerUndefined, markerUnsupported: // AMF0 2.8, 2.15
		return Undefined{}, nil
	case markerObject: // AMF0 2.5
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		ps, err := d.properties(depth, 0)
		return Object(ps), err
	case markerTypedObject: // AMF0 2.18: class name, then an anonymous object
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		if _, err := d.shortString(); err != nil {
			return nil, err
		}
		ps, err := d.properties(depth, 0)
		return Object(ps), err
	case markerECMAArray: // AMF0 2.10: associative count, then properties
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		count, err := d.u32()
		if err != nil {
			return nil, err
		}
		ps, err := d.properties(depth, count)
		return ECMAArray(ps), err
	case markerStrictArray: // AMF0 2.12
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		count, err := d.u32()
		if err != nil {
			return nil, err
		}
		// Every value takes at least one byte: a count beyond the input is
		// bogus and must not size an allocation.
		if uint64(count) > uint64(len(d.b)-d.off) {
			return nil, ErrTruncated
		}
		a := make(StrictArray, 0, count)
		for range count {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case markerDate: // AMF0 2.13
		ms, err := d.number()
		if err != nil {
			return nil, err
		}
		tz, err := d.u16()
		if err != nil {
			return nil, err
		}
		return Date{Millis: ms, TimeZone: int16(tz)}, nil
	case markerAVMPlus: // AMF0 3.1
		return nil, ErrAMF3
	default: // movie clip, reference, record set, a stray object end, unknown
		return nil, fmt.Errorf("%w 0x%02x", ErrMarker, p[0])
	}
}

// properties reads key/value pairs up to the object end marker 00 00 09
// (AMF0 2.5, 2.11). An ECMA array that ends with its input after at least
// count properties but without the end marker is accepted, as some old
// encoders write it so.
func (d *decoder) properties(depth int, count uint32) ([]Property, error) {
	ps := []Property{}
	for {
		if d.off == len(d.b) && count > 0 && uint64(len(ps)) >= uint64(count) {
			return ps, nil
		}
		key, err := d.shortString()
		if err != nil {
			return nil, err
		}
		if key == "" && d.off < len(d.b) && d.b[d.off] == markerObjectEnd {
			d.off++
			return ps, nil
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		ps = append(ps, Property{Key: key, Value: v})
	}
}
