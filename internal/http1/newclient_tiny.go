//go:build tiny

package http1

// NewClient returns the plain HTTP/1.1 Client: net/http's would link TLS.
// It keeps no connection alive, so NoKeepAlive is what it does anyway.
func NewClient(o ClientOptions) Doer {
	return &Client{Timeout: o.Timeout, DialTimeout: o.DialTimeout}
}
