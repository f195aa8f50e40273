// Package amf0 encodes and decodes Action Message Format version 0 (Adobe
// AMF0 specification), the value encoding of RTMP commands and data messages
// and of the FLV onMetaData script tag.
//
// Go values model AMF0 values: float64 (number), bool, string (string and long
// string), nil (null), Undefined, Object, ECMAArray, StrictArray, Date and
// XMLDocument. Objects keep the order of their properties.
package amf0

import (
	"errors"
	"math"
	"time"
)

// Type markers, AMF0 2.1.
const (
	markerNumber      = 0x00
	markerBoolean     = 0x01
	markerString      = 0x02
	markerObject      = 0x03
	markerMovieClip   = 0x04 // reserved, not supported
	markerNull        = 0x05
	markerUndefined   = 0x06
	markerReference   = 0x07
	markerECMAArray   = 0x08
	markerObjectEnd   = 0x09
	markerStrictArray = 0x0A
	markerDate        = 0x0B
	markerLongString  = 0x0C
	markerUnsupported = 0x0D
	markerRecordSet   = 0x0E // reserved, not supported
	markerXMLDocument = 0x0F
	markerTypedObject = 0x10
	markerAVMPlus     = 0x11 // switch to AMF3
)

// MaxDepth is how deeply objects and arrays may nest, in decoding and
// encoding.
const MaxDepth = 32

// Errors returned by the decoder and encoder.
var (
	// ErrTruncated reports input that ends inside a value.
	ErrTruncated = errors.New("amf0: truncated input")
	// ErrAMF3 reports the AVM+ marker (0x11), a switch to AMF3, which this
	// package does not decode.
	ErrAMF3 = errors.New("amf0: amf3 value")
	// ErrDepth reports objects or arrays nested deeper than MaxDepth.
	ErrDepth = errors.New("amf0: nesting too deep")
	// ErrMarker reports an unknown or unsupported type marker (movie clip,
	// reference, record set, a misplaced object end).
	ErrMarker = errors.New("amf0: unsupported type marker")
	// ErrType reports a Go value that has no AMF0 encoding.
	ErrType = errors.New("amf0: unsupported go type")
	// ErrTooLong reports an object key longer than 65535 bytes.
	ErrTooLong = errors.New("amf0: key too long")
)

// Undefined is the AMF0 undefined value (AMF0 2.8). The unsupported marker
// (AMF0 2.15) also decodes to Undefined.
type Undefined struct{}

// Property is one key/value pair of an Object or ECMAArray.
type Property struct {
	Key   string
	Value any
}

// Object is an anonymous AMF0 object (AMF0 2.5): properties in wire order.
// A typed object (AMF0 2.18) decodes to an Object too; its class name is
// dropped.
type Object []Property

// ECMAArray is an AMF0 ECMA array (AMF0 2.10), an associative array with the
// same shape as Object. onMetaData bodies usually carry one.
type ECMAArray []Property

// StrictArray is an AMF0 strict array (AMF0 2.12).
type StrictArray []any

// XMLDocument is an AMF0 XML document (AMF0 2.17), kept as its text.
type XMLDocument string

// Date is an AMF0 date (AMF0 2.13): milliseconds since the Unix epoch in UTC
// and a time zone offset in minutes that senders should set to 0.
type Date struct {
	Millis   float64
	TimeZone int16
}

// Time returns d as a time.Time in UTC.
func (d Date) Time() time.Time {
	if math.IsNaN(d.Millis) || math.IsInf(d.Millis, 0) {
		return time.Time{}
	}
	return time.UnixMilli(int64(d.Millis)).UTC()
}

// Get returns the value of the first property named key.
func (o Object) Get(key string) (any, bool) { return get(o, key) }

// String returns the property named key when it is a string.
func (o Object) String(key string) (string, bool) { return getString(o, key) }

// Number returns the property named key when it is a number.
func (o Object) Number(key string) (float64, bool) { return getNumber(o, key) }

// Bool returns the property named key when it is a boolean.
func (o Object) Bool(key string) (bool, bool) { return getBool(o, key) }

// Get returns the value of the first property named key.
func (a ECMAArray) Get(key string) (any, bool) { return get(a, key) }

// String returns the property named key when it is a string.
func (a ECMAArray) String(key string) (string, bool) { return getString(a, key) }

// Number returns the property named key when it is a number.
func (a ECMAArray) Number(key string) (float64, bool) { return getNumber(a, key) }

// Bool returns the property named key when it is a boolean.
func (a ECMAArray) Bool(key string) (bool, bool) { return getBool(a, key) }

// Properties returns the properties of v when it is an Object or an
// ECMAArray (metadata senders use either), and nil otherwise.
func Properties(v any) []Property {
	switch v := v.(type) {
	case Object:
		return v
	case ECMAArray:
		return v
	}
	return nil
}

func get(ps []Property, key string) (any, bool) {
	for i := range ps {
		if ps[i].Key == key {
			return ps[i].Value, true
		}
	}
	return nil, false
}

func getString(ps []Property, key string) (string, bool) {
	v, _ := get(ps, key)
	s, ok := v.(string)
	return s, ok
}

func getNumber(ps []Property, key string) (float64, bool) {
	v, _ := get(ps, key)
	n, ok := v.(float64)
	return n, ok
}

func getBool(ps []Property, key string) (bool, bool) {
	v, _ := get(ps, key)
	b, ok := v.(bool)
	return b, ok
}
