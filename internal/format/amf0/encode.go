package amf0

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Append appends the AMF0 encoding of v to dst. Besides the value model's
// types it accepts Go integers and float32 (as numbers), []any (as a strict
// array) and []Property (as an object). On error dst is returned unchanged
// with ErrType, ErrTooLong or ErrDepth.
func Append(dst []byte, v any) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendAll appends the encodings of vs to dst, in order.
func AppendAll(dst []byte, vs ...any) ([]byte, error) {
	out := dst
	for _, v := range vs {
		var err error
		if out, err = appendValue(out, v, 0); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// AppendNumber appends a number (AMF0 2.2).
func AppendNumber(dst []byte, f float64) []byte {
	dst = append(dst, markerNumber)
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

// AppendBool appends a boolean (AMF0 2.3).
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, markerBoolean, 1)
	}
	return append(dst, markerBoolean, 0)
}

// AppendString appends a string (AMF0 2.4), or a long string (AMF0 2.14)
// when s is longer than 65535 bytes.
func AppendString(dst []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		dst = append(dst, markerLongString)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
		return append(dst, s...)
	}
	dst = append(dst, markerString)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// AppendNull appends null (AMF0 2.7).
func AppendNull(dst []byte) []byte { return append(dst, markerNull) }

// AppendObject appends an anonymous object (AMF0 2.5) holding props. It
// returns an error when a value cannot be encoded or a key is too long; dst
// is then returned unchanged.
func AppendObject(dst []byte, props ...Property) ([]byte, error) {
	out, err := appendProps(append(dst, markerObject), props, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendProps(dst []byte, ps []Property, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return nil, ErrDepth
	}
	for _, p := range ps {
		if len(p.Key) > math.MaxUint16 {
			return nil, fmt.Errorf("%w: %d bytes", ErrTooLong, len(p.Key))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(p.Key)))
		dst = append(dst, p.Key...)
		var err error
		if dst, err = appendValue(dst, p.Value, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, 0, 0, markerObjectEnd), nil // AMF0 2.11
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return AppendNull(dst), nil
	case float64:
		return AppendNumber(dst, v), nil
	case float32:
		return AppendNumber(dst, float64(v)), nil
	case int:
		return AppendNumber(dst, float64(v)), nil
	case int8:
		return AppendNumber(dst, float64(v)), nil
	case int16:
		return AppendNumber(dst, float64(v)), nil
	case int32:
		return AppendNumber(dst, float64(v)), nil
	case int64:
		return AppendNumber(dst, float64(v)), nil
	case uint:
		return AppendNumber(dst, float64(v)), nil
	case uint8:
		return AppendNumber(dst, float64(v)), nil
	case uint16:
		return AppendNumber(dst, float64(v)), nil
	case uint32:
		return AppendNumber(dst, float64(v)), nil
	case uint64:
		return AppendNumber(dst, float64(v)), nil
	case bool:
		return AppendBool(dst, v), nil
	case string:
		return AppendString(dst, v), nil
	case XMLDocument:
		dst = append(dst, markerXMLDocument)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		return append(dst, v...), nil
	case Undefined:
		return append(dst, markerUndefined), nil
	case Object:
		return appendProps(append(dst, markerObject), v, depth)
	case []Property:
		return appendProps(append(dst, markerObject), v, depth)
	case ECMAArray:
		dst = append(dst, markerECMAArray)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		return appendProps(dst, v, depth)
	case StrictArray:
		return appendArray(dst, v, depth)
	case []any:
		return appendArray(dst, v, depth)
	case Date:
		dst = append(dst, markerDate)
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Millis))
		return binary.BigEndian.AppendUint16(dst, uint16(v.TimeZone)), nil
	}
	return nil, fmt.Errorf("%w %T", ErrType, v)
}

func appendArray(dst []byte, a []any, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return nil, ErrDepth
	}
	dst = append(dst, markerStrictArray)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(a)))
	for _, v := range a {
		var err error
		if dst, err = appendValue(dst, v, depth+1); err != nil {
			return nil, err
		}
	}
	return dst, nil
}
