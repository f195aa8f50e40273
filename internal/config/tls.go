package config

import "crypto/tls"

// validateTLS checks [tls]: cert and key both or neither, and, when given,
// that they load as a pair (so that srs-lite -t and a reload catch a
// missing, unreadable or mismatched file).
func (c *Config) validateTLS(ps *problems) {
	if !TLSBuilt {
		const why = "not supported in the tiny build (no TLS serving: a full build has it)"
		for _, k := range []struct {
			key string
			set bool
		}{{"tls.cert", c.TLS.Cert != ""}, {"tls.key", c.TLS.Key != ""}, {"rtmp.rtmps_listen", c.RTMP.RTMPSListen != ""},
			{"http_api.https_listen", c.HTTPAPI.HTTPSListen != ""}, {"http_server.https_listen", c.HTTPServer.HTTPSListen != ""}} {
			if k.set {
				ps.check(k.key, why)
			}
		}
		return
	}
	t := c.TLS
	switch {
	case t.Cert == "" && t.Key == "":
	case t.Cert == "":
		ps.check("tls.key", "set without tls.cert: give both, or neither for the self-signed certificate")
	case t.Key == "":
		ps.check("tls.cert", "set without tls.key: give both, or neither for the self-signed certificate")
	default:
		if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
			ps.check("tls.cert", "%v", err)
		}
	}
}
