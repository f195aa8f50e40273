package config

import (
	"strings"
	"testing"
	"time"
)

func TestZZPerf(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("[", 100000),
		"a = " + strings.Repeat("[", 50000),
		strings.Repeat("'", 100000),
		strings.Repeat("\"\"\"", 30000),
		strings.Repeat("a.", 50000) + "b = 1",
		strings.Repeat("[[vhost]]\nname=\"x\"\n", 20000),
		strings.Repeat("[[vhost]]\n", 50000),
		"x = [" + strings.Repeat("{a=1},", 50000) + "]",
	} {
		st := time.Now()
		scanLines(s)
		d1 := time.Since(st)
		st = time.Now()
		_, err := Parse("p", []byte(s))
		e := ""
		if err != nil {
			e = err.Error()
			if len(e) > 80 {
				e = e[:80]
			}
		}
		t.Logf("%d scan %v parse %v %s", len(s), d1, time.Since(st), e)
	}
}
