package test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAPIAuth: with [http_api.auth] set, every write endpoint needs the
// credentials (Basic or Bearer) and answers 401 with a challenge without
// them; reads stay open unless auth.read is set.
func TestAPIAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[http_api.auth]\nusername = \"admin\"\npassword = \"s3cret-pass\"\ntoken = \"tok-0123456789\"\n")
	basic := func(u, p string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header.Get("Authorization")
	}
	writes := []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/raw?rpc=reload", ""},
		{http.MethodDelete, "/api/v1/clients/nope", ""},
		{http.MethodGet, "/api/v1/config", ""},
		{http.MethodPut, "/api/v1/config", "[rtmp]\nchunk_size = 1\n"},
		{http.MethodPost, "/api/v1/ptz/none", `{"action":"stop"}`},
	}
	for _, w := range writes {
		status, m, h := s.apiDo(t, w.method, w.path, "", w.body)
		if status != 401 || m["code"] != 401.0 || len(h.Values("WWW-Authenticate")) != 2 {
			t.Errorf("%s %s without credentials: %d %v %v", w.method, w.path, status, m, h.Values("WWW-Authenticate"))
		}
		status, _, _ = s.apiDo(t, w.method, w.path, basic("admin", "wrong-pass"), w.body)
		if status != 401 {
			t.Errorf("%s %s wrong password: %d", w.method, w.path, status)
		}
		for _, authz := range []string{basic("admin", "s3cret-pass"), "Bearer tok-0123456789"} {
			status, _, _ = s.apiDo(t, w.method, w.path, authz, w.body)
			if status == 401 {
				t.Errorf("%s %s with %s: 401", w.method, w.path, authz[:6])
			}
		}
	}
	if status, _, _ := s.apiDo(t, http.MethodGet, "/api/v1/streams", "", ""); status != 200 {
		t.Errorf("read without credentials: %d", status)
	}

	// auth.read through a PUT: the self-check passes with the credentials.
	conf := readFile(t, s.conf)
	next := strings.Replace(conf, "token = \"tok-0123456789\"\n", "token = \"tok-0123456789\"\nread = true\n", 1)
	if status, m, _ := s.apiDo(t, http.MethodPut, "/api/v1/config", "Bearer tok-0123456789", next); status != 200 {
		t.Fatalf("PUT auth.read: %d %v\n%s", status, m, tail(s.logs(), 20))
	}
	if status, _, _ := s.apiDo(t, http.MethodGet, "/api/v1/streams", "", ""); status != 401 {
		t.Errorf("read with auth.read, no credentials: %d", status)
	}
	if status, _, _ := s.apiDo(t, http.MethodGet, "/api/v1/streams", "Bearer tok-0123456789", ""); status != 200 {
		t.Errorf("read with auth.read and the token: %d", status)
	}
}

// TestAPILoopbackOnly: without credentials, write endpoints answer
// loopback clients (every test client is one; other hosts are refused, see
// internal/api's TestAccess).
func TestAPILoopbackOnly(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	if status, m, _ := s.apiDo(t, http.MethodPost, "/api/v1/raw?rpc=reload", "", ""); status != 200 {
		t.Fatalf("reload from loopback: %d %v", status, m)
	}
	if status, _, _ := s.apiDo(t, http.MethodGet, "/api/v1/config", "", ""); status != 200 {
		t.Fatalf("config from loopback: %d", status)
	}
}
