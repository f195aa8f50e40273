//go:build !tiny

package api

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestStreamOf(t *testing.T) {
	for _, c := range []struct{ tmpl, dir, rel, want string }{
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", "live/cam.1700000000000.flv", "live/cam"},
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", "live/cam.v2.1700000000000.flv", "live/cam.v2"},
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", "live/cam.1700000000000.1.flv", "live/cam"},
		{"/rec/[vhost]/[app]-[stream]-[seq].mp4", "/rec", "v/live-door-3.mp4", "live/door"},
		{"/rec/[stream].ts", "/rec", "door.ts", "?/door"},
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", "live/other.mp4", ""},
		{"./dvr/[app]/[stream].[timestamp].flv", "dvr", "live/x/y.1.flv", ""},
	} {
		if got := streamOf(c.tmpl, c.dir, c.rel); got != c.want {
			t.Errorf("streamOf(%q, %q) = %q, want %q", c.tmpl, c.rel, got, c.want)
		}
	}
}

// TestDVRFiles lists, downloads and deletes recordings below the DVR root
// and nothing else.
func TestDVRFiles(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "dvr")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "live"), 0o755))
	must(os.WriteFile(filepath.Join(root, "live", "cam.1.flv"), []byte("FLV data"), 0o644))
	must(os.WriteFile(filepath.Join(root, "live", "cam.2.flv.tmp"), []byte("FLV"), 0o644))
	must(os.WriteFile(filepath.Join(root, "live", ".x.flv"), []byte("FLV"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "outside.flv"), []byte("FLV outside"), 0o644))
	a := newFixture(t, func(d *Deps) {
		d.DVRRoots = func() []DVRRoot {
			return []DVRRoot{{Dir: root, Depth: 1, Template: root + "/[app]/[stream].[timestamp].flv"}}
		}
	}).api
	do := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "127.0.0.1:1234"
		a.Handler().ServeHTTP(w, r)
		return w
	}
	w := do("GET", "/api/v1/dvr/files")
	var l struct{ Files []DVRFile }
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Files) != 1 || l.Files[0].Path != "dvr/live/cam.1.flv" ||
		l.Files[0].Stream != "live/cam" || l.Files[0].Size != 8 {
		t.Fatalf("list: %v %s", err, w.Body)
	}
	if w := do("GET", "/api/v1/dvr/files/dvr/live/cam.1.flv"); w.Code != 200 || w.Body.String() != "FLV data" {
		t.Errorf("download: %d %q", w.Code, w.Body)
	}
	for _, p := range []string{"dvr/../outside.flv", "dvr/live/../../outside.flv", "dvr/live/.x.flv", "dvr/live/cam.2.flv.tmp", "other/live/cam.1.flv"} {
		for _, m := range []string{"GET", "DELETE"} {
			if w := do(m, "/api/v1/dvr/files/"+p); w.Code/100 == 2 {
				t.Errorf("%s %s: %d", m, p, w.Code)
			}
		}
	}
	if w := do("DELETE", "/api/v1/dvr/files/dvr/live/cam.1.flv"); w.Code != 200 {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
	if _, err := os.Stat(filepath.Join(root, "live", "cam.1.flv")); !os.IsNotExist(err) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "outside.flv")); err != nil {
		t.Errorf("outside: %v", err)
	}
}
