//go:build tiny

package api

import "net/http"

// The tiny profile has no console: the recordings and ingest edit
// endpoints are left out (they answer 404).

func (a *API) dvrRoutes(*http.ServeMux)    {}
func (a *API) ingestRoutes(*http.ServeMux) {}
