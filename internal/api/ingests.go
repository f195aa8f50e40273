//go:build !tiny

package api

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
)

// maxIngestBody bounds the body of an ingest edit.
const maxIngestBody = 16 << 10

// ingestRoutes adds the ingest edits and the retry.
func (a *API) ingestRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/ingests/{name}", a.ingestCreate)
	m.HandleFunc("PUT /api/v1/ingests/{name}", a.ingestUpdate)
	m.HandleFunc("DELETE /api/v1/ingests/{name}", a.ingestDelete)
	m.HandleFunc("POST /api/v1/ingests/{name}/retry", a.ingestRetry)
}

func (a *API) ingestCreate(w http.ResponseWriter, r *http.Request) { a.ingestEdit(w, r, true) }
func (a *API) ingestUpdate(w http.ResponseWriter, r *http.Request) { a.ingestEdit(w, r, false) }

func (a *API) ingestEdit(w http.ResponseWriter, r *http.Request, create bool) {
	if a.deps.EditIngest == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "config changes through the API are disabled")
		return
	}
	var e IngestEdit
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxIngestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "want a JSON [[ingest]] entry: "+err.Error())
		return
	}
	name := r.PathValue("name")
	if e.Name == "" {
		e.Name = name
	}
	if create && e.Name != name {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "the name in the body is not the one of the path")
		return
	}
	a.ifMatch(w, r, func() { a.ingestDone(w, r, name, a.deps.EditIngest(r.Context(), name, &e, create, r.RemoteAddr)) })
}

func (a *API) ingestDelete(w http.ResponseWriter, r *http.Request) {
	if a.deps.EditIngest == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "config changes through the API are disabled")
		return
	}
	name := r.PathValue("name")
	a.ifMatch(w, r, func() { a.ingestDone(w, r, name, a.deps.EditIngest(r.Context(), name, nil, false, r.RemoteAddr)) })
}

// ingestDone answers an edit: 404 for an entry that is not there, 409 for
// one that is there already, else as PUT /api/v1/config.
func (a *API) ingestDone(w http.ResponseWriter, r *http.Request, name string, err error) {
	switch {
	case err == nil:
		a.log.Info("api: ingest changed", "name", name, "method", r.Method, "remote", r.RemoteAddr)
		a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
	case errors.Is(err, fs.ErrNotExist):
		a.fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, fs.ErrExist):
		a.fail(w, r, http.StatusConflict, http.StatusConflict, err.Error())
	default:
		a.configError(w, r, err)
	}
}

func (a *API) ingestRetry(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if a.deps.RetryIngest == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no ingest "+name)
		return
	}
	if err := a.deps.RetryIngest(name); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			a.fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
			return
		}
		a.fail(w, r, http.StatusInternalServerError, http.StatusInternalServerError, err.Error())
		return
	}
	a.log.Info("api: ingest restarted", "name", name, "remote", r.RemoteAddr)
	a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
}
