package api

import (
	"errors"
	"testing"
)

func TestParseSelfStat(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		ppid  int
		ticks uint64
		ok    bool
	}{
		{"plain", "1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 17 13 0 0 20 0 1 0 5 100 50", 0, 30, true},
		{"comm with ) and spaces", "9 (a) b (c)) R 4 9 9 0 -1 0 0 0 0 0 7 3 0 0", 4, 10, true},
		{"truncated", "1 (init) S 0 1 1", 0, 0, false},
		{"no comm", "1 init S 0", 0, 0, false},
		{"bad ppid", "1 (x) S p 1 1 0 -1 0 0 0 0 0 7 3", 0, 0, false},
		{"bad time", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -7 3", 0, 0, false},
		{"empty", "", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ppid, ticks, err := parseSelfStat([]byte(tt.in))
			if (err == nil) != tt.ok || ppid != tt.ppid || ticks != tt.ticks {
				t.Fatalf("got %d %d %v", ppid, ticks, err)
			}
			if err != nil && !errors.Is(err, errProc) {
				t.Fatalf("error %v is not errProc", err)
			}
		})
	}
}

func TestParseCPUStat(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		total, idle uint64
		ok          bool
	}{
		{"full", "cpu  10 1 5 80 4 0 0 0 3 0\ncpu0 10 1 5 80 4 0 0 0 3 0\n", 100, 84, true},
		{"old kernel", "cpu 1 2 3 4\n", 10, 4, true},
		{"no cpu line", "intr 1 2 3\n", 0, 0, false},
		{"short", "cpu 1 2\n", 0, 0, false},
		{"garbage", "cpu 1 2 x 4\n", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseCPUStat([]byte(tt.in))
			if (err == nil) != tt.ok || c.total != tt.total || c.idle != tt.idle {
				t.Fatalf("got %+v %v", c, err)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		ram, swap float64
		ok        bool
	}{
		{"available", "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\nSwapTotal: 0 kB\n", 0.75, 0, true},
		{"old kernel", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\nSwapTotal: 10 kB\nSwapFree: 5 kB\n", 0.5, 0.5, true},
		{"odd values", "MemTotal: 1000 kB\nMemAvailable: 5000 kB\nSwapTotal: 10 kB\nSwapFree: 50 kB\n", 0, 0, true},
		{"no total", "MemFree: 100 kB\n", 0, 0, false},
		{"zero total", "MemTotal: 0 kB\n", 0, 0, false},
		{"bad number", "MemTotal: lots kB\n", 0, 0, false},
		{"key only", "MemTotal:\n", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMeminfo([]byte(tt.in))
			if (err == nil) != tt.ok || m.ramRatio() != tt.ram || m.swapRatio() != tt.swap {
				t.Fatalf("got %+v ram %v swap %v err %v", m, m.ramRatio(), m.swapRatio(), err)
			}
		})
	}
}

func TestParseSmall(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]byte) error
		in   string
		ok   bool
	}{
		{"loadavg", func(b []byte) error { _, err := parseLoadavg(b); return err }, "0.1 0.2 0.3 1/2 3", true},
		{"loadavg short", func(b []byte) error { _, err := parseLoadavg(b); return err }, "0.1 0.2", false},
		{"loadavg bad", func(b []byte) error { _, err := parseLoadavg(b); return err }, "a b c", false},
		{"uptime", func(b []byte) error { _, _, err := parseUptime(b); return err }, "1.5 2.5\n", true},
		{"uptime short", func(b []byte) error { _, _, err := parseUptime(b); return err }, "1.5", false},
		{"uptime bad", func(b []byte) error { _, _, err := parseUptime(b); return err }, "x 1", false},
		{"rss", func(b []byte) error { _, err := parseStatusRSS(b); return err }, "VmRSS: 12 kB\n", true},
		{"rss missing", func(b []byte) error { _, err := parseStatusRSS(b); return err }, "VmSize: 12 kB\n", false},
		{"sockstat", func(b []byte) error { _, err := parseSockstat(b); return err }, "TCP: inuse 1 tw\n", true},
		{"sockstat no tcp", func(b []byte) error { _, err := parseSockstat(b); return err }, "UDP: inuse 1\n", false},
		{"diskstats short lines", func(b []byte) error { _, err := parseDiskstats(b); return err }, "8 0 sda 1 2\n", true},
		{"diskstats bad", func(b []byte) error { _, err := parseDiskstats(b); return err }, "8 0 sda 1 2 x 4 5 6 7 8 9 10\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn([]byte(tt.in)); (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestParseDiskstats(t *testing.T) {
	in := `   8       0 sda 1 0 100 0 1 0 200 0 0 1000 0
   8       1 sda1 1 0 100 0 1 0 200 0 0 1000 0
 179       0 mmcblk0 1 0 10 0 1 0 20 0 0 500 0
 179       1 mmcblk0p1 1 0 10 0 1 0 20 0 0 500 0
   7       0 loop0 1 0 999 0 1 0 999 0 0 999 0
   1       0 ram0 1 0 999 0 1 0 999 0 0 999 0
`
	d, err := parseDiskstats([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if d != (diskTimes{readSectors: 110, writeSectors: 220, ioMillis: 1500, disks: 2}) {
		t.Fatalf("got %+v", d)
	}
}

// FuzzProc feeds arbitrary bytes to every /proc parser: none may panic.
func FuzzProc(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 17 13 0 0 20 0 1 0 5 100 50"))
	f.Add([]byte("cpu  10 1 5 80 4 0 0 0 3 0\nMemTotal: 1000 kB\nVmRSS: 12 kB\n"))
	f.Add([]byte("TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\n8 0 sda 1 0 100 0 1 0 200 0 0 1000 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseSelfStat(b)
		parseStatusRSS(b)
		parseCPUStat(b)
		if m, err := parseMeminfo(b); err == nil {
			if r := m.ramRatio(); r < 0 || r > 1 {
				t.Fatalf("ram ratio %v", r)
			}
			if r := m.swapRatio(); r < 0 || r > 1 {
				t.Fatalf("swap ratio %v", r)
			}
		}
		parseLoadavg(b)
		parseUptime(b)
		parseSockstat(b)
		parseDiskstats(b)
	})
}
