package rtp

import (
	"math/bits"

	"github.com/pion/rtp"
)

// maxDropout is the sequence distance beyond which a packet is taken as a
// restart of the sender rather than a late or early one (RFC 3550 §A.1,
// MAX_DROPOUT).
const maxDropout = 3000

// Reorder puts the packets of one stream back in sequence order. A packet
// that arrives early waits in a window of a few slots for the ones before
// it; when a packet arrives further ahead than the window, the missing ones
// are given up as lost and the held ones go out. Late packets and duplicates are dropped. Over TCP
// packets are in order and pass straight through.
type Reorder struct {
	slots   []reorderSlot // indexed by sequence number modulo the window
	next    uint16
	started bool
	held    int
}

type reorderSlot struct {
	used bool
	pkt  rtp.Packet
	buf  []byte
}

// NewReorder returns a reorder buffer holding up to window packets, rounded
// up to a power of two (so that slots follow sequence numbers across their
// wrap); 0 means 64.
func NewReorder(window int) *Reorder {
	if window <= 0 {
		window = 64
	}
	window = min(1<<bits.Len(uint(window-1)), 4096)
	return &Reorder{slots: make([]reorderSlot, max(window, 2))}
}

// Push takes one packet and calls out, in sequence order, for each packet
// now due: p itself when it is the next one, then any held packets that
// follow it. p's payload is copied when it has to wait. Push returns the
// number of packets given up as lost and whether p was dropped as late or
// duplicate.
func (r *Reorder) Push(p *rtp.Packet, out func(*rtp.Packet)) (lost int, dropped bool) {
	w := len(r.slots)
	if !r.started {
		r.started, r.next = true, p.SequenceNumber
	}
	d := int(int16(p.SequenceNumber - r.next))
	switch {
	case d > maxDropout || d < -maxDropout:
		r.flush(out) // the sender restarted: a new sequence
		r.next = p.SequenceNumber
		d = 0
	case d < 0:
		return 0, true
	}
	if d >= w {
		// Beyond the window: the packets still missing before p are lost;
		// the held ones go out in order, then p.
		lost = d - r.flush(out)
		r.next = p.SequenceNumber
		d = 0
	}
	if d == 0 {
		out(p)
		r.next++
		r.drain(out)
		return lost, false
	}
	s := &r.slots[int(p.SequenceNumber)%w]
	if s.used {
		return lost, true
	}
	s.used = true
	s.buf = append(s.buf[:0], p.Payload...)
	s.pkt.Header = p.Header
	s.pkt.Header.CSRC, s.pkt.Header.Extensions = nil, nil
	s.pkt.Payload = s.buf
	r.held++
	r.drain(out) // the window may have moved onto held packets
	return lost, false
}

// drain emits the held packets that are now in order.
func (r *Reorder) drain(out func(*rtp.Packet)) {
	w := len(r.slots)
	for r.held > 0 {
		s := &r.slots[int(r.next)%w]
		if !s.used {
			return
		}
		r.emit(s, out)
		r.next++
	}
}

func (r *Reorder) emit(s *reorderSlot, out func(*rtp.Packet)) {
	s.used = false
	r.held--
	out(&s.pkt)
}

// flush emits every held packet in order, skipping the gaps, and returns
// how many it emitted.
func (r *Reorder) flush(out func(*rtp.Packet)) int {
	w, n := len(r.slots), 0
	for i := 0; r.held > 0 && i < w; i++ {
		s := &r.slots[int(r.next)%w]
		if s.used {
			r.emit(s, out)
			n++
		}
		r.next++
	}
	return n
}
