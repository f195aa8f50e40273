package sip

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Timers of RFC 3261 17.1: T1 is the first retransmission interval, doubled
// each time (up to T2 for non-INVITE requests), and a transaction times
// out after 64*T1.
const (
	T1 = 500 * time.Millisecond
	T2 = 4 * time.Second
)

// ErrTimeout is a client transaction that got no final response in 64*T1.
var ErrTimeout = errors.New("sip: transaction timed out")

// Clients matches responses to our requests: by the top Via branch and
// the CSeq method (RFC 3261 17.1.3), and the Call-ID.
type Clients struct {
	mu  sync.Mutex
	txs map[string]*tx
	// Timeout is 64*T1 unless set (tests).
	Timeout time.Duration
}

type tx struct {
	callID string
	ch     chan *Message
}

func key(branch, method string) string { return branch + " " + method }

// Do sends req with send, and again at T1, 2*T1, ... over an unreliable
// transport, until a final response (>= 200) comes through Deliver, ctx
// ends or 64*T1 passes. Provisional responses are given to provisional when
// not nil. req must carry a Via with a branch.
func (c *Clients) Do(ctx context.Context, req *Message, reliable bool, send func([]byte) error, provisional func(*Message)) (*Message, error) {
	_, method := req.CSeq()
	k := key(req.Branch(), method)
	t := &tx{callID: req.Get("Call-ID"), ch: make(chan *Message, 4)}
	c.mu.Lock()
	if c.txs == nil {
		c.txs = map[string]*tx{}
	}
	c.txs[k] = t
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.txs, k)
		c.mu.Unlock()
	}()
	data := req.Bytes()
	if err := send(data); err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 64 * T1
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	interval := T1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	if reliable {
		retrans.Stop()
	}
	proceeding := false
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return nil, ErrTimeout
		case <-retrans.C:
			if err := send(data); err != nil {
				return nil, err
			}
			interval *= 2
			if method != "INVITE" && (interval > T2 || proceeding) {
				interval = T2
			}
			retrans.Reset(interval)
		case m := <-t.ch:
			if m.Status >= 200 {
				return m, nil
			}
			if method == "INVITE" {
				// Timer A stops once a provisional response arrives.
				retrans.Stop()
			}
			proceeding = true
			if provisional != nil {
				provisional(m)
			}
		}
	}
}

// Deliver hands a response to its transaction and reports whether one
// was waiting for it.
func (c *Clients) Deliver(resp *Message) bool {
	_, method := resp.CSeq()
	c.mu.Lock()
	t := c.txs[key(resp.Branch(), method)]
	c.mu.Unlock()
	if t == nil || t.callID != resp.Get("Call-ID") {
		return false
	}
	select {
	case t.ch <- resp:
	default:
	}
	return true
}
