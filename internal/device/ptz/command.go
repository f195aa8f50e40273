package ptz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxCommandSize bounds the JSON body of a command.
const MaxCommandSize = 4096

// ErrBadCommand is matched (errors.Is) by every error of ParseCommand.
var ErrBadCommand = errors.New("ptz: bad command")

// ParseCommand decodes the JSON body of POST /api/v1/ptz/{name}:
// {"action": "pan_left", "speed": 32} or {"action": "preset_go", "preset": 3}.
// Unknown fields, a second JSON value, an unknown action and numbers out of
// range are errors.
func ParseCommand(data []byte) (Command, error) {
	var c Command
	if len(data) > MaxCommandSize {
		return c, fmt.Errorf("%w: larger than %d bytes", ErrBadCommand, MaxCommandSize)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("%w: %v; want {\"action\": \"pan_left\", \"speed\": 32}", ErrBadCommand, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Command{}, fmt.Errorf("%w: more than one JSON value", ErrBadCommand)
	}
	if c.Action == "" {
		return Command{}, fmt.Errorf("%w: no action: want one of %s", ErrBadCommand, actionList)
	}
	if _, err := c.op(); err != nil {
		if errors.Is(err, ErrAction) {
			return Command{}, fmt.Errorf("%w: action %q: want one of %s", ErrBadCommand, c.Action, actionList)
		}
		return Command{}, fmt.Errorf("%w: %w", ErrBadCommand, err)
	}
	return c, nil
}

const actionList = "pan_left, pan_right, tilt_up, tilt_down, zoom_in, zoom_out, stop, preset_set, preset_go"
