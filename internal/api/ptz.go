package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/srs-lite/srs-lite/internal/device/ptz"
)

// postPTZ sends one PTZ command to the serial port called {name}:
// {"action": "pan_left", "speed": 32}, {"action": "preset_go", "preset": 3}.
func (a *API) postPTZ(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if a.deps.PTZ == nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no serial PTZ port: add a [[serial]] entry or a board profile with one")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ptz.MaxCommandSize))
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, "ptz: command larger than 4096 bytes")
		return
	}
	c, err := ptz.ParseCommand(body)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	if err := a.deps.PTZ(r.Context(), name, c); err != nil {
		switch {
		case errors.Is(err, ptz.ErrNoDevice):
			a.fail(w, r, http.StatusNotFound, CodeNotFound, err.Error())
		case errors.Is(err, ptz.ErrAddress), errors.Is(err, ptz.ErrProtocol):
			a.fail(w, r, http.StatusInternalServerError, http.StatusInternalServerError, err.Error())
		default:
			a.log.Warn("api: ptz command failed", "name", name, "action", c.Action, "remote", r.RemoteAddr, "err", err)
			a.fail(w, r, http.StatusBadGateway, http.StatusBadGateway, err.Error())
		}
		return
	}
	a.log.Info("api: ptz", "name", name, "action", c.Action, "speed", c.Speed, "preset", c.Preset, "remote", r.RemoteAddr)
	a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
}
