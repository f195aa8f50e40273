package backoff

import (
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 8 * time.Second}
	for i, want := range []time.Duration{1, 2, 4, 8, 8} {
		want *= time.Second
		d := b.Next(0)
		if d < want*3/4 || d > want*5/4 {
			t.Fatalf("attempt %d: %s, want %s ± 25%%", i, d, want)
		}
	}
	if d := b.Next(17 * time.Second); d > 1250*time.Millisecond {
		t.Fatalf("after a long run: %s, want about Min", d)
	}
	b.Next(0)
	b.Reset()
	if d := b.Next(0); d > 1250*time.Millisecond {
		t.Fatalf("after Reset: %s", d)
	}
}
