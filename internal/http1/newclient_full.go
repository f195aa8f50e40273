//go:build !tiny

package http1

import (
	"net"
	"net/http"
	"time"
)

// NewClient returns net/http's client (TLS, proxies, HTTP/2): the full
// build has them. A dial timeout or no keep-alive needs a Transport of its
// own, cloned from http.DefaultTransport for its pool limits, without its
// proxy: an edge's origin and the self-check's own API are reached
// directly, as they were before, and as the tiny build's client does.
func NewClient(o ClientOptions) Doer {
	c := &http.Client{Timeout: o.Timeout}
	if o.DialTimeout > 0 || o.NoKeepAlive {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if o.DialTimeout > 0 {
			t.DialContext = (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
		}
		t.Proxy = nil
		t.DisableKeepAlives = o.NoKeepAlive
		// Our callers read JSON and FLV: a gzip layer only costs.
		t.DisableCompression = true
		c.Transport = t
	}
	return c
}
