package session

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

func TestTable(t *testing.T) {
	tab := NewTable()
	kicked := false
	s := New("a1", "rtmp", "127.0.0.1")
	s.SetKick(func() { kicked = true })
	tab.Add(s)
	s.BytesIn.Add(100)
	s.SetStream(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "s"}, Publisher)
	s.SetURL("rtmp://h/live", "?token=1")
	if l := tab.List(); len(l) != 1 || l[0].Stream != "s" || !l[0].Publisher() || l[0].BytesIn != 100 || l[0].Param != "?token=1" {
		t.Fatalf("list: %+v", l)
	}
	if !tab.Kick("a1") || !kicked {
		t.Fatal("kick did not call the kick func")
	}
	if tab.Kick("nope") {
		t.Fatal("kick of unknown id reported true")
	}
	tab.Remove(s)
	live, total, in, _ := tab.Totals()
	if live != 0 || total != 1 || in != 100 {
		t.Fatalf("totals: %d %d %d", live, total, in)
	}
}

func TestOnce(t *testing.T) {
	s := New("b", "srt", "::1")
	if !s.MarkConnected() || s.MarkConnected() || !s.Connected() {
		t.Fatal("MarkConnected is not once")
	}
	if !s.MarkClosed() || s.MarkClosed() {
		t.Fatal("MarkClosed is not once")
	}
	if !s.Connected() {
		t.Fatal("closing forgot the connect")
	}
}
