package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// Timeouts and buffers of the HTTP-FLV player.
const (
	dialTimeout   = 5 * time.Second
	headerTimeout = 10 * time.Second
	// readBuffer is the per-player read buffer: 2000 players cost 32 MiB.
	readBuffer = 16 << 10
)

// NewHTTPPlayer returns the built-in HTTP-FLV Player. It shares one
// net/http Transport sized for conns concurrent players: no limit per host,
// one HTTP/1.1 connection per player (no HTTP/2 multiplexing, even over
// https), no compression, no proxy, and its own dialer with timeouts.
func NewHTTPPlayer(conns int) Player {
	client := &http.Client{Transport: newTransport(conns)}
	return func(ctx context.Context, url string, onTag func(typ uint8, ts uint32, body []byte)) error {
		return playHTTP(ctx, client, url, onTag)
	}
}

// newTransport returns an HTTP/1.1 transport for conns players.
func newTransport(conns int) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxConnsPerHost:       0,
		MaxIdleConns:          max(conns, 1),
		MaxIdleConnsPerHost:   max(conns, 1),
		DisableCompression:    true,
		TLSHandshakeTimeout:   dialTimeout,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, // a load tool: self-signed is fine
		ResponseHeaderTimeout: headerTimeout,
		// A non-nil empty map disables HTTP/2: each player gets its own
		// connection, as real players do.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}

// playHTTP GETs url and reads the FLV body until it ends or ctx is done.
func playHTTP(ctx context.Context, client *http.Client, url string, onTag func(uint8, uint32, []byte)) error {
	resp, err := get(ctx, client, url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return ReadFLV(bufio.NewReaderSize(resp.Body, readBuffer), onTag)
}

// get GETs url; a status other than 200 is an error wrapping ErrStatus.
// The caller closes the body.
func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("bench: get %s: %s: %w", url, resp.Status, ErrStatus)
	}
	return resp, nil
}

// ReadFLV reads an FLV stream (FLV spec E.2 header, then E.3/E.4 tags) from
// r, calling onTag for every tag; body is valid only during the call. It
// returns io.EOF at the end of the stream and the flv errors for a malformed
// one. It allocates only while the tag buffer grows to the largest tag.
func ReadFLV(r io.Reader, onTag func(typ uint8, ts uint32, body []byte)) error {
	fr := flv.NewReader(r)
	if _, _, err := fr.ReadHeader(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for {
		t, err := fr.ReadTag()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return fmt.Errorf("bench: %w", err)
		}
		onTag(t.Type, t.Timestamp, t.Body)
	}
}
