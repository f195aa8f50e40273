package server

import (
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var clients atomic.Int64
	l := &connLimit{log: slog.New(slog.NewTextHandler(io.Discard, nil)), count: func() int { return int(clients.Load()) }}
	l.max.Store(1)
	ln := l.wrap(raw)
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if _, ok := c.(*net.TCPConn); !ok {
				t.Errorf("accepted %T, want the *net.TCPConn itself (writev)", c)
			}
			clients.Add(1)
			accepted <- c
		}
	}()
	c1, _ := net.Dial("tcp", raw.Addr().String())
	defer c1.Close()
	first := <-accepted
	c2, _ := net.Dial("tcp", raw.Addr().String())
	defer c2.Close()
	_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c2.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection over the limit: read %v, want EOF (closed by the server)", err)
	}
	first.Close()
	clients.Add(-1)
	c3, _ := net.Dial("tcp", raw.Addr().String())
	defer c3.Close()
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("a place freed by a client leaving was not reused")
	}
}
