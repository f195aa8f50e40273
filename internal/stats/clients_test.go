package stats

import "testing"

func TestClients(t *testing.T) {
	tab := NewClients()
	kicked := false
	c := &Client{ID: "a1", IP: "127.0.0.1", Proto: "rtmp"}
	tab.Add(c, func() { kicked = true })
	c.BytesIn.Add(100)
	c.SetStream("__defaultVhost__", "live", "s", "vid-1", true)
	if l := tab.List(); len(l) != 1 || l[0].Stream != "s" || !l[0].Publisher || l[0].BytesIn != 100 {
		t.Fatalf("list: %+v", l)
	}
	if !tab.Kick("a1") || !kicked {
		t.Fatal("kick did not call the kick func")
	}
	if tab.Kick("nope") {
		t.Fatal("kick of unknown id reported true")
	}
	tab.Remove(c)
	live, total, in, _ := tab.Totals()
	if live != 0 || total != 1 || in != 100 {
		t.Fatalf("totals: %d %d %d", live, total, in)
	}
}
