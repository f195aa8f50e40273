package server

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/origincluster"
)

// orderCluster: before the RTMP listener, which asks it where streams live.
const orderCluster = orderTranscode + 2

func init() { register(orderCluster, newCluster) }

// clusterComponent is the origin side of SRS's origin cluster
// ([vhost.cluster] origin_cluster, coworkers): a player of a stream not
// published here is redirected to the coworker that has it (RTMP 302 for
// RTMP players, HTTP 302 for HTTP-FLV/TS/AAC/MP3 players), and
// GET /api/v1/clusters (api.Deps.Clusters, s.clusterOrigin) tells the
// coworkers which streams are published here. It keeps no state of its
// own: each play reads the vhost's settings in force.
type clusterComponent struct {
	passive
	s   *Server
	loc origincluster.Locator
}

func newCluster(s *Server) (component, error) {
	return &clusterComponent{s: s}, nil
}

func (c *clusterComponent) name() string { return "cluster" }

// findOrigin is the one lookup of the origin cluster, for every protocol:
// the coworker origin that publishes key, asked for by a player that
// reached this server at host. nil with no error plays here: the vhost is
// no origin cluster, or the stream is published here. ErrNoOrigin (joined
// with the coworkers' failures) when no coworker has it.
func (s *Server) findOrigin(ctx context.Context, key media.Key, host string) (*origincluster.Origin, error) {
	v := s.cfg.Load().Vhost(key.Vhost)
	if v == nil || !v.Cluster.OriginCluster || len(v.Cluster.Coworkers) == 0 || v.Cluster.Mode != config.ModeLocal {
		return nil, nil
	}
	if st := s.reg.Lookup(key); st != nil && st.Publishing() {
		return nil, nil
	}
	c := find[*clusterComponent](s)
	if c == nil {
		return nil, nil
	}
	o, cw, err := c.loc.Find(ctx, v.Cluster.Coworkers, key.Vhost, host, key.App, key.Stream)
	if err != nil {
		s.log.Warn("cluster: no origin for the stream", "stream", key, "err", err)
		return nil, err
	}
	s.log.Info("cluster: stream found at a coworker", "stream", key, "coworker", cw, "origin", o.IP+":"+strconv.Itoa(o.Port), "http", o.HTTP)
	return o, nil
}

// locate is the RTMP server's Locate: where a player of key should go.
// Empty plays here. A coworker that has it gives the URL of an RTMP 302;
// when none has it the play is refused, as SRS does
// (ERROR_OCLUSTER_REDIRECT).
func (s *Server) locate(ctx context.Context, key media.Key, host, param string) (string, error) {
	o, err := s.findOrigin(ctx, key, host)
	if o == nil || err != nil {
		return "", err
	}
	return origincluster.PlayURL(o, key.App, key.Stream, param, media.DefaultVhost), nil
}

// locateHTTP is the HTTP stream handler's Locate, asked only for a stream
// not published here: the URL of an HTTP 302 to the same path on the
// coworker's HTTP server (its "http" in the clusters answer, or when an
// SRS coworker does not give it, its IP with our own HTTP port), or "" to
// go on as without a cluster (wait for a publisher here) when no coworker
// has the stream.
func (s *Server) locateHTTP(r *http.Request, key media.Key) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	o, err := s.findOrigin(r.Context(), key, host)
	if o == nil || err != nil {
		return ""
	}
	return origincluster.HTTPURL(o, portOf(s.Addr("http_server")), r.URL.EscapedPath(), r.URL.RawQuery, media.DefaultVhost)
}

// clusterOrigin answers GET /api/v1/clusters: where the stream is, when it
// is published here (SRS's SrsCoWorkers::dumps), else nil.
func (s *Server) clusterOrigin(vhost, app, stream, coworker string) any {
	cfg := s.cfg.Load()
	v := cfg.Vhost(vhost)
	if v == nil {
		return nil
	}
	st := s.reg.Lookup(media.Key{Vhost: v.Name, App: app, Stream: stream})
	if st == nil || !st.Publishing() {
		return nil
	}
	var listenHost string
	if len(cfg.RTMP.Listen) > 0 {
		listenHost, _, _ = net.SplitHostPort(cfg.RTMP.Listen[0])
	}
	ip := origincluster.ServiceIP(listenHost, coworker, localIP())
	port := portOf(s.Addr("rtmp"))
	api := s.Addr("http_api")
	if h, p, err := net.SplitHostPort(api); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		api = net.JoinHostPort(ip, p)
	}
	// srs-lite's addition to SRS's answer: our HTTP server, for the HTTP
	// 302 of HTTP-FLV players (SRS ignores the field).
	var httpAddr string
	if h, p, err := net.SplitHostPort(s.Addr("http_server")); err == nil {
		httpAddr = net.JoinHostPort(origincluster.ServiceIP(h, "", ip), p)
	}
	return &origincluster.Origin{IP: ip, Port: port, Vhost: v.Name, API: api, Routers: []string{api}, HTTP: httpAddr}
}

// portOf is the port of a host:port, 0 when there is none.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// localIP is the first non-loopback IPv4 address of this host (SRS's
// srs_get_public_internet_address fallback), or "127.0.0.1".
func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
