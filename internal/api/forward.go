package api

import "net/http"

// forwardRoutes adds GET /api/v1/forwards: the forwards of the streams
// being published ([vhost.forward], on_forward, publish edge) with their
// state, destination, bytes and rate.
func (a *API) forwardRoutes(m *http.ServeMux) {
	for _, p := range []string{"GET /api/v1/forwards", "GET /api/v1/forwards/{$}"} {
		m.HandleFunc(p, a.forwards)
	}
}

func (a *API) forwards(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, "forwards", a.deps.Forwards)
}
