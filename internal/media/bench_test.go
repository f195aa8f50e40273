package media

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkRingWrite measures the publisher's cost per frame with no reader.
func BenchmarkRingWrite(b *testing.B) {
	g := NewRegistry(nil)
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "bench"})
	defer s.Unpublish()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fl := Flags(0)
		if i%60 == 0 {
			fl = FlagKey
		}
		f := frame(CodecH264, fl, i, 4096)
		s.Write(&f)
	}
}

// benchReaders publishes a bench stream and starts n readers of it (opts
// gives reader i's options) that merge their reads as players do and
// release what they read; wait returns once they ended (after Unpublish).
func benchReaders(n int, opts func(i int) SubscribeOptions) (s *Stream, wait func()) {
	o := DefaultOptions()
	o.RingFrames = 4096
	o.MinFrames, o.MaxDelay = 8, 10*time.Millisecond
	g := NewRegistry(func(string) Options { return o })
	k := Key{Vhost: "v", App: "live", Stream: "bench"}
	s, _ = g.Publish(k)
	var wg, ready sync.WaitGroup
	for r := range n {
		rd := g.SubscribeWith(k, nil, opts(r))
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			defer rd.Close()
			dst := make([]Frame, 64)
			ready.Done()
			for {
				n, err := rd.Read(context.Background(), dst)
				releaseAll(dst[:n])
				if err != nil {
					return
				}
			}
		}()
	}
	ready.Wait()
	return s, wg.Wait
}

// BenchmarkFanout measures one writer feeding N readers that merge their
// reads as players do; ns/op is the cost of one frame delivered to every
// reader, allocs/op counts the whole path: write, read, release.
func BenchmarkFanout(b *testing.B) {
	for _, readers := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			s, wait := benchReaders(readers, func(int) SubscribeOptions { return SubscribeOptions{} })
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fl := Flags(0)
				if i%60 == 0 {
					fl = FlagKey
				}
				f := frame(CodecH264, fl, i, 4096)
				s.Write(&f)
				if i%64 == 63 {
					// Pace like a live source so readers keep up: the
					// benchmark is of delivery, not of lapping.
					b.StopTimer()
					time.Sleep(time.Duration(readers/100+1) * 50 * time.Microsecond)
					b.StartTimer()
				}
			}
			s.Unpublish()
			wait()
		})
	}
}
