package rtmp

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
)

// Command is a decoded command message, RTMP 7.2: a name, a transaction ID,
// a command object (an amf0.Object, or nil for null) and any further
// arguments.
type Command struct {
	Name          string
	TransactionID float64
	Object        any
	Args          []any
}

// ParseCommand decodes a command message body, RTMP 7.1.1. With amf3 set
// (message type 17) the body starts with a format byte, 0 for AMF0, that is
// skipped; AMF3 values inside return amf0.ErrAMF3. The name must be a string
// and the transaction ID a number; the command object and the arguments may
// be absent.
func ParseCommand(payload []byte, amf3 bool) (Command, error) {
	if amf3 {
		if len(payload) == 0 {
			return Command{}, fmt.Errorf("%w: empty body", ErrCommand)
		}
		payload = payload[1:]
	}
	vs, err := amf0.DecodeAll(payload)
	if err != nil {
		return Command{}, fmt.Errorf("rtmp: command: %w", err)
	}
	if len(vs) < 2 {
		return Command{}, fmt.Errorf("%w: %d values", ErrCommand, len(vs))
	}
	name, ok := vs[0].(string)
	if !ok {
		return Command{}, fmt.Errorf("%w: name is %T", ErrCommand, vs[0])
	}
	tid, ok := vs[1].(float64)
	if !ok {
		return Command{}, fmt.Errorf("%w: %s: transaction id is %T", ErrCommand, name, vs[1])
	}
	c := Command{Name: name, TransactionID: tid}
	if len(vs) > 2 {
		c.Object = vs[2]
		c.Args = vs[3:]
	}
	return c, nil
}

// AppendCommand appends an AMF0 command body (message type 20, RTMP 7.1.1):
// name, transaction ID, the command object (nil encodes null) and args. On
// error dst is returned unchanged.
func AppendCommand(dst []byte, name string, tid float64, obj any, args ...any) ([]byte, error) {
	out := amf0.AppendString(dst, name)
	out = amf0.AppendNumber(out, tid)
	out, err := amf0.Append(out, obj)
	if err != nil {
		return dst, fmt.Errorf("rtmp: command %s: %w", name, err)
	}
	if out, err = amf0.AppendAll(out, args...); err != nil {
		return dst, fmt.Errorf("rtmp: command %s: %w", name, err)
	}
	return out, nil
}
