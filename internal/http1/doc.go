// Package http1 is a plain HTTP/1.1 server and client on net/http's types
// (Handler, Request, ResponseWriter, Response), without TLS or HTTP/2.
//
// The tiny build serves and calls HTTP through it instead of net/http's
// Server and Client: those two link crypto/tls and x509 (~1.5 MiB on
// mipsle) even when no TLS is ever spoken, and the tiny profile has no TLS.
// The full build keeps net/http's (TLS, HTTP/2, proxies); NewClient picks
// the client of the build.
package http1

import "net/http"

// Doer sends one request and returns its response: what the server's HTTP
// callers (hooks, heartbeat, OTA pull, origin cluster, edge) need of a
// client. *http.Client is one; so is *Client.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}
