package srt

import "time"

// seqRange is a run of sequence numbers [from, to], with the time it was
// last reported in a NAK (receiver) or queued (sender).
type seqRange struct {
	from, to uint32
	at       time.Duration
}

// lossList is an ordered list of disjoint sequence ranges: the receiver's
// missing packets (§4.8.2) or the sender's packets to retransmit.
type lossList []seqRange

// add inserts [from, to], merging it with what it overlaps or touches.
func (l *lossList) add(from, to uint32, at time.Duration) {
	s := *l
	// Fast path: beyond the last range, as new gaps are.
	if n := len(s); n == 0 || seqDiff(from, s[n-1].to) > 1 {
		*l = append(s, seqRange{from, to, at})
		return
	}
	// General case: insert in order of from, then merge neighbours.
	i := 0
	for i < len(s) && seqDiff(s[i].from, from) <= 0 {
		i++
	}
	s = append(s, seqRange{})
	copy(s[i+1:], s[i:])
	s[i] = seqRange{from, to, at}
	out := s[:0]
	for _, r := range s {
		if k := len(out); k > 0 && seqDiff(r.from, out[k-1].to) <= 1 {
			if seqDiff(r.to, out[k-1].to) > 0 {
				out[k-1].to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	*l = out
}

// remove drops seq from the list and reports whether it was there.
func (l *lossList) remove(seq uint32) bool {
	s := *l
	for i := range s {
		r := &s[i]
		if seqDiff(seq, r.from) < 0 {
			return false
		}
		if seqDiff(seq, r.to) > 0 {
			continue
		}
		switch {
		case r.from == r.to:
			*l = append(s[:i], s[i+1:]...)
		case seq == r.from:
			r.from = seqAdd(r.from, 1)
		case seq == r.to:
			r.to = seqAdd(r.to, -1)
		default:
			tail := seqRange{seqAdd(seq, 1), r.to, r.at}
			r.to = seqAdd(seq, -1)
			s = append(s, seqRange{})
			copy(s[i+2:], s[i+1:])
			s[i+1] = tail
			*l = s
		}
		return true
	}
	return false
}

// removeBefore drops every number before seq.
func (l *lossList) removeBefore(seq uint32) {
	s := *l
	i := 0
	for i < len(s) && seqDiff(s[i].to, seq) < 0 {
		i++
	}
	s = append(s[:0], s[i:]...)
	if len(s) > 0 && seqDiff(s[0].from, seq) < 0 {
		s[0].from = seq
	}
	*l = s
}

// popFront removes and returns the first number.
func (l *lossList) popFront() (uint32, bool) {
	s := *l
	if len(s) == 0 {
		return 0, false
	}
	seq := s[0].from
	if s[0].from == s[0].to {
		*l = append(s[:0], s[1:]...)
	} else {
		s[0].from = seqAdd(seq, 1)
	}
	return seq, true
}

// count returns how many numbers the list holds.
func (l lossList) count() int {
	n := 0
	for _, r := range l {
		n += int(seqDiff(r.to, r.from)) + 1
	}
	return n
}
