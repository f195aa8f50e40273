package origincluster

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// srsAnswer is what an SRS 5 origin answers when it has the stream
// (SrsGoApiClusters, SrsCoWorkers::dumps).
const srsAnswer = `{"code":0,"data":{"query":{"ip":"192.168.1.10","vhost":"__defaultVhost__","app":"live","stream":"livestream"},` +
	`"origin":{"ip":"192.168.1.11","port":19351,"vhost":"__defaultVhost__","api":"192.168.1.11:9091","routers":["192.168.1.11:9091"]}}}`

func TestParseAnswer(t *testing.T) {
	o, err := ParseAnswer([]byte(srsAnswer))
	if err != nil || o == nil || o.IP != "192.168.1.11" || o.Port != 19351 || o.API != "192.168.1.11:9091" ||
		len(o.Routers) != 1 || o.Vhost != "__defaultVhost__" {
		t.Fatalf("ParseAnswer = %+v, %v", o, err)
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"null origin", `{"code":0,"data":{"query":{},"origin":null}}`, true},
		{"error code", `{"code":1000,"data":{}}`, false},
		{"no port", `{"code":0,"data":{"origin":{"ip":"1.2.3.4"}}}`, false},
		{"not json", `<html>`, false},
	} {
		o, err := ParseAnswer([]byte(tc.body))
		if (err == nil) != tc.ok || o != nil {
			t.Errorf("%s: %+v %v", tc.name, o, err)
		}
	}
}

// TestAnswerShape pins the JSON this package writes: SRS's keys, in SRS's
// order.
func TestAnswerShape(t *testing.T) {
	a := Answer{Data: Data{Query: Query{IP: "192.168.1.10", Vhost: "__defaultVhost__", App: "live", Stream: "livestream"},
		Origin: &Origin{IP: "192.168.1.11", Port: 19351, Vhost: "__defaultVhost__", API: "192.168.1.11:9091", Routers: []string{"192.168.1.11:9091"}}}}
	b, _ := json.Marshal(a)
	if string(b) != srsAnswer {
		t.Fatalf("got  %s\nwant %s", b, srsAnswer)
	}
	b, _ = json.Marshal(Answer{})
	if !strings.Contains(string(b), `"origin":null`) {
		t.Fatalf("no origin: %s", b)
	}
}

func TestPlayURL(t *testing.T) {
	o := &Origin{IP: "10.0.0.2", Port: 1935, Vhost: "__defaultVhost__"}
	for _, tc := range []struct {
		vhost, param, want string
	}{
		{"__defaultVhost__", "", "rtmp://10.0.0.2:1935/live/s"},
		{"__defaultVhost__", "token=a", "rtmp://10.0.0.2:1935/live/s?token=a"},
		{"cdn.example.com", "", "rtmp://10.0.0.2:1935/live/s?vhost=cdn.example.com"},
		{"cdn.example.com", "?token=a", "rtmp://10.0.0.2:1935/live/s?vhost=cdn.example.com&token=a"},
		{"cdn.example.com", "vhost=cdn.example.com", "rtmp://10.0.0.2:1935/live/s?vhost=cdn.example.com"},
	} {
		o.Vhost = tc.vhost
		if got := PlayURL(o, "live", "s", tc.param, "__defaultVhost__"); got != tc.want {
			t.Errorf("PlayURL(%q, %q) = %q, want %q", tc.vhost, tc.param, got, tc.want)
		}
	}
	if got := PlayURL(&Origin{IP: "::1", Port: 1935}, "a", "b", "", ""); got != "rtmp://[::1]:1935/a/b" {
		t.Errorf("IPv6: %q", got)
	}
}

func TestHTTPField(t *testing.T) {
	// SRS's answer has no "http": it stays empty, and is not written.
	o, _ := ParseAnswer([]byte(srsAnswer))
	if o.HTTP != "" {
		t.Fatalf("SRS answer: http %q", o.HTTP)
	}
	for body, want := range map[string]string{
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"10.0.0.2:8080"}}}`:   "10.0.0.2:8080",
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"[::1]:8080"}}}`:      "[::1]:8080",
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"10.0.0.2"}}}`:        "",
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"a@b:80"}}}`:          "",
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"h:0"}}}`:             "",
		`{"code":0,"data":{"origin":{"ip":"10.0.0.2","port":1935,"http":"evil.com/x:8080"}}}`: "",
	} {
		o, err := ParseAnswer([]byte(body))
		if err != nil || o.HTTP != want {
			t.Errorf("%s: http %q %v, want %q", body, o.HTTP, err, want)
		}
	}
	b, _ := json.Marshal(Origin{IP: "1.2.3.4", Port: 1935, HTTP: "1.2.3.4:8080"})
	if !strings.HasSuffix(string(b), `"routers":null,"http":"1.2.3.4:8080"}`) {
		t.Errorf("marshal: %s", b)
	}
}

func TestHTTPURL(t *testing.T) {
	for _, tc := range []struct {
		o                 Origin
		port              int
		path, query, want string
	}{
		{Origin{IP: "10.0.0.2", HTTP: "10.0.0.2:8081"}, 8080, "/live/s.flv", "", "http://10.0.0.2:8081/live/s.flv"},
		{Origin{IP: "10.0.0.2"}, 8080, "/live/s.flv", "token=a", "http://10.0.0.2:8080/live/s.flv?token=a"},
		{Origin{IP: "10.0.0.2", Vhost: "cdn.example.com"}, 8080, "/live/s.flv", "token=a", "http://10.0.0.2:8080/live/s.flv?vhost=cdn.example.com&token=a"},
		{Origin{IP: "10.0.0.2", Vhost: "__defaultVhost__"}, 8080, "/live/s.m3u8", "", "http://10.0.0.2:8080/live/s.m3u8"},
		{Origin{IP: "::1"}, 8080, "/a/b.flv", "", "http://[::1]:8080/a/b.flv"},
		{Origin{IP: "10.0.0.2"}, 0, "/live/s.flv", "", ""},
	} {
		if got := HTTPURL(&tc.o, tc.port, tc.path, tc.query, "__defaultVhost__"); got != tc.want {
			t.Errorf("HTTPURL(%+v, %d, %q, %q) = %q, want %q", tc.o, tc.port, tc.path, tc.query, got, tc.want)
		}
	}
}

func TestServiceIP(t *testing.T) {
	for _, tc := range []struct{ listen, coworker, local, want string }{
		{"10.0.0.5", "10.0.0.9:1985", "10.0.0.7", "10.0.0.5"},
		{"0.0.0.0", "10.0.0.9:1985", "10.0.0.7", "10.0.0.9"},
		{"127.0.0.1", "127.0.0.1:1985", "10.0.0.7", "127.0.0.1"},
		{"", "", "10.0.0.7", "10.0.0.7"},
		{"", "host.example", "10.0.0.7", "host.example"},
	} {
		if got := ServiceIP(tc.listen, tc.coworker, tc.local); got != tc.want {
			t.Errorf("ServiceIP(%q, %q) = %q, want %q", tc.listen, tc.coworker, got, tc.want)
		}
	}
}

func TestQueryURL(t *testing.T) {
	got := QueryURL("127.0.0.1:9091", "__defaultVhost__", "a b", "live", "s")
	want := "http://127.0.0.1:9091/api/v1/clusters?vhost=__defaultVhost__&ip=a+b&app=live&stream=s&coworker=127.0.0.1%3A9091"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// TestFind asks a dead coworker, one without the stream and one with it.
func TestFind(t *testing.T) {
	var asked []string
	none := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Query().Get("coworker"))
		w.Write([]byte(`{"code":0,"data":{"query":{},"origin":null}}`))
	}))
	defer none.Close()
	has := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/clusters" || r.URL.Query().Get("stream") != "livestream" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(srsAnswer))
	}))
	defer has.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	var l Locator
	cw := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	o, at, err := l.Find(context.Background(), []string{cw(dead), cw(none), cw(has)}, "__defaultVhost__", "h", "live", "livestream")
	if err != nil || o == nil || o.Port != 19351 || at != cw(has) {
		t.Fatalf("Find = %+v %q %v", o, at, err)
	}
	if len(asked) != 1 || asked[0] != cw(none) {
		t.Fatalf("coworker parameter: %v", asked)
	}
	_, _, err = l.Find(context.Background(), []string{cw(dead), cw(none)}, "__defaultVhost__", "h", "live", "x")
	if !errors.Is(err, ErrNoOrigin) {
		t.Fatalf("none has it: %v", err)
	}
}

func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(srsAnswer))
	f.Add([]byte(`{"code":0,"data":{"origin":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseAnswer(b)
		if err == nil && o != nil && (o.IP == "" || o.Port <= 0 || o.Port > 65535) {
			t.Fatalf("accepted an origin without an address: %+v", o)
		}
		if err == nil && o != nil && o.HTTP != "" && !validHostPort(o.HTTP) {
			t.Fatalf("kept an unusable http %q", o.HTTP)
		}
	})
}
