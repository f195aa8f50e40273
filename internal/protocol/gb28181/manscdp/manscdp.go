// Package manscdp reads and writes the MANSCDP XML bodies of GB/T 28181
// MESSAGEs (Keepalive, Catalog, DeviceInfo, DeviceControl). Devices send
// them as GB2312 as often as UTF-8: the reader treats the bytes as ASCII
// for the markup and keeps names' bytes as they come (a GB2312 name is
// converted to UTF-8 only for the characters that are ASCII already; the
// rest is passed through as is). It is a small hand scanner of elements
// and text, not encoding/xml: it needs a dozen fields and must take any
// declared encoding.
package manscdp

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ContentType is the MESSAGE body type.
const ContentType = "Application/MANSCDP+xml"

// Limits of a document.
const (
	maxDepth = 16
	maxItems = 4096
)

// ErrMalformed is a body that is not a MANSCDP document.
var ErrMalformed = errors.New("manscdp: malformed document")

// Item is one entry of a Catalog's DeviceList: a channel.
type Item struct {
	DeviceID     string `json:"id"`
	Name         string `json:"name"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Status       string `json:"status"`
	ParentID     string `json:"parent_id,omitempty"`
	// PTZType (Info/PTZType): 1 dome, 2 half dome, 3 fixed, 4 remote; 0
	// not given.
	PTZType int `json:"ptz_type,omitempty"`
}

// Doc is what the server reads of a document.
type Doc struct {
	Root     string // Query, Response, Notify, Control
	CmdType  string
	SN       int
	DeviceID string
	Status   string // Keepalive's Status
	Result   string // OK / ERROR of responses
	// DeviceInfo.
	DeviceName, Manufacturer, Model, Firmware string
	Channel                                   int
	// Catalog.
	SumNum int
	Items  []Item
	// DeviceControl.
	PTZCmd string
}

// Parse reads a document.
func Parse(b []byte) (Doc, error) {
	var d Doc
	var stack []string
	var text []byte
	var item *Item
	i := 0
	for i < len(b) {
		c := b[i]
		if c != '<' {
			text = append(text, c)
			i++
			continue
		}
		rest := b[i:]
		switch {
		case hasPrefix(rest, "<?"):
			j := index(rest, "?>")
			if j < 0 {
				return d, fmt.Errorf("%w: unterminated declaration", ErrMalformed)
			}
			i += j + 2
			continue
		case hasPrefix(rest, "<!--"):
			j := index(rest, "-->")
			if j < 0 {
				return d, fmt.Errorf("%w: unterminated comment", ErrMalformed)
			}
			i += j + 3
			continue
		case hasPrefix(rest, "<![CDATA["):
			j := index(rest, "]]>")
			if j < 0 {
				return d, fmt.Errorf("%w: unterminated CDATA", ErrMalformed)
			}
			text = append(text, rest[9:j]...)
			i += j + 3
			continue
		case hasPrefix(rest, "<!"):
			j := index(rest, ">")
			if j < 0 {
				return d, fmt.Errorf("%w: unterminated <!", ErrMalformed)
			}
			i += j + 1
			continue
		}
		j := index(rest, ">")
		if j < 0 {
			return d, fmt.Errorf("%w: unterminated tag", ErrMalformed)
		}
		tag := string(rest[1:j])
		i += j + 1
		if strings.HasPrefix(tag, "/") {
			name := strings.TrimSpace(tag[1:])
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return d, fmt.Errorf("%w: </%s> closes nothing open", ErrMalformed, name)
			}
			if item != nil && name == "Item" && len(stack) >= 2 && stack[len(stack)-2] == "DeviceList" {
				if len(d.Items) < maxItems {
					d.Items = append(d.Items, *item)
				}
				item = nil
			} else {
				d.field(stack, item, strings.TrimSpace(decode(text)))
			}
			stack = stack[:len(stack)-1]
			text = text[:0]
			continue
		}
		self := strings.HasSuffix(tag, "/")
		tag = strings.TrimSuffix(tag, "/")
		name, _, _ := strings.Cut(strings.TrimSpace(tag), " ")
		if f := strings.IndexAny(name, "\t\r\n"); f >= 0 {
			name = name[:f]
		}
		if name == "" {
			return d, fmt.Errorf("%w: empty tag", ErrMalformed)
		}
		text = text[:0]
		if self {
			continue
		}
		if len(stack) >= maxDepth {
			return d, fmt.Errorf("%w: too deep", ErrMalformed)
		}
		stack = append(stack, name)
		if len(stack) == 1 {
			d.Root = name
		}
		if name == "Item" && len(stack) >= 2 && stack[len(stack)-2] == "DeviceList" {
			item = &Item{}
		}
	}
	if d.Root == "" || d.CmdType == "" {
		return d, fmt.Errorf("%w: no root or CmdType", ErrMalformed)
	}
	if len(stack) != 0 {
		return d, fmt.Errorf("%w: <%s> not closed", ErrMalformed, stack[len(stack)-1])
	}
	return d, nil
}

// field stores the text of the element that ends at the top of stack.
func (d *Doc) field(stack []string, item *Item, v string) {
	name := stack[len(stack)-1]
	if item != nil {
		switch name {
		case "DeviceID":
			item.DeviceID = v
		case "Name":
			item.Name = v
		case "Manufacturer":
			item.Manufacturer = v
		case "Model":
			item.Model = v
		case "Status":
			item.Status = v
		case "ParentID":
			item.ParentID = v
		case "PTZType":
			item.PTZType, _ = strconv.Atoi(v)
		}
		return
	}
	if len(stack) != 2 {
		return // only the root's children, outside the items
	}
	switch name {
	case "CmdType":
		d.CmdType = v
	case "SN":
		d.SN, _ = strconv.Atoi(v)
	case "DeviceID":
		d.DeviceID = v
	case "Status":
		d.Status = v
	case "Result":
		d.Result = v
	case "DeviceName":
		d.DeviceName = v
	case "Manufacturer":
		d.Manufacturer = v
	case "Model":
		d.Model = v
	case "Firmware":
		d.Firmware = v
	case "Channel":
		d.Channel, _ = strconv.Atoi(v)
	case "SumNum":
		d.SumNum, _ = strconv.Atoi(v)
	case "PTZCmd":
		d.PTZCmd = v
	}
}

// decode resolves the five XML entities and numeric references, and
// keeps the other bytes; bytes that are not UTF-8 (GB2312) are kept as
// Latin-1 runes would break JSON, so they are replaced by U+FFFD.
func decode(b []byte) string {
	s := string(b)
	if strings.IndexByte(s, '&') >= 0 {
		s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&quot;", `"`, "&apos;", "'").Replace(s)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func index(b []byte, p string) int { return bytes.Index(b, []byte(p)) }

// Escape escapes s for element text.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Query returns a Query document (Catalog, DeviceInfo, DeviceStatus).
func Query(cmdType string, sn int, deviceID string) []byte {
	return []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n<CmdType>%s</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n</Query>\r\n",
		Escape(cmdType), sn, Escape(deviceID)))
}

// Control returns a DeviceControl document with PTZCmd cmd (hex).
func Control(sn int, deviceID, cmd string) []byte {
	return []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Control>\r\n<CmdType>DeviceControl</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<PTZCmd>%s</PTZCmd>\r\n<Info>\r\n<ControlPriority>5</ControlPriority>\r\n</Info>\r\n</Control>\r\n",
		sn, Escape(deviceID), Escape(cmd)))
}

// Keepalive returns a device's Keepalive Notify (for simulators).
func Keepalive(sn int, deviceID string) []byte {
	return []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n",
		sn, Escape(deviceID)))
}

// DeviceInfo returns a device's DeviceInfo Response (for simulators).
func DeviceInfo(sn int, deviceID, name, manufacturer, model, firmware string, channels int) []byte {
	return []byte(fmt.Sprintf("<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>DeviceInfo</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<Result>OK</Result>\r\n<DeviceName>%s</DeviceName>\r\n<Manufacturer>%s</Manufacturer>\r\n<Model>%s</Model>\r\n<Firmware>%s</Firmware>\r\n<Channel>%d</Channel>\r\n</Response>\r\n",
		sn, Escape(deviceID), Escape(name), Escape(manufacturer), Escape(model), Escape(firmware), channels))
}

// Catalog returns a device's Catalog Response with items (one MESSAGE of
// a catalog that may take several: sum is the total).
func Catalog(sn int, deviceID string, sum int, items []Item) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SN>%d</SN>\r\n<DeviceID>%s</DeviceID>\r\n<SumNum>%d</SumNum>\r\n<DeviceList Num=\"%d\">\r\n",
		sn, Escape(deviceID), sum, len(items))
	for _, it := range items {
		fmt.Fprintf(&b, "<Item>\r\n<DeviceID>%s</DeviceID>\r\n<Name>%s</Name>\r\n<Manufacturer>%s</Manufacturer>\r\n<Model>%s</Model>\r\n<ParentID>%s</ParentID>\r\n<Status>%s</Status>\r\n<Info>\r\n<PTZType>%d</PTZType>\r\n</Info>\r\n</Item>\r\n",
			Escape(it.DeviceID), Escape(it.Name), Escape(it.Manufacturer), Escape(it.Model), Escape(it.ParentID), Escape(it.Status), it.PTZType)
	}
	b.WriteString("</DeviceList>\r\n</Response>\r\n")
	return []byte(b.String())
}
