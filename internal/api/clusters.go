package api

import "net/http"

// clusterQuery echoes the question of GET /api/v1/clusters.
type clusterQuery struct {
	IP     string `json:"ip"`
	Vhost  string `json:"vhost"`
	App    string `json:"app"`
	Stream string `json:"stream"`
}

// clusters answers an origin of the cluster asking where a stream lives
// (SRS's SrsGoApiClusters): {"code":0,"data":{"query":{...},"origin":...}},
// origin being null when the stream is not published here.
func (a *API) clusters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cq := clusterQuery{IP: q.Get("ip"), Vhost: q.Get("vhost"), App: q.Get("app"), Stream: q.Get("stream")}
	var origin any
	if a.deps.Clusters != nil {
		origin = a.deps.Clusters(cq.Vhost, cq.App, cq.Stream, q.Get("coworker"))
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data clusterData `json:"data"`
	}{a.env(CodeSuccess), clusterData{cq, origin}})
}

// clusterData is the data of a clusters answer.
type clusterData struct {
	Query  clusterQuery `json:"query"`
	Origin any          `json:"origin"`
}
