//go:build !tiny

package rtmp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// tlsClient runs the TLS handshake of an rtmps:// connection on nc, bounded
// by ctx and opts.Timeout; it closes nc on an error.
func tlsClient(ctx context.Context, nc net.Conn, addr string, opts ClientOptions) (net.Conn, error) {
	var cfg *tls.Config
	if opts.TLS != nil {
		cfg = opts.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tc, nil
}
