package rtmp

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
)

func TestRedirectInfo(t *testing.T) {
	url := "rtmp://10.0.0.2:19351/live/livestream?vhost=v.com"
	info := Redirect(url)
	b, err := amf0.AppendAll(nil, info)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := amf0.DecodeAll(b)
	if err != nil || len(vs) != 1 {
		t.Fatalf("decode: %v %v", vs, err)
	}
	got := amf0.Object(amf0.Properties(vs[0]))
	if l, _ := got.String("level"); l != "error" {
		t.Errorf("level %q", l)
	}
	if c, _ := got.String("code"); c != "NetConnection.Connect.Rejected" {
		t.Errorf("code %q", c)
	}
	if u := RedirectURL(got); u != url {
		t.Errorf("RedirectURL = %q", u)
	}
	ex, _ := got.Get("ex")
	if tc, _ := amf0.Object(amf0.Properties(ex)).String("redirect"); tc != "rtmp://10.0.0.2:19351/live" {
		t.Errorf("redirect (tcUrl) = %q", tc)
	}
	if RedirectURL(amf0.Object{{Key: "code", Value: "NetStream.Play.Failed"}}) != "" {
		t.Error("not a 302")
	}
}
