package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/config/txn"
	"github.com/srs-lite/srs-lite/internal/http1"
)

// errNoOTA is returned when setupOTA has not run (a wiring defect).
var errNoOTA = errors.New("server: config transactions are not set up")

// setupOTA creates the config transaction manager (package txn); apply is
// the raw reload: read the config file and apply it, or change nothing.
func (s *Server) setupOTA(apply func() error) error {
	m, err := txn.New(txn.Deps{
		Path:    s.path,
		Check:   s.checkConfig,
		Apply:   apply,
		Healthy: s.selfCheck,
		Grace:   func() time.Duration { return s.cfg.Load().OTA.HealthGrace.D() },
		Log:     s.log,
	})
	if err != nil {
		return err
	}
	s.ota = m
	return nil
}

// checkConfig parses and validates a candidate config file, board profile
// included, without applying anything.
func (s *Server) checkConfig(data []byte) error {
	name := s.path
	if name == "" {
		name = "(config)"
	}
	c, err := config.Parse(name, data)
	if err != nil {
		return err
	}
	_, _, err = s.withBoard(c)
	return err
}

// putConfig is the API's PUT /api/v1/config.
func (s *Server) putConfig(ctx context.Context, data []byte, origin string) error {
	m := s.ota
	if m == nil {
		return errNoOTA
	}
	return m.Put(ctx, data, origin)
}

// lastGood is the API's GET and POST /api/v1/config/last-good: the last
// config that applied and passed the self-check, nil when none is known.
func (s *Server) lastGood() []byte {
	if s.ota == nil {
		return nil
	}
	return s.ota.Good()
}

// reloadChecked reloads the config file as a transaction: checked, applied,
// held to the self-check, and rolled back to the last good config (file and
// running state) when any of it fails. SIGHUP and the RAW API use it.
func (s *Server) reloadChecked(origin string) error {
	m := s.ota
	if m == nil {
		return errNoOTA
	}
	return m.Reload(context.Background(), origin)
}

// startOTA runs from Run, once the listeners serve: it logs the board
// profile in force, then the config is checked healthy and kept as the last
// good one, and [ota] url is pulled every interval.
func (s *Server) startOTA() {
	s.logBoard()
	m := s.ota
	if m == nil {
		return
	}
	client := http1.NewClient(http1.ClientOptions{Timeout: 30 * time.Second})
	s.goServe(func() {
		ctx := s.baseCtx
		if err := m.Start(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("ota: start check", "err", err)
		}
		m.Run(ctx, client, func() (txn.Source, time.Duration) {
			o := s.cfg.Load().OTA
			src := txn.Source{URL: o.URL, SHA256URL: o.SHA256URL, SignatureURL: o.SignatureURL}
			if o.PublicKey != "" {
				src.PublicKey, _ = config.ParseEd25519PublicKey(o.PublicKey) // validated at load
			}
			return src, o.Interval.D()
		})
	})
}

// selfCheck is the health of the running server: each TCP listener accepts
// a connection, the HTTP API answers GET /api/v1/versions with code 0 (with
// the configured credentials), and [ota] health_url, when set, answers 2xx.
func (s *Server) selfCheck(ctx context.Context) error {
	c := s.cfg.Load()
	var d net.Dialer
	for _, role := range []string{"rtmp", "http_api", "http_server", "rtmps", "https_api", "https_server"} {
		addr := s.Addr(role)
		if addr == "" {
			continue
		}
		conn, err := d.DialContext(ctx, "tcp", loopbackAddr(addr))
		if err != nil {
			return fmt.Errorf("%s listener %s does not accept: %w", role, addr, err)
		}
		conn.Close()
	}
	client := http1.NewClient(http1.ClientOptions{NoKeepAlive: true})
	if addr := s.Addr("http_api"); addr != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+loopbackAddr(addr)+"/api/v1/versions", nil)
		if err != nil {
			return err
		}
		if a := c.HTTPAPI.Auth; a.Token != "" {
			req.Header.Set("Authorization", "Bearer "+a.Token)
		} else if a.Username != "" {
			req.SetBasicAuth(a.Username, a.Password)
		}
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("http api does not answer: %w", err)
		}
		var v struct {
			Code int `json:"code"`
		}
		err = json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&v)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil || v.Code != 0 {
			return fmt.Errorf("http api answers %s (code %d, %v)", res.Status, v.Code, err)
		}
	}
	if u := c.OTA.HealthURL; u != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("ota.health_url: %w", err)
		}
		res, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("ota.health_url: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if res.StatusCode < 200 || res.StatusCode > 299 {
			return fmt.Errorf("ota.health_url answers %s", res.Status)
		}
	}
	return nil
}

// loopbackAddr turns a wildcard listen address into one to dial.
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
