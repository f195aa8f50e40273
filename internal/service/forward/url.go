package forward

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/srs-lite/srs-lite/internal/media"
)

// ErrDestination reports a destination that names no RTMP URL.
var ErrDestination = errors.New("forward: bad destination")

// unknownPlaceholder returns the first [name] in s other than [vhost],
// [app] and [stream], or "".
func unknownPlaceholder(s string) string {
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return ""
		}
		if ph := s[i : i+j+1]; ph != "[vhost]" && ph != "[app]" && ph != "[stream]" {
			return ph
		}
		s = s[i+j+1:]
	}
}

// URL returns the RTMP URL a destination means for the stream
// vhost/app/stream published with param ("?a=b" or ""):
//
//   - "host:port" is SRS's forward: rtmp://host:port/APP/STREAM, with the
//     publisher's query and, for a vhost other than the default one,
//     vhost=VHOST in it (SRS puts the vhost in the stream's query, so the
//     destination files the stream under the same vhost);
//   - an rtmp:// (or rtmps://) URL is a template: [vhost], [app] and [stream] are replaced,
//     the rest is used as written (a CDN's app and stream key).
func URL(dest, vhost, app, stream, param string) (string, error) {
	if !strings.Contains(dest, "://") {
		host, port, err := net.SplitHostPort(dest)
		if err != nil || host == "" || port == "" {
			return "", fmt.Errorf("%w: %q: want host:port or rtmp://host/app/stream", ErrDestination, dest)
		}
		u := "rtmp://" + net.JoinHostPort(host, port) + "/" + app + "/" + stream
		return u + query(vhost, param), nil
	}
	if ph := unknownPlaceholder(dest); ph != "" {
		return "", fmt.Errorf("%w: %q: unknown placeholder %s", ErrDestination, dest, ph)
	}
	r := strings.NewReplacer("[vhost]", vhost, "[app]", app, "[stream]", stream)
	out := r.Replace(dest)
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" {
		return "", fmt.Errorf("%w: %q: want rtmp://host[:port]/app/stream", ErrDestination, dest)
	}
	a, s, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if a == "" || s == "" {
		return "", fmt.Errorf("%w: %q: no app or stream", ErrDestination, dest)
	}
	return out, nil
}

// query is the stream's query at the destination: the publisher's, plus
// vhost= for a named vhost, as SRS's srs_net_url_encode_stream.
func query(vhost, param string) string {
	q := strings.TrimLeft(param, "?&")
	if vhost != "" && !strings.EqualFold(vhost, media.DefaultVhost) && !hasKey(q, "vhost") {
		if q != "" {
			q += "&"
		}
		q += "vhost=" + url.QueryEscape(vhost)
	}
	if q == "" {
		return ""
	}
	return "?" + q
}

func hasKey(q, key string) bool {
	for _, kv := range strings.Split(q, "&") {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// Redact drops the query of an RTMP URL (tokens, keys) for logs and the
// API.
func Redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?..."
	}
	return u
}

// host returns the host of an rtmp:// URL, for the session table's ip.
func host(u string) string {
	if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
		return p.Hostname()
	}
	return u
}
