// Package origincluster is SRS's origin cluster (SRS 3-6 origin_cluster and
// coworkers, ossrs/srs#464): origins that share no storage but answer each
// other, over their HTTP APIs, where a stream is published, so that a
// player asking the wrong origin is redirected (RTMP 302) to the right
// one. It speaks SRS's JSON, so srs-lite and SRS origins mix in one
// cluster:
//
//	GET http://COWORKER/api/v1/clusters?vhost=V&ip=HOST&app=A&stream=S&coworker=COWORKER
//	{"code":0,"data":{"query":{"ip":..,"vhost":..,"app":..,"stream":..},
//	 "origin":{"ip":..,"port":1935,"vhost":..,"api":"IP:1985","routers":["IP:1985"]}}}
//
// origin is null when the coworker does not have the stream. srs-lite adds
// "http":"IP:PORT" (its HTTP server, for the HTTP 302 of HTTP-FLV players)
// to origin; SRS ignores it, and an SRS answer lacks it.
package origincluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/http1"
)

// ErrNoOrigin is returned by Find when no coworker has the stream.
var ErrNoOrigin = errors.New("origincluster: no coworker has the stream")

// DefaultTimeout bounds the question to one coworker.
const DefaultTimeout = 3 * time.Second

// maxAnswer bounds the body of a coworker's answer.
const maxAnswer = 64 << 10

// Query is what a coworker is asked, echoed in its answer.
type Query struct {
	IP     string `json:"ip"`
	Vhost  string `json:"vhost"`
	App    string `json:"app"`
	Stream string `json:"stream"`
}

// Origin is where a stream lives, as SRS's SrsCoWorkers::dumps gives it:
// the RTMP address players are sent to, and the API that answered. HTTP
// is srs-lite's addition, not SRS's: the origin's HTTP server (host:port),
// where HTTP-FLV players are sent; "" when the origin has none or is SRS.
type Origin struct {
	IP      string   `json:"ip"`
	Port    int      `json:"port"`
	Vhost   string   `json:"vhost"`
	API     string   `json:"api"`
	Routers []string `json:"routers"`
	HTTP    string   `json:"http,omitempty"`
}

// Data is the data of an answer.
type Data struct {
	Query  Query   `json:"query"`
	Origin *Origin `json:"origin"` // null: not here
}

// Answer is the whole JSON answer of GET /api/v1/clusters.
type Answer struct {
	Code int  `json:"code"`
	Data Data `json:"data"`
}

// QueryURL is the URL that asks coworker (host:port of its HTTP API) about
// a stream; ip is the host the player asked for (SRS's req->host).
func QueryURL(coworker, vhost, ip, app, stream string) string {
	// SRS's order of the parameters, for logs that compare.
	return "http://" + coworker + "/api/v1/clusters?vhost=" + url.QueryEscape(vhost) + "&ip=" + url.QueryEscape(ip) +
		"&app=" + url.QueryEscape(app) + "&stream=" + url.QueryEscape(stream) + "&coworker=" + url.QueryEscape(coworker)
}

// ParseAnswer reads a coworker's answer: the origin, or nil when it does
// not have the stream. A non-zero code, a malformed body or an origin
// without an address is an error.
func ParseAnswer(body []byte) (*Origin, error) {
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("origincluster: answer: %w", err)
	}
	if a.Code != 0 {
		return nil, fmt.Errorf("origincluster: answer code %d", a.Code)
	}
	o := a.Data.Origin
	if o == nil {
		return nil, nil
	}
	if o.IP == "" || o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("origincluster: answer without an address: ip %q port %d", o.IP, o.Port)
	}
	if o.HTTP != "" && !validHostPort(o.HTTP) {
		o.HTTP = "" // unusable: the same HTTP port as ours is assumed
	}
	return o, nil
}

// PlayURL is the RTMP URL a player is redirected to: the origin's address,
// the app and stream, and the client's parameters, with the vhost added
// when it is not the default one (SRS's srs_generate_rtmp_url).
func PlayURL(o *Origin, app, stream, param, defaultVhost string) string {
	u := "rtmp://" + net.JoinHostPort(o.IP, strconv.Itoa(o.Port)) + "/" + app + "/" + stream
	if param = withVhost(param, o.Vhost, defaultVhost); param != "" {
		u += "?" + param
	}
	return u
}

// HTTPURL is the URL an HTTP player of path (the request's URL path, e.g.
// /live/s.flv) is redirected to (HTTP 302): the same path and query on the
// origin's HTTP server, o.HTTP, or when the origin gave none (an SRS
// origin, which does not say) its IP with defaultPort, the HTTP port of
// the asking server. The vhost is added to the query when it is not the
// default one, since the Host header no longer names it. "" when there is
// no port to send the player to.
func HTTPURL(o *Origin, defaultPort int, path, rawQuery, defaultVhost string) string {
	host := o.HTTP
	if host == "" {
		if defaultPort <= 0 || o.IP == "" {
			return ""
		}
		host = net.JoinHostPort(o.IP, strconv.Itoa(defaultPort))
	}
	u := "http://" + host + path
	if q := withVhost(rawQuery, o.Vhost, defaultVhost); q != "" {
		u += "?" + q
	}
	return u
}

// withVhost returns the query param (with or without its "?") with
// vhost=NAME first when vhost is not the default one and param has none.
func withVhost(param, vhost, defaultVhost string) string {
	param = strings.TrimPrefix(param, "?")
	if vhost != "" && vhost != defaultVhost && !hasParam(param, "vhost") {
		if param != "" {
			return "vhost=" + url.QueryEscape(vhost) + "&" + param
		}
		return "vhost=" + url.QueryEscape(vhost)
	}
	return param
}

// validHostPort reports whether s is host:port with a host, a port in
// 1..65535 and nothing a URL's authority would misread.
func validHostPort(s string) bool {
	h, p, err := net.SplitHostPort(s)
	if err != nil || h == "" || strings.ContainsAny(s, "/?#@ \t\r\n") {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}

func hasParam(param, name string) bool {
	for _, kv := range strings.Split(param, "&") {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			return true
		}
	}
	return false
}

// ServiceIP is the IP an origin gives for itself (SRS's choice, ossrs/srs#1501):
// the RTMP listen host when it is a real address, else the host the
// coworker reached us at (behind NAT or in a container that is the address
// others use), else local, the first non-loopback address of this host.
func ServiceIP(listenHost, coworker, local string) string {
	if listenHost != "" && !isWildcardOrLoopback(listenHost) {
		return listenHost
	}
	if h, _, err := net.SplitHostPort(coworker); err == nil && h != "" {
		return h
	}
	if coworker != "" && !strings.Contains(coworker, ":") {
		return coworker
	}
	return local
}

func isWildcardOrLoopback(h string) bool {
	switch h {
	case "0.0.0.0", "::", "[::]", "localhost":
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// Locator asks coworkers where a stream lives.
type Locator struct {
	// Client does the requests; nil: http1.NewClient's default (the full
	// build's shares http.DefaultTransport's pool).
	Client http1.Doer
	// Timeout bounds the question to one coworker; 0: DefaultTimeout.
	Timeout time.Duration
}

// Find asks each coworker in order and returns the first origin that has
// the stream, with the coworker that answered. A coworker that fails is
// skipped (SRS goes on to the next, ossrs/srs#1223); when none has it, the
// error is ErrNoOrigin joined with the failures.
func (l *Locator) Find(ctx context.Context, coworkers []string, vhost, ip, app, stream string) (*Origin, string, error) {
	var errs []error
	for _, cw := range coworkers {
		o, err := l.ask(ctx, cw, vhost, ip, app, stream)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cw, err))
			continue
		}
		if o != nil {
			return o, cw, nil
		}
	}
	return nil, "", errors.Join(append([]error{ErrNoOrigin}, errs...)...)
}

func (l *Locator) ask(ctx context.Context, coworker, vhost, ip, app, stream string) (*Origin, error) {
	t := l.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, QueryURL(coworker, vhost, ip, app, stream), nil)
	if err != nil {
		return nil, err
	}
	c := l.Client
	if c == nil {
		c = http1.NewClient(http1.ClientOptions{})
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return ParseAnswer(body)
}
