// Package hooks calls SRS-style HTTP callbacks: a JSON POST to each URL of
// a list, in order, with SRS's fields (action, client_id, ip, vhost, app,
// stream, param, tcUrl, ...).
//
// Ask is for the hooks that may refuse a client (on_connect, on_publish,
// on_play): every URL must allow, with HTTP 200 and a body of "0" or a JSON
// object whose "code" is 0; any other answer, or none within the timeout,
// refuses. Tell is for notifications (on_unpublish, on_stop, on_dvr,
// on_hls): the calls run in the background, a bounded number at once, and
// a failure is only logged; a slow hook server never holds up a stream.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/http1"
)

// Defaults.
const (
	DefaultTimeout = 5 * time.Second
	// MaxPending bounds the notifications queued or running at once; more
	// are dropped (and logged), so a dead hook server costs no memory.
	MaxPending = 64
	maxBody    = 64 << 10
)

// ErrDenied is returned by Ask when a hook refuses.
var ErrDenied = errors.New("hooks: denied")

// Event is the JSON body of a hook call; empty fields are left out, except
// those SRS always sends.
type Event struct {
	ServerID  string `json:"server_id,omitempty"`
	Action    string `json:"action"`
	ClientID  string `json:"client_id"`
	IP        string `json:"ip"`
	Vhost     string `json:"vhost"`
	App       string `json:"app"`
	Stream    string `json:"stream"`
	Param     string `json:"param"`
	TcURL     string `json:"tcUrl,omitempty"`
	StreamURL string `json:"stream_url,omitempty"`
	StreamID  string `json:"stream_id,omitempty"`
	// on_close, as SRS: the bytes the client sent and received.
	SendBytes *uint64 `json:"send_bytes,omitempty"`
	RecvBytes *uint64 `json:"recv_bytes,omitempty"`
	// on_dvr and on_hls.
	Cwd  string `json:"cwd,omitempty"`
	File string `json:"file,omitempty"`
	// on_hls.
	URL      string  `json:"url,omitempty"`
	M3U8     string  `json:"m3u8,omitempty"`
	M3U8URL  string  `json:"m3u8_url,omitempty"`
	SeqNo    *uint64 `json:"seq_no,omitempty"`
	Duration float64 `json:"duration,omitempty"`
}

// Caller makes hook calls.
type Caller struct {
	client  http1.Doer
	log     *slog.Logger
	timeout time.Duration
	sem     chan struct{}
	wg      sync.WaitGroup
}

// New returns a Caller; timeout 0 means DefaultTimeout, log nil discards.
func New(timeout time.Duration, log *slog.Logger) *Caller {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Caller{client: http1.NewClient(http1.ClientOptions{Timeout: timeout}), log: log, timeout: timeout,
		sem: make(chan struct{}, MaxPending)}
}

// Ask calls each URL in order and returns nil when all allow, or an error
// wrapping ErrDenied that says which hook refused and why.
func (c *Caller) Ask(ctx context.Context, urls []string, ev Event) error {
	_, err := c.AskAnswer(ctx, urls, ev)
	return err
}

// Answer is what allowing hooks answered: the top-level keys of their JSON
// objects and of their "data" objects, a later hook's keys over an
// earlier's. Hooks that answer "0" add nothing.
type Answer map[string]any

// String returns the answer's string value of key, or "".
func (a Answer) String(key string) string {
	v, _ := a[key].(string)
	return v
}

// AskAnswer is Ask that also returns what the hooks answered, for hooks
// that carry settings (an SRT stream's passphrase).
func (c *Caller) AskAnswer(ctx context.Context, urls []string, ev Event) (Answer, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var ans Answer
	for _, u := range urls {
		b, err := c.call(ctx, u, body)
		if err != nil {
			c.log.Warn("hooks: "+ev.Action+" refused", "url", u, "stream", ev.Vhost+"/"+ev.App+"/"+ev.Stream,
				"client", ev.ClientID, "err", err)
			return nil, fmt.Errorf("%w by %s %s: %v", ErrDenied, ev.Action, u, err)
		}
		var obj map[string]any
		if json.Unmarshal(b, &obj) == nil {
			if ans == nil {
				ans = Answer{}
			}
			for k, v := range obj {
				ans[k] = v
			}
			if data, ok := obj["data"].(map[string]any); ok {
				for k, v := range data {
					ans[k] = v
				}
			}
		}
	}
	return ans, nil
}

// Tell calls each URL in order in the background; failures are logged.
func (c *Caller) Tell(urls []string, ev Event) {
	if len(urls) == 0 {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	select {
	case c.sem <- struct{}{}:
	default:
		c.log.Warn("hooks: too many notifications pending, dropped", "action", ev.Action, "urls", len(urls))
		return
	}
	c.wg.Add(1)
	go func() {
		defer func() { <-c.sem; c.wg.Done() }()
		for _, u := range urls {
			if _, err := c.call(context.Background(), u, body); err != nil {
				c.log.Warn("hooks: "+ev.Action+" failed", "url", u, "err", err)
			}
		}
	}()
}

// Get makes a GET of u in the background, bounded like Tell (on_hls_notify);
// the answer is read and dropped, a failure logged.
func (c *Caller) Get(u, action string) {
	select {
	case c.sem <- struct{}{}:
	default:
		c.log.Warn("hooks: too many notifications pending, dropped", "action", action)
		return
	}
	c.wg.Add(1)
	go func() {
		defer func() { <-c.sem; c.wg.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("User-Agent", "srs-lite")
			var resp *http.Response
			if resp, err = c.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = fmt.Errorf("status %s", resp.Status)
				}
			}
		}
		if err != nil {
			c.log.Warn("hooks: "+action+" failed", "url", u, "err", err)
		}
	}()
}

// Wait waits for the notifications in flight, for at most d.
func (c *Caller) Wait(d time.Duration) {
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// call POSTs body to u, checks the answer and returns its body.
func (c *Caller) call(ctx context.Context, u string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "srs-lite")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	return b, Allowed(b)
}

// Allowed reports whether a hook's answer body allows: "0", or a JSON
// object with "code": 0 (SRS's rule).
func Allowed(body []byte) error {
	s := strings.TrimSpace(string(body))
	if s == "0" {
		return nil
	}
	if strings.HasPrefix(s, "{") {
		var v struct {
			Code *json.Number `json:"code"`
			Msg  string       `json:"msg"`
		}
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return fmt.Errorf("answer is not JSON: %v", err)
		}
		if v.Code == nil {
			return errors.New(`answer has no "code"`)
		}
		if n, err := strconv.ParseFloat(v.Code.String(), 64); err != nil || n != 0 {
			if v.Msg != "" {
				return fmt.Errorf("code %s: %s", v.Code, v.Msg)
			}
			return fmt.Errorf("code %s", v.Code)
		}
		return nil
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Errorf("answer %q: want 0 or {\"code\":0}", s)
}
