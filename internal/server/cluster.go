package server

import (
	"context"
	"net"
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
// published here is redirected to the coworker that has it (RTMP 302), and
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

// locate is the RTMP server's Locate: where a player of key should go.
// Empty plays here: the vhost is no origin cluster, or the stream is
// published here. A coworker that has it gives the URL of a 302; when none
// has it the play is refused, as SRS does (ERROR_OCLUSTER_REDIRECT).
func (s *Server) locate(ctx context.Context, key media.Key, host, param string) (string, error) {
	v := s.cfg.Load().Vhost(key.Vhost)
	if v == nil || !v.Cluster.OriginCluster || len(v.Cluster.Coworkers) == 0 || v.Cluster.Mode != config.ModeLocal {
		return "", nil
	}
	if st := s.reg.Lookup(key.Vhost, key.App, key.Stream); st != nil && st.Publishing() {
		return "", nil
	}
	c := find[*clusterComponent](s)
	if c == nil {
		return "", nil
	}
	o, cw, err := c.loc.Find(ctx, v.Cluster.Coworkers, key.Vhost, host, key.App, key.Stream)
	if err != nil {
		s.log.Warn("cluster: no origin for the stream", "stream", key, "err", err)
		return "", err
	}
	url := origincluster.PlayURL(o, key.App, key.Stream, param, media.DefaultVhost)
	s.log.Info("cluster: stream found at a coworker", "stream", key, "coworker", cw, "origin", o.IP+":"+strconv.Itoa(o.Port))
	return url, nil
}

// clusterOrigin answers GET /api/v1/clusters: where the stream is, when it
// is published here (SRS's SrsCoWorkers::dumps), else nil.
func (s *Server) clusterOrigin(vhost, app, stream, coworker string) any {
	cfg := s.cfg.Load()
	v := cfg.Vhost(vhost)
	if v == nil {
		return nil
	}
	st := s.reg.Lookup(v.Name, app, stream)
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
	return &origincluster.Origin{IP: ip, Port: port, Vhost: v.Name, API: api, Routers: []string{api}}
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
