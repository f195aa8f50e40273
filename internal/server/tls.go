//go:build !tiny

package server

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/tlscert"
)

// TLS serving (crypto/tls's server side, ~0.5 MiB on mipsle) is left out
// of the tiny profile, whose config refuses the TLS keys (config.TLSBuilt).
func init() { buildinfo.Register("tls") }

// orderTLS starts the certificate before every listener that serves it.
const orderTLS = orderDVR / 2

func init() { register(orderTLS, newTLS) }

// selfSignedBase names the self-signed certificate's files when the server
// runs without a config file: in the working directory.
const selfSignedBase = "srs-lite"

// tlsComponent holds the certificate of the TLS listeners ([http_api]
// and [http_server] https_listen, [rtmp] rtmps_listen): [tls] cert and
// key, re-read when they change, or a self-signed certificate made once
// and kept beside the config file (FILE.tls.pem, FILE.tls.key). Nothing
// is loaded, or made, while no TLS listener is configured.
type tlsComponent struct {
	passive
	s     *Server
	store *tlscert.Store
}

func newTLS(s *Server) (component, error) {
	return &tlsComponent{s: s, store: tlscert.New(s.log)}, nil
}

func (c *tlsComponent) name() string { return "tls" }

// tlsConfig returns the server TLS config of s's listeners: it serves the
// certificate in force at each handshake.
func (s *Server) tlsConfig() *tls.Config {
	return find[*tlsComponent](s).store.ServerConfig()
}

// newHTTPServer is net/http's server of h, with the TLS config of the
// listeners when tls: ServeTLS adds "h2" to the ALPN protocols when
// net/http has its HTTP/2, and the certificate comes from GetCertificate.
func (s *Server) newHTTPServer(h http.Handler, tls bool, errLog *log.Logger) httpServer {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.baseCtx }, ErrorLog: errLog}
	if tls {
		hs.TLSConfig = s.tlsConfig()
		return httpsServer{hs}
	}
	return hs
}

// httpsServer serves TLS on the listeners given to Serve.
type httpsServer struct{ *http.Server }

func (hs httpsServer) Serve(ln net.Listener) error { return hs.ServeTLS(ln, "", "") }

// tlsListener is ln with a TLS server handshake on each connection's first
// read.
func (s *Server) tlsListener(ln net.Listener) net.Listener { return tls.NewListener(ln, s.tlsConfig()) }

// tlsInfo is the certificate in force for the API, or nil when no TLS
// listener is configured.
func (s *Server) tlsInfo() any {
	c := find[*tlsComponent](s)
	if c == nil || !s.cfg.Load().UsesTLS() {
		return nil
	}
	i := c.store.Info()
	if i.Fingerprint == "" {
		return nil
	}
	return i
}

// certConfig maps [tls] onto the store's config.
func (c *tlsComponent) certConfig(cfg *config.Config) tlscert.Config {
	base := selfSignedBase
	if c.s.path != "" {
		base = c.s.path
	} else if cfg.File() != "" {
		base = cfg.File()
	}
	base = filepath.Clean(base)
	return tlscert.Config{Cert: cfg.TLS.Cert, Key: cfg.TLS.Key,
		SelfCert: base + ".tls.pem", SelfKey: base + ".tls.key"}
}

func (c *tlsComponent) start(_ context.Context, cfg *config.Config) error {
	return c.apply(cfg)
}

func (c *tlsComponent) apply(cfg *config.Config) error {
	if !cfg.UsesTLS() {
		return nil
	}
	before := c.store.Info().Fingerprint
	if err := c.store.SetConfig(c.certConfig(cfg)); err != nil {
		return err
	}
	if i := c.store.Info(); i.Fingerprint != before {
		c.s.log.Info("tls: serving certificate", "sha256", i.Fingerprint, "subject", i.Subject,
			"self_signed", i.SelfSigned, "cert", i.Cert, "not_after", i.NotAfter)
	}
	return nil
}

// reload loads the certificate of next when [tls] changed or a TLS
// listener appears; on an error the previous one stays.
func (c *tlsComponent) reload(_, next *config.Config, ch config.Sections) error {
	if ch&(config.SectionTLS|config.SectionRTMP|config.SectionHTTPAPI|config.SectionHTTPServer) == 0 {
		return nil
	}
	return c.apply(next)
}
