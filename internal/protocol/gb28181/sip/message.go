// Package sip is the small part of SIP (RFC 3261) that GB/T 28181 needs:
// the message format (requests, responses, compact header names,
// Content-Length framing over TCP), header parameters, MD5 digest
// authentication (RFC 2617) and the UDP retransmission timers of client
// transactions. It imports the standard library only.
package sip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of a message: GB28181 catalogs are a few kilobytes per MESSAGE.
const (
	MaxHeaderBytes = 16 << 10
	MaxBodyBytes   = 64 << 10
	MaxHeaders     = 64
)

// Errors of the parser.
var (
	ErrMalformed = errors.New("sip: malformed message")
	ErrTooLarge  = errors.New("sip: message too large")
)

// Header is one header line, with its canonical (long) name.
type Header struct {
	Name, Value string
}

// Message is a SIP request (Method set) or response (Status set).
type Message struct {
	Method  string // request: INVITE, REGISTER, ...; "" for a response
	URI     string // request URI
	Status  int    // response status code
	Reason  string // response reason phrase
	Headers []Header
	Body    []byte
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Method != "" }

// compact maps the compact header forms (RFC 3261 7.3.3) to their names.
var compact = map[string]string{
	"i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
	"c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via",
}

// canonical is a header name in the form this package stores.
func canonical(name string) string {
	if len(name) == 1 {
		if n, ok := compact[strings.ToLower(name)]; ok {
			return n
		}
	}
	switch strings.ToLower(name) {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	case "www-authenticate":
		return "WWW-Authenticate"
	case "max-forwards":
		return "Max-Forwards"
	}
	// Capitalize each dash-separated word.
	b := []byte(strings.ToLower(name))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}

// Get returns the first value of header name ("" when absent); names are
// case-insensitive and compact forms are understood.
func (m *Message) Get(name string) string {
	name = canonical(name)
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// GetAll returns every value of header name.
func (m *Message) GetAll(name string) []string {
	name = canonical(name)
	var out []string
	for _, h := range m.Headers {
		if h.Name == name {
			out = append(out, h.Value)
		}
	}
	return out
}

// Set replaces every value of header name with value.
func (m *Message) Set(name, value string) {
	m.Del(name)
	m.Add(name, value)
}

// Add appends a header.
func (m *Message) Add(name, value string) {
	m.Headers = append(m.Headers, Header{canonical(name), value})
}

// Del removes header name.
func (m *Message) Del(name string) {
	name = canonical(name)
	out := m.Headers[:0]
	for _, h := range m.Headers {
		if h.Name != name {
			out = append(out, h)
		}
	}
	m.Headers = out
}

// Parse parses one message from a UDP datagram (or any complete buffer).
// A Content-Length shorter than the rest bounds the body; a longer one is
// an error.
func Parse(data []byte) (*Message, error) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	sep := 4
	if end < 0 {
		// Some devices end lines with LF alone.
		end = bytes.Index(data, []byte("\n\n"))
		sep = 2
	}
	if end < 0 {
		if len(data) > MaxHeaderBytes {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("%w: no end of headers", ErrMalformed)
	}
	if end > MaxHeaderBytes {
		return nil, ErrTooLarge
	}
	m, err := parseHead(data[:end])
	if err != nil {
		return nil, err
	}
	body := data[end+sep:]
	if cl := m.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(strings.TrimSpace(cl))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: Content-Length %q", ErrMalformed, cl)
		}
		if n > len(body) {
			return nil, fmt.Errorf("%w: body shorter than Content-Length", ErrMalformed)
		}
		body = body[:n]
	}
	if len(body) > MaxBodyBytes {
		return nil, ErrTooLarge
	}
	if len(body) > 0 {
		m.Body = append([]byte(nil), body...)
	}
	return m, nil
}

// Read reads one message from a stream (SIP over TCP): the headers up to
// the empty line, then Content-Length bytes of body (none when absent).
// Empty lines between messages (keepalive CRLFs) are skipped.
func Read(r *bufio.Reader) (*Message, error) {
	var head []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, ErrTooLarge
		}
		if err != nil {
			if err == io.EOF && len(head) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			if len(head) == 0 {
				continue // CRLF keepalives before a message
			}
			break
		}
		head = append(head, line...)
		if len(head) > MaxHeaderBytes {
			return nil, ErrTooLarge
		}
	}
	m, err := parseHead(bytes.TrimRight(head, "\r\n"))
	if err != nil {
		return nil, err
	}
	cl := strings.TrimSpace(m.Get("Content-Length"))
	if cl == "" {
		return m, nil
	}
	n, err := strconv.Atoi(cl)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: Content-Length %q", ErrMalformed, cl)
	}
	if n > MaxBodyBytes {
		return nil, ErrTooLarge
	}
	if n > 0 {
		m.Body = make([]byte, n)
		if _, err := io.ReadFull(r, m.Body); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseHead(head []byte) (*Message, error) {
	lines := strings.Split(string(head), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	m := &Message{}
	start := lines[0]
	if strings.HasPrefix(start, "SIP/2.0 ") {
		rest := start[len("SIP/2.0 "):]
		code, reason, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 699 {
			return nil, fmt.Errorf("%w: status line %q", ErrMalformed, start)
		}
		m.Status, m.Reason = n, reason
	} else {
		f := strings.Fields(start)
		if len(f) != 3 || f[2] != "SIP/2.0" || !token(f[0]) {
			return nil, fmt.Errorf("%w: request line %q", ErrMalformed, start)
		}
		m.Method, m.URI = f[0], f[1]
	}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(m.Headers) > 0 {
			// A folded line continues the previous header.
			h := &m.Headers[len(m.Headers)-1]
			h.Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || !token(name) {
			return nil, fmt.Errorf("%w: header line %q", ErrMalformed, l)
		}
		if len(m.Headers) >= MaxHeaders {
			return nil, ErrTooLarge
		}
		m.Headers = append(m.Headers, Header{canonical(name), strings.TrimSpace(value)})
	}
	return m, nil
}

// token reports whether s is a SIP token (method or header name).
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// Bytes encodes m, setting Content-Length to the body's length.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	if m.IsRequest() {
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", m.Method, m.URI)
	} else {
		fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", m.Status, m.Reason)
	}
	for _, h := range m.Headers {
		if h.Name == "Content-Length" {
			continue
		}
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(m.Body))
	b.Write(m.Body)
	return b.Bytes()
}

// Response returns a response to request req: Via, From, To, Call-ID and
// CSeq copied (RFC 3261 8.2.6.2); toTag, when not empty, is added to To
// if it has none.
func Response(req *Message, status int, reason, toTag string) *Message {
	r := &Message{Status: status, Reason: reason}
	for _, h := range req.Headers {
		switch h.Name {
		case "Via", "From", "Call-ID", "CSeq":
			r.Headers = append(r.Headers, h)
		case "To":
			v := h.Value
			if toTag != "" && Param(v, "tag") == "" {
				v += ";tag=" + toTag
			}
			r.Headers = append(r.Headers, Header{"To", v})
		}
	}
	return r
}

// CSeq splits a CSeq header into its number and method.
func (m *Message) CSeq() (uint32, string) {
	n, method, _ := strings.Cut(strings.TrimSpace(m.Get("CSeq")), " ")
	v, _ := strconv.ParseUint(n, 10, 32)
	return uint32(v), strings.TrimSpace(method)
}

// Branch returns the branch parameter of the top Via.
func (m *Message) Branch() string { return Param(m.Get("Via"), "branch") }

// Param returns parameter name of a header value ("a;b=c;name=v" or
// "<sip:x>;tag=y"), unquoted; "" when absent. Parameters inside <> are
// the URI's and not looked at.
func Param(value, name string) string {
	if i := strings.LastIndexByte(value, '>'); i >= 0 {
		value = value[i+1:]
	}
	// A Via may list several hops separated by commas: the first counts.
	if i := strings.IndexByte(value, ','); i >= 0 {
		value = value[:i]
	}
	for _, p := range strings.Split(value, ";")[1:] {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// URIUser returns the user part of the SIP URI in a header value or request
// URI: "34020000001320000001" of "<sip:34020000001320000001@3402000000>".
func URIUser(value string) string {
	if i := strings.IndexByte(value, '<'); i >= 0 {
		value = value[i+1:]
		if j := strings.IndexByte(value, '>'); j >= 0 {
			value = value[:j]
		}
	}
	value = strings.TrimPrefix(strings.TrimPrefix(value, "sip:"), "sips:")
	user, _, ok := strings.Cut(value, "@")
	if !ok {
		return ""
	}
	return user
}

// URIHost returns the host[:port] of the SIP URI in a header value.
func URIHost(value string) string {
	if i := strings.IndexByte(value, '<'); i >= 0 {
		value = value[i+1:]
		if j := strings.IndexByte(value, '>'); j >= 0 {
			value = value[:j]
		}
	}
	value = strings.TrimPrefix(strings.TrimPrefix(value, "sip:"), "sips:")
	if _, h, ok := strings.Cut(value, "@"); ok {
		value = h
	}
	if i := strings.IndexByte(value, ';'); i >= 0 {
		value = value[:i]
	}
	return strings.TrimSpace(value)
}
