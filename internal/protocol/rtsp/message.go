// Package rtsp is srs-lite's RTSP client, in pure Go: it pulls a camera's
// stream (RFC 2326, RTSP 1.0) with OPTIONS, DESCRIBE, SETUP, PLAY and
// TEARDOWN, over TCP (interleaved, §10.12) or UDP with a fallback to TCP,
// authenticates with Basic or Digest (RFC 2617, RFC 7616), follows
// redirects, keeps the session alive, sends RTCP receiver reports (RFC 3550
// §6.4.2) and turns the RTP payloads into frames through package rtp.
//
// Camera quirks (missing parameter sets, bad timestamps, a wrong
// Content-Base, SDP out of RFC 4566 order) are handled and logged once per
// source.
//
// It is also srs-lite's RTSP server (server*.go): viewers play any stream
// over TCP interleaved or UDP, with each frame's RTP packets built once
// (rtp.Packetizer, cached on the frame) and shared by every viewer, and
// publishers push one with ANNOUNCE and RECORD through the same
// depacketizers and timeline as the client.
package rtsp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Errors of the message parser and the client.
var (
	// ErrProtocol reports bytes that are not RTSP.
	ErrProtocol = errors.New("rtsp: protocol error")
	// ErrTooLarge reports a header block or body over the limits.
	ErrTooLarge = errors.New("rtsp: message too large")
)

// Limits of one message.
const (
	maxHeaderLines = 128
	maxLine        = 16 << 10
	maxBody        = 1 << 20
)

// Header holds a message's header fields by lower-case name, in the order
// they came.
type Header map[string][]string

// Get returns the first value of the named field (any case), or "".
func (h Header) Get(name string) string {
	if v := h[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of the named field (any case).
func (h Header) Values(name string) []string { return h[strings.ToLower(name)] }

// Message is an RTSP response (RFC 2326 §7) or, from a server, a request
// (§6): some servers send GET_PARAMETER, OPTIONS, ANNOUNCE or REDIRECT to
// their clients.
type Message struct {
	// Response fields.
	StatusCode int
	Reason     string
	// Request fields; Method is empty for a response.
	Method string
	URL    string

	Header Header
	Body   []byte
}

// CSeq returns the CSeq header as a number, or -1.
func (m *Message) CSeq() int {
	n, err := strconv.Atoi(strings.TrimSpace(m.Header.Get("CSeq")))
	if err != nil {
		return -1
	}
	return n
}

// readLine reads one line without its CR LF (or bare LF).
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine {
		return "", fmt.Errorf("%w: line over %d bytes", ErrTooLarge, maxLine)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return string(bytes.TrimRight(line, "\r\n")), nil
}

// ReadMessage reads one RTSP message: the start line, the header fields
// (RFC 2326 §4, with the folding and bare-LF line ends some cameras send)
// and a body of Content-Length bytes.
func ReadMessage(br *bufio.Reader) (*Message, error) {
	line, err := readLine(br)
	for err == nil && line == "" { // stray line ends between messages
		line, err = readLine(br)
	}
	if err != nil {
		return nil, err
	}
	m := &Message{Header: Header{}}
	if rest, ok := strings.CutPrefix(line, "RTSP/"); ok {
		// RFC 2326 §7.1: Status-Line = RTSP-Version SP Status-Code SP Reason-Phrase.
		_, status, _ := strings.Cut(rest, " ")
		status = strings.TrimLeft(status, " ")
		code, reason, _ := strings.Cut(status, " ")
		m.StatusCode, err = strconv.Atoi(code)
		if err != nil || m.StatusCode < 100 || m.StatusCode > 999 {
			return nil, fmt.Errorf("%w: status line %q", ErrProtocol, clip(line))
		}
		m.Reason = strings.TrimSpace(reason)
	} else {
		// RFC 2326 §6.1: Request-Line = Method SP Request-URI SP RTSP-Version.
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[2], "RTSP/") || !isToken(f[0]) {
			return nil, fmt.Errorf("%w: start line %q", ErrProtocol, clip(line))
		}
		m.Method, m.URL = f[0], f[1]
	}
	last := ""
	for n := 0; ; n++ {
		if n > maxHeaderLines {
			return nil, fmt.Errorf("%w: over %d header lines", ErrTooLarge, maxHeaderLines)
		}
		line, err := readLine(br)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" { // folded line
			v := m.Header[last]
			v[len(v)-1] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: header line %q", ErrProtocol, clip(line))
		}
		last = strings.ToLower(strings.TrimSpace(k))
		m.Header[last] = append(m.Header[last], strings.TrimSpace(v))
	}
	if cl := m.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(strings.TrimSpace(cl))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: Content-Length %q", ErrProtocol, clip(cl))
		}
		if n > maxBody {
			return nil, fmt.Errorf("%w: body of %d bytes", ErrTooLarge, n)
		}
		m.Body = make([]byte, n)
		if _, err := io.ReadFull(br, m.Body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return m, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return s != ""
}

// clip shortens a string quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// request is an RTSP request to write (RFC 2326 §6). Header names are
// written as given: some cameras compare them case-sensitively.
type request struct {
	method string
	url    string
	header [][2]string
	body   []byte
}

func (r *request) add(k, v string) { r.header = append(r.header, [2]string{k, v}) }

// appendTo appends the request's wire form.
func (r *request) appendTo(b []byte) []byte {
	b = append(b, r.method...)
	b = append(b, ' ')
	b = append(b, r.url...)
	b = append(b, " RTSP/1.0\r\n"...)
	for _, h := range r.header {
		b = append(b, h[0]...)
		b = append(b, ": "...)
		b = append(b, h[1]...)
		b = append(b, "\r\n"...)
	}
	if len(r.body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, r.body...)
}

// appendResponse appends a response to a server's request.
func appendResponse(b []byte, code int, reason string, cseq string) []byte {
	b = append(b, "RTSP/1.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\nCSeq: "...)
	b = append(b, cseq...)
	return append(b, "\r\n\r\n"...)
}

// appendInterleaved appends an interleaved binary frame (RFC 2326 §10.12):
// '$', the channel, a 16-bit length and the data.
func appendInterleaved(b []byte, ch uint8, data []byte) []byte {
	return append(append(b, '$', ch, byte(len(data)>>8), byte(len(data))), data...)
}

// params splits a header value of ';'-separated parameters, such as
// Transport and Session (RFC 2326 §12.39, §12.37), into the first item and
// the lower-case keys of the rest with their values.
func params(v string) (first string, kv map[string]string) {
	kv = map[string]string{}
	parts := strings.Split(v, ";")
	first = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return first, kv
}

// portPair parses "a-b" or "a" (RFC 2326 §12.39 port ranges and channels).
func portPair(s string) (a, b int, ok bool) {
	x, y, dash := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(x))
	if err != nil || a < 0 || a > 65535 {
		return 0, 0, false
	}
	b = a + 1
	if dash {
		if b, err = strconv.Atoi(strings.TrimSpace(y)); err != nil || b < 0 || b > 65535 {
			return 0, 0, false
		}
	}
	return a, b, true
}
