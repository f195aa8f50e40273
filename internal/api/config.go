package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/config/txn"
)

// CodeConfigInvalid is SRS's ERROR_SYSTEM_CONFIG_INVALID: a PUT config that
// does not parse or validate.
const CodeConfigInvalid = 1023

// configETag names a config in force: GET /api/v1/config sends it as ETag,
// and a change sent with If-Match is refused (412) once the config is no
// longer the one the client read, so that two people editing at once do
// not undo each other's change unseen.
func configETag(c *config.Config) string {
	b, err := c.Marshal()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// ifMatch runs change under editMu when the request's If-Match (if any)
// names the config in force, and answers 412 otherwise.
func (a *API) ifMatch(w http.ResponseWriter, r *http.Request, change func()) {
	a.editMu.Lock()
	defer a.editMu.Unlock()
	if want := r.Header.Get("If-Match"); want != "" && want != "*" && a.deps.Config != nil {
		if cur := configETag(a.deps.Config()); want != cur {
			w.Header().Set("ETag", cur)
			a.fail(w, r, http.StatusPreconditionFailed, http.StatusPreconditionFailed,
				"the config changed since it was read (someone else applied a change): read it again and redo yours")
			return
		}
	}
	change()
}

// getConfig answers the config in force, secrets redacted: JSON, or the
// TOML text with ?format=toml.
func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	if a.deps.Config == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "the config is not available through the API")
		return
	}
	inForce := a.deps.Config()
	w.Header().Set("ETag", configETag(inForce))
	c := inForce.Redacted()
	if r.URL.Query().Get("format") == "toml" {
		b, err := c.Marshal()
		if err != nil {
			a.fail(w, r, http.StatusInternalServerError, http.StatusInternalServerError, err.Error())
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/toml")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data configData `json:"data"`
	}{a.env(CodeSuccess), configData{c.File(), c}})
}

type configData struct {
	File   string         `json:"file"` // empty: the embedded defaults
	Config *config.Config `json:"config"`
}

type putData struct {
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

// problemView is one config problem in a 400 answer.
type problemView struct {
	Line int    `json:"line,omitempty"`
	Key  string `json:"key,omitempty"`
	Msg  string `json:"msg"`
}

// putConfig takes a new config file (TOML body) and applies it as a
// transaction (see package txn).
func (a *API) putConfig(w http.ResponseWriter, r *http.Request) {
	if a.deps.PutConfig == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "config changes through the API are disabled")
		return
	}
	body, ok := a.readConfigBody(w, r)
	if !ok {
		return
	}
	var err error
	applied := false
	a.ifMatch(w, r, func() { err, applied = a.deps.PutConfig(r.Context(), body, r.RemoteAddr), true })
	if !applied {
		return
	}
	if err == nil {
		sum := sha256.Sum256(body)
		a.log.Info("api: config replaced", "remote", r.RemoteAddr, "bytes", len(body))
		a.reply(w, r, http.StatusOK, struct {
			envelope
			Data putData `json:"data"`
		}{a.env(CodeSuccess), putData{hex.EncodeToString(sum[:]), len(body)}})
		return
	}
	a.configError(w, r, err)
}

// readConfigBody reads a TOML body of at most config.MaxFileSize bytes;
// false: it answered the error.
func (a *API) readConfigBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, config.MaxFileSize))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			a.fail(w, r, http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("config larger than %d bytes", config.MaxFileSize))
			return nil, false
		}
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	return body, true
}

// checkConfig is POST /api/v1/config/check: the TOML body parsed and
// validated as srs-lite -t does (board profile included), nothing applied.
// It answers 200 with code 0, or 400 with the problems as PUT does.
func (a *API) checkConfig(w http.ResponseWriter, r *http.Request) {
	if a.deps.CheckConfig == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "config checks through the API are disabled")
		return
	}
	body, ok := a.readConfigBody(w, r)
	if !ok {
		return
	}
	if err := a.deps.CheckConfig(body); err != nil {
		a.configError(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Msg string `json:"msg"`
	}{a.env(CodeSuccess), "the config is valid"})
}

// getLastGood is GET /api/v1/config/last-good: the last config that applied
// and passed the self-check (FILE.last-good), as TOML with its secrets
// redacted, as GET /api/v1/config?format=toml shows the config in force.
func (a *API) getLastGood(w http.ResponseWriter, r *http.Request) {
	if a.deps.LastGood == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "the last good config is not available through the API")
		return
	}
	data := a.deps.LastGood()
	if data == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no last good config yet")
		return
	}
	c, err := config.Parse("last-good", data)
	var b []byte
	if err == nil {
		b, err = c.Redacted().Marshal()
	}
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, http.StatusInternalServerError, "the last good config: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/toml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// restoreLastGood is POST /api/v1/config/last-good: the last good config
// applied again through the transaction, as a PUT of it would (its secrets
// never leave the box).
func (a *API) restoreLastGood(w http.ResponseWriter, r *http.Request) {
	if a.deps.LastGood == nil || a.deps.PutConfig == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "config changes through the API are disabled")
		return
	}
	data := a.deps.LastGood()
	if data == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no last good config yet")
		return
	}
	if err := a.deps.PutConfig(r.Context(), data, r.RemoteAddr); err != nil {
		a.configError(w, r, err)
		return
	}
	sum := sha256.Sum256(data)
	a.log.Info("api: last good config restored", "remote", r.RemoteAddr, "bytes", len(data))
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data putData `json:"data"`
	}{a.env(CodeSuccess), putData{hex.EncodeToString(sum[:]), len(data)}})
}

// configError answers the error of a config check or transaction.
func (a *API) configError(w http.ResponseWriter, r *http.Request, err error) {
	var es *config.Errors
	switch {
	case errors.Is(err, txn.ErrRolledBack):
		a.fail(w, r, http.StatusInternalServerError, CodeRaw, err.Error())
	case errors.As(err, &es):
		ps := make([]problemView, len(es.Problems))
		for i, p := range es.Problems {
			ps[i] = problemView{p.Line, p.Key, p.Msg}
		}
		a.reply(w, r, http.StatusBadRequest, struct {
			errorAnswer
			Problems []problemView `json:"problems"`
		}{errorAnswer{a.env(CodeConfigInvalid), "invalid config, nothing changed:\n" + err.Error()}, ps})
	case errors.Is(err, config.ErrInvalid):
		a.fail(w, r, http.StatusBadRequest, CodeConfigInvalid, "invalid config, nothing changed: "+err.Error())
	case errors.Is(err, txn.ErrBusy):
		a.fail(w, r, http.StatusConflict, http.StatusConflict, err.Error())
	case errors.Is(err, txn.ErrNoFile):
		a.fail(w, r, http.StatusConflict, CodeRawDisabled, err.Error())
	default:
		a.fail(w, r, http.StatusInternalServerError, CodeRaw, err.Error())
	}
}
