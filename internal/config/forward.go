package config

import (
	"fmt"
	"net/url"
	"strings"
)

// placeholders returns the [name]s in s, brackets included.
func placeholders(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return out
		}
		out = append(out, s[i:i+j+1])
		s = s[i+j+1:]
	}
}

// checkDestination checks a [vhost.forward] destination: "host:port", or an
// rtmp[s]://host[:port]/app/stream URL whose placeholders are [vhost], [app]
// and [stream].
func checkDestination(s string) error {
	if !strings.Contains(s, "://") {
		if err := checkAddr(s, true); err != nil {
			return fmt.Errorf("%v (or an rtmp:// URL)", err)
		}
		return nil
	}
	phs := placeholders(s)
	for _, ph := range phs {
		switch ph {
		case "[vhost]", "[app]", "[stream]":
		default:
			return fmt.Errorf("%q: unknown placeholder %s (want [vhost], [app], [stream])", s, ph)
		}
	}
	x := s
	for _, ph := range phs {
		x = strings.Replace(x, ph, "x", 1)
	}
	u, err := url.Parse(x)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q: want host:port or rtmp://host[:port]/app/stream", s)
	}
	if err := checkRTMPS(s, u.Scheme); err != nil {
		return err
	}
	if u.Port() != "" {
		if err := checkAddr(u.Host, true); err != nil {
			return fmt.Errorf("%q: %v", s, err)
		}
	}
	app, stream, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if app == "" || stream == "" {
		return fmt.Errorf("%q: want rtmp://host[:port]/app/stream (the stream may be [stream])", s)
	}
	return nil
}

// validateForward checks [vhost.forward], hooks.on_forward's neighbours
// aside, and the edge keys of [vhost.cluster].
func (v *Vhost) validateForward(ps *problems, p string) {
	for _, d := range v.Forward.Destinations {
		if err := checkDestination(d); err != nil {
			ps.check(p+".forward.destinations", "%v", err)
			break
		}
	}
	c := v.Cluster
	oneOf(ps, p+".cluster.mode", c.Mode, ModeLocal, ModeRemote)
	oneOf(ps, p+".cluster.protocol", c.Protocol, "rtmp", "flv")
	if c.Mode == ModeRemote && len(c.Origins) == 0 {
		ps.check(p+".cluster.origins", "empty: mode = %q (an edge) needs at least one origin", ModeRemote)
	}
	for _, o := range c.Origins {
		if err := checkAddr(o, true); err != nil {
			ps.check(p+".cluster.origins", "%v", err)
			break
		}
	}
	for _, o := range c.Coworkers {
		if err := checkAddr(o, true); err != nil {
			ps.check(p+".cluster.coworkers", "%v", err)
			break
		}
	}
}
