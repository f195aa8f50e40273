package srt

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestWriteStream: a short last packet is kept back and filled by the next
// write's bytes; the timer tick sends one left alone once its hold has
// passed; a hold of 0 sends it at once, the kept one first; Close sends one
// too. Every byte arrives, in order, in full packets but for the ones the
// tick, a 0 hold or Close sent.
func TestWriteStream(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialed := make(chan *Conn, 1)
	go func() {
		c, err := Dial(ctx, ln.Addr().String(), Config{})
		if err != nil {
			t.Error(err)
		}
		dialed <- c
	}()
	sender, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	receiver := <-dialed
	if receiver == nil {
		t.FailNow()
	}
	defer receiver.Close()

	const size = 1316
	var sent []byte
	hold := synInterval
	write := func(n int) {
		p := bytes.Repeat([]byte{byte(len(sent) / 100)}, n)
		for i := range p {
			p[i] = byte(len(sent) + i)
		}
		if _, err := sender.WriteStream(p, size, hold); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, p...)
	}
	read := func(what string, want int) []int {
		t.Helper()
		var sizes []int
		buf := make([]byte, 1500)
		for got := 0; got < want; {
			_ = receiver.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err := receiver.Read(buf)
			if err != nil {
				t.Fatalf("%s: %v after %d of %d bytes", what, err, got, want)
			}
			off := len(sent) - want + got
			if !bytes.Equal(buf[:n], sent[off:off+n]) {
				t.Fatalf("%s: packet at %d differs", what, off)
			}
			sizes = append(sizes, n)
			got += n
		}
		return sizes
	}

	// 2.5 packets, then 1.5 in one write: four full packets, nothing short.
	start := time.Now()
	write(size*2 + size/2)
	write(size + size/2)
	if sizes := read("merged", 4*size); len(sizes) != 4 {
		t.Fatalf("merged writes came as %v, want 4 full packets", sizes)
	}
	// A short write alone: the tick sends it.
	write(300)
	if sizes := read("tick", 300); len(sizes) != 1 || sizes[0] != 300 {
		t.Fatalf("a lone short write came as %v", sizes)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	// Kept back for a long hold, then completed by a write that holds
	// nothing: a full packet, then the short rest at once.
	hold = time.Minute
	write(200)
	hold = 0
	write(size)
	if sizes := read("sealed", size+200); len(sizes) != 2 || sizes[0] != size || sizes[1] != 200 {
		t.Fatalf("a held tail and a sealing write came as %v", sizes)
	}
	// A long hold: the tick does not send it before its time.
	hold = 300 * time.Millisecond
	at := time.Now()
	write(100)
	if sizes := read("held", 100); len(sizes) != 1 || time.Since(at) < 250*time.Millisecond {
		t.Fatalf("a tail held for %v came as %v after %v", hold, sizes, time.Since(at))
	}
	hold = synInterval
	// A short write, then Close: sent before the shutdown.
	write(size + 500)
	go func() { _ = sender.Close() }()
	if sizes := read("close", size+500); len(sizes) != 2 {
		t.Fatalf("the tail before Close came as %v", sizes)
	}
}
