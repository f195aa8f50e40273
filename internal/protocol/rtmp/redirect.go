package rtmp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/media"
)

// ErrRedirected ends a connection whose player was sent elsewhere with an
// RTMP 302.
var ErrRedirected = errors.New("rtmp: redirected")

// redirectWait is how long a redirected player has to answer before the
// connection closes, as SRS's SRS_RTMP_REDIRECT_TIMEOUT.
const redirectWait = 3 * time.Second

// Redirect returns the info object of an RTMP 302 redirect to url, as SRS
// (SrsRtmpServer::redirect) and FMS send it: an error-level
// NetConnection.Connect.Rejected whose ex object has code 302, redirect
// (the tcUrl, which Flash and FMS clients reconnect to) and redirect2 (the
// whole URL with the stream, SRS's addition, ossrs/srs#1575).
func Redirect(url string) amf0.Object {
	return amf0.Object{
		{Key: "level", Value: "error"},
		{Key: "code", Value: "NetConnection.Connect.Rejected"},
		{Key: "description", Value: "RTMP 302 Redirect"},
		{Key: "ex", Value: amf0.Object{
			{Key: "code", Value: float64(302)},
			{Key: "redirect", Value: redirectTCURL(url)},
			{Key: "redirect2", Value: url},
		}},
	}
}

// RedirectURL returns the URL of an RTMP 302 in an onStatus or _error info
// object (redirect2, else redirect), or "" when info is not a 302.
func RedirectURL(info amf0.Object) string {
	full, tcURL := redirectTargets(info)
	if full != "" {
		return full
	}
	return tcURL
}

// redirectTargets returns ex.redirect2 (the whole URL) and ex.redirect (the
// tcUrl) of an RTMP 302 info object, both "" when info is not a 302.
func redirectTargets(info amf0.Object) (full, tcURL string) {
	v, ok := info.Get("ex")
	if !ok {
		return "", ""
	}
	ex := amf0.Object(amf0.Properties(v))
	if code, _ := ex.Number("code"); code != 302 {
		return "", ""
	}
	full, _ = ex.String("redirect2")
	tcURL, _ = ex.String("redirect")
	return full, tcURL
}

// redirectTCURL is url without its last path element (the stream): the
// tcUrl of the redirect.
func redirectTCURL(url string) string {
	path, _, _ := strings.Cut(url, "?")
	if i := strings.LastIndexByte(path, '/'); i > len("rtmp://") {
		return path[:i]
	}
	return path
}

// redirect answers a play with an RTMP 302 to url, gives the player a
// moment to read it and say something back (SRS waits for a call), and
// ends the connection.
func (c *conn) redirect(key media.Key, url string) error {
	c.log.Info("rtmp: redirect in cluster", "stream", key, "url", url)
	if err := c.writeCommand(csidOverStream, 0, "onStatus", 0, nil, Redirect(url)); err != nil {
		return err
	}
	c.nc.SetReadDeadline(time.Now().Add(redirectWait))
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			break
		}
		cmd := m.Type == TypeCommandAMF0 || m.Type == TypeCommandAMF3
		m.Release()
		if cmd {
			break
		}
	}
	return fmt.Errorf("%w: %s to %s", ErrRedirected, key, url)
}
