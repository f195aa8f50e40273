package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errProc reports a /proc file that is missing or not in the expected form.
var errProc = errors.New("api: unexpected /proc content")

// maxProcFile caps how much of a /proc file is read.
const maxProcFile = 1 << 20

// userHZ is the kernel's USER_HZ, the unit of the tick counts in /proc: 100
// on every Linux architecture (sysconf(_SC_CLK_TCK) needs cgo).
const userHZ = 100

// proc reads the host's counters from a procfs mounted at root ("/proc").
// Every reader fails softly: on a system without procfs the summaries show
// zeros and "ok": false.
type proc struct {
	root string
}

func (p proc) read(name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(p.root, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxProcFile))
}

// selfStat is what /proc/self/stat and /proc/self/status tell of us.
type selfStat struct {
	ppid  int
	ticks uint64 // utime+stime, in USER_HZ ticks
	rssKB uint64
}

func (p proc) self() (selfStat, error) {
	var s selfStat
	b, err := p.read("self/stat")
	if err != nil {
		return s, err
	}
	if s.ppid, s.ticks, err = parseSelfStat(b); err != nil {
		return s, err
	}
	b, err = p.read("self/status")
	if err != nil {
		return s, err
	}
	s.rssKB, err = parseStatusRSS(b)
	return s, err
}

// parseSelfStat returns the ppid and utime+stime of a /proc/PID/stat line
// (proc(5): "pid (comm) state ppid ... utime stime ..."; comm may hold spaces
// and parentheses, so fields count from the last ')').
func parseSelfStat(b []byte) (ppid int, ticks uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%w: stat: no comm", errProc)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%w: stat: %d fields", errProc, len(f))
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("%w: stat: ppid", errProc)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: stat: times", errProc)
	}
	return ppid, ut + st, nil
}

// parseStatusRSS returns VmRSS in kB from /proc/PID/status.
func parseStatusRSS(b []byte) (uint64, error) {
	v, ok := kbField(b, "VmRSS:")
	if !ok {
		return 0, fmt.Errorf("%w: status: no VmRSS", errProc)
	}
	return v, nil
}

// kbField returns the number after key on a "Key:   123 kB" line.
func kbField(b []byte, key string) (uint64, bool) {
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(line, []byte(key)) {
			continue
		}
		f := strings.Fields(string(line[len(key):]))
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		return v, err == nil
	}
	return 0, false
}

// cpuTimes are the aggregate "cpu" line of /proc/stat.
type cpuTimes struct {
	total, idle uint64
}

func (p proc) cpu() (cpuTimes, error) {
	b, err := p.read("stat")
	if err != nil {
		return cpuTimes{}, err
	}
	return parseCPUStat(b)
}

// parseCPUStat sums the "cpu " line of /proc/stat (proc(5): user nice system
// idle iowait irq softirq steal ...); idle counts idle and iowait.
func parseCPUStat(b []byte) (cpuTimes, error) {
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(line, []byte("cpu ")) {
			continue
		}
		f := strings.Fields(string(line[4:]))
		if len(f) < 4 {
			break
		}
		var c cpuTimes
		for i, s := range f {
			if i >= 8 { // guest and guest_nice are already in user and nice
				break
			}
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return cpuTimes{}, fmt.Errorf("%w: stat: cpu field %d", errProc, i)
			}
			c.total += v
			if i == 3 || i == 4 {
				c.idle += v
			}
		}
		return c, nil
	}
	return cpuTimes{}, fmt.Errorf("%w: stat: no cpu line", errProc)
}

// memInfo is the part of /proc/meminfo the summaries show, in kB.
type memInfo struct {
	total, free, available, buffers, cached, swapTotal, swapFree uint64
	hasAvailable                                                 bool
}

func (p proc) mem() (memInfo, error) {
	b, err := p.read("meminfo")
	if err != nil {
		return memInfo{}, err
	}
	return parseMeminfo(b)
}

func parseMeminfo(b []byte) (memInfo, error) {
	var m memInfo
	var ok bool
	if m.total, ok = kbField(b, "MemTotal:"); !ok || m.total == 0 {
		return memInfo{}, fmt.Errorf("%w: meminfo: no MemTotal", errProc)
	}
	m.free, _ = kbField(b, "MemFree:")
	m.available, m.hasAvailable = kbField(b, "MemAvailable:")
	m.buffers, _ = kbField(b, "Buffers:")
	m.cached, _ = kbField(b, "Cached:")
	m.swapTotal, _ = kbField(b, "SwapTotal:")
	m.swapFree, _ = kbField(b, "SwapFree:")
	return m, nil
}

// ramRatio is the share of RAM in use, 0..1: without what the kernel could
// reclaim (MemAvailable, or free+buffers+cached on old kernels).
func (m memInfo) ramRatio() float64 {
	if m.total == 0 {
		return 0
	}
	avail := m.available
	if !m.hasAvailable {
		avail = m.free + m.buffers + m.cached
	}
	if avail > m.total {
		return 0
	}
	return float64(m.total-avail) / float64(m.total)
}

// swapRatio is the share of swap in use, 0..1.
func (m memInfo) swapRatio() float64 {
	if m.swapTotal == 0 || m.swapFree > m.swapTotal {
		return 0
	}
	return float64(m.swapTotal-m.swapFree) / float64(m.swapTotal)
}

func (p proc) loadavg() ([3]float64, error) {
	b, err := p.read("loadavg")
	if err != nil {
		return [3]float64{}, err
	}
	return parseLoadavg(b)
}

// parseLoadavg reads "0.10 0.20 0.30 1/123 4567".
func parseLoadavg(b []byte) ([3]float64, error) {
	var l [3]float64
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return l, fmt.Errorf("%w: loadavg", errProc)
	}
	for i := range l {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return [3]float64{}, fmt.Errorf("%w: loadavg", errProc)
		}
		l[i] = v
	}
	return l, nil
}

func (p proc) uptime() (up, idle float64, err error) {
	b, err := p.read("uptime")
	if err != nil {
		return 0, 0, err
	}
	return parseUptime(b)
}

// parseUptime reads "12345.67 23456.78": uptime and idle seconds.
func parseUptime(b []byte) (up, idle float64, err error) {
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%w: uptime", errProc)
	}
	up, err1 := strconv.ParseFloat(f[0], 64)
	idle, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: uptime", errProc)
	}
	return up, idle, nil
}

// sockets are the host's socket counts from /proc/net/sockstat, as SRS shows
// them: conn_sys (TCP allocated), conn_sys_et (TCP in use), conn_sys_tw
// (TIME_WAIT) and conn_sys_udp.
type sockets struct {
	tcp, tcpInUse, tcpTW, udp uint64
}

func (p proc) sockstat() (sockets, error) {
	b, err := p.read("net/sockstat")
	if err != nil {
		return sockets{}, err
	}
	return parseSockstat(b)
}

// parseSockstat reads lines like "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1".
func parseSockstat(b []byte) (sockets, error) {
	var s sockets
	found := false
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		kv := map[string]uint64{}
		for i := 1; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseUint(f[i+1], 10, 64); err == nil {
				kv[f[i]] = v
			}
		}
		switch f[0] {
		case "TCP:":
			s.tcp, s.tcpInUse, s.tcpTW = kv["alloc"], kv["inuse"], kv["tw"]
			found = true
		case "UDP:":
			s.udp = kv["inuse"]
		}
	}
	if !found {
		return sockets{}, fmt.Errorf("%w: sockstat: no TCP line", errProc)
	}
	return s, nil
}

// diskTimes are whole-disk totals from /proc/diskstats.
type diskTimes struct {
	readSectors, writeSectors, ioMillis uint64
	disks                               int
}

func (p proc) disk() (diskTimes, error) {
	b, err := p.read("diskstats")
	if err != nil {
		return diskTimes{}, err
	}
	return parseDiskstats(b)
}

// parseDiskstats sums whole disks of /proc/diskstats (Linux
// Documentation/admin-guide/iostats.rst: major minor name, then reads,
// merged, sectors read, ms reading, writes, merged, sectors written, ms
// writing, in flight, ms doing I/O, ...). Partitions (a name that extends
// another device's name, sda1 of sda, mmcblk0p1 of mmcblk0) and loop and RAM
// devices are left out; ioMillis is summed over the disks.
func parseDiskstats(b []byte) (diskTimes, error) {
	type dev struct {
		name      string
		r, w, iot uint64
	}
	var devs []dev
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) < 13 {
			continue
		}
		n := f[2]
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		r, err1 := strconv.ParseUint(f[5], 10, 64)
		w, err2 := strconv.ParseUint(f[9], 10, 64)
		t, err3 := strconv.ParseUint(f[12], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return diskTimes{}, fmt.Errorf("%w: diskstats: %s", errProc, n)
		}
		devs = append(devs, dev{n, r, w, t})
		if len(devs) >= 1024 {
			break
		}
	}
	var d diskTimes
	for _, x := range devs {
		part := false
		for _, y := range devs {
			if len(y.name) < len(x.name) && strings.HasPrefix(x.name, y.name) {
				part = true
				break
			}
		}
		if part {
			continue
		}
		d.readSectors += x.r
		d.writeSectors += x.w
		d.ioMillis += x.iot
		d.disks++
	}
	return d, nil
}
