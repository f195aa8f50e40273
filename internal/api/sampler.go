package api

import (
	"time"

	"github.com/srs-lite/srs-lite/internal/session"
)

// The sampler runs every sampleEvery and averages rates over window, as
// SRS's kbps.recv_30s and kbps.send_30s do.
const (
	sampleEvery = 5 * time.Second
	window      = 30 * time.Second
	meterSlots  = int(window/sampleEvery) + 1
)

// byteSample is one reading of a pair of byte counters.
type byteSample struct {
	at      time.Time
	in, out uint64
}

// meter keeps the latest samples of a pair of byte counters, enough to
// average them over window.
type meter struct {
	s      [meterSlots]byteSample
	n      int    // samples held
	next   int    // slot of the next sample
	gen    uint64 // sampling round that last saw the counter
	stream string // a client's stream id: where its bytes go when it leaves
	pub    bool   // a client that publishes
}

func (m *meter) add(at time.Time, in, out uint64) {
	if m.n > 0 && at.Before(m.newest().at) { // the clock went back: start over
		m.n, m.next = 0, 0
	}
	m.s[m.next] = byteSample{at, in, out}
	m.next = (m.next + 1) % meterSlots
	if m.n < meterSlots {
		m.n++
	}
}

func (m *meter) newest() byteSample {
	return m.s[(m.next+meterSlots-1)%meterSlots]
}

func (m *meter) oldest() byteSample {
	return m.s[(m.next+meterSlots-m.n)%meterSlots]
}

// kbps returns the average rates between the oldest and the newest sample,
// in kbit/s (bytes*8 per millisecond). A counter that went backwards (a
// reset) counts as idle.
func (m *meter) kbps() (recv, send int64) {
	if m == nil || m.n < 2 {
		return 0, 0
	}
	o, n := m.oldest(), m.newest()
	ms := n.at.Sub(o.at).Milliseconds()
	if ms <= 0 {
		return 0, 0
	}
	rate := func(a, b uint64) int64 {
		if b < a {
			return 0
		}
		return int64((b - a) * 8 / uint64(ms))
	}
	return rate(o.in, n.in), rate(o.out, n.out)
}

// streamAgg is what the live clients of one stream add up to.
type streamAgg struct {
	pubIn     uint64            // bytes received from publishers
	out       uint64            // bytes sent to every client of the stream
	publisher *session.Snapshot // the publishing client, if it is registered
}

// aggregate groups the clients by stream id.
func aggregate(cs []session.Snapshot) map[string]*streamAgg {
	m := make(map[string]*streamAgg)
	for i := range cs {
		c := &cs[i]
		if c.StreamID == "" {
			continue
		}
		g := m[c.StreamID]
		if g == nil {
			g = &streamAgg{}
			m[c.StreamID] = g
		}
		g.out += c.BytesOut
		if c.Publisher() {
			g.pubIn += c.BytesIn
			if g.publisher == nil {
				g.publisher = c
			}
		}
	}
	return m
}

// streamBytesLocked returns a stream's bytes: those of its live clients plus
// those of clients that have left. A stream whose publisher is not a
// registered client (an ingest, say) counts the payload bytes written to it.
// The caller holds a.mu.
func (a *API) streamBytesLocked(id string, payloadIn uint64, g *streamAgg) (in, out uint64) {
	in, out = a.closedIn[id], a.closedOut[id]
	if g != nil {
		in += g.pubIn
		out += g.out
	}
	if in == 0 {
		in = payloadIn
	}
	return in, out
}

// hostSample is one reading of the host's counters.
type hostSample struct {
	at     time.Time
	self   selfStat
	cpu    cpuTimes
	disk   diskTimes
	selfOK bool
	cpuOK  bool
	diskOK bool
}

// hostRates are the host's rates between the last two samples.
type hostRates struct {
	at            time.Time
	selfCPU       float64 // share of one CPU used by this process
	cpu           float64 // share of all CPUs in use, 0..1
	diskReadKBps  float64
	diskWriteKBps float64
	diskBusy      float64 // share of time the disks were busy, 0..1
	ok            bool
}

// sample reads every counter once: the clients' and streams' bytes and the
// host's CPU and disk times. Run calls it every sampleEvery; tests call it
// with a fake clock.
func (a *API) sample(now time.Time) {
	clients := a.deps.Clients.List()
	streams := a.deps.Registry.Streams()
	st := make([]uint64, len(streams))
	for i, s := range streams {
		st[i] = s.Stats().BytesIn
	}
	var h hostSample
	var err error
	h.at = now
	h.self, err = a.proc.self()
	h.selfOK = err == nil
	h.cpu, err = a.proc.cpu()
	h.cpuOK = err == nil
	h.disk, err = a.proc.disk()
	h.diskOK = err == nil

	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	for i := range clients {
		c := &clients[i]
		m := a.clientMeters[c.ID]
		if m == nil {
			m = &meter{}
			a.clientMeters[c.ID] = m
		}
		m.stream, m.pub, m.gen = c.StreamID, c.Publisher(), a.gen
		m.add(now, c.BytesIn, c.BytesOut)
	}
	for id, m := range a.clientMeters {
		if m.gen == a.gen {
			continue
		}
		// Gone: its last counted bytes stay with its stream.
		if m.stream != "" {
			l := m.newest()
			if m.pub {
				a.closedIn[m.stream] += l.in
			}
			a.closedOut[m.stream] += l.out
		}
		delete(a.clientMeters, id)
	}
	aggs := aggregate(clients)
	live := make(map[string]bool, len(streams))
	for i, s := range streams {
		live[s.ID] = true
		m := a.streamMeters[s.ID]
		if m == nil {
			m = &meter{}
			a.streamMeters[s.ID] = m
		}
		m.gen = a.gen
		in, out := a.streamBytesLocked(s.ID, st[i], aggs[s.ID])
		m.add(now, in, out)
	}
	for id := range a.streamMeters {
		if !live[id] {
			delete(a.streamMeters, id)
		}
	}
	for id := range a.closedIn {
		if !live[id] {
			delete(a.closedIn, id)
		}
	}
	for id := range a.closedOut {
		if !live[id] {
			delete(a.closedOut, id)
		}
	}
	a.rates = rates(a.host, h)
	a.host = h
}

// rates computes the host's rates from two samples.
func rates(o, n hostSample) hostRates {
	r := hostRates{at: n.at, ok: n.selfOK && n.cpuOK && n.diskOK}
	sec := n.at.Sub(o.at).Seconds()
	if o.at.IsZero() || sec <= 0 {
		return r
	}
	if o.selfOK && n.selfOK && n.self.ticks >= o.self.ticks {
		r.selfCPU = float64(n.self.ticks-o.self.ticks) / userHZ / sec
	}
	if o.cpuOK && n.cpuOK && n.cpu.total > o.cpu.total && n.cpu.idle >= o.cpu.idle {
		dt, di := n.cpu.total-o.cpu.total, n.cpu.idle-o.cpu.idle
		if di <= dt {
			r.cpu = 1 - float64(di)/float64(dt)
		}
	}
	if o.diskOK && n.diskOK {
		d, p := n.disk, o.disk
		if d.readSectors >= p.readSectors {
			r.diskReadKBps = float64(d.readSectors-p.readSectors) / 2 / sec // 512-byte sectors
		}
		if d.writeSectors >= p.writeSectors {
			r.diskWriteKBps = float64(d.writeSectors-p.writeSectors) / 2 / sec
		}
		if d.ioMillis >= p.ioMillis && d.disks > 0 {
			r.diskBusy = min(1, float64(d.ioMillis-p.ioMillis)/1000/sec/float64(d.disks))
		}
	}
	return r
}
