package audiobridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/backoff"
	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/ogg"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
)

// aacQueue is how many Opus frames (20 ms each) wait for the child: 1.3 s.
// More are dropped and counted, so that push never blocks the publisher.
const aacQueue = 64

// aacEncoderDelay is the priming of ffmpeg's AAC encoder, in samples: its
// first frame holds no input.
const aacEncoderDelay = 1024

// aacJob is the Opus to AAC conversion of one publisher.
type aacJob struct {
	job
	b      *Bridge
	out    func(*media.Frame)
	in     chan media.Frame
	cancel context.CancelFunc
	done   chan struct{}
	closed atomic.Bool

	// The run goroutine's.
	lastOut time.Duration
	hasOut  bool
	cfgOut  [3]int      // object type, rate, channels of the config last sent to out
	cfgSent bool        // sent by this session's child
	frame   media.Frame // handed to out: a local would escape through the func value
}

// ToAAC converts a publisher's Opus to AAC. push takes the publisher's Opus
// frames (it does not take over the caller's reference: it keeps its own) and
// never blocks: when the child falls behind or is restarting, frames are
// dropped and counted. out gets, from the bridge's goroutine, an AAC config
// frame (AudioSpecificConfig) first and whenever the child restarts, then raw
// AAC frames (48 kHz, 1024 samples) timestamped on the publisher's timeline;
// out takes over each frame's reference (Stream.Write does). out runs on the
// bridge's goroutine, not the publisher's: Stream.Write belongs to one
// goroutine at a time, so a publisher that also writes its video must
// serialize the two (a mutex around both Writes, or out handing the frames
// to the publisher's goroutine). stop ends the child and waits for it (out
// is not called after stop returns); push must not be called after stop.
// The publisher's own Opus is the publisher's to keep (in the stream, as
// its media.TrackOpus track): the bridge only reads it.
//
// It fails with ErrOff, ErrNoFFmpeg or ErrNoOpus (Available).
func (b *Bridge) ToAAC(key media.Key, out func(*media.Frame)) (push func(*media.Frame), stop func(), err error) {
	if err := b.Available(); err != nil {
		return nil, nil, err
	}
	j := &aacJob{b: b, out: out, in: make(chan media.Frame, aacQueue), done: make(chan struct{})}
	j.key, j.since = key, time.Now()
	j.log = b.log.With("cid", log.NewTraceID(), "stream", key.String(), "audiobridge", DirOpusToAAC)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, nil, ErrClosed
	}
	var ctx context.Context
	ctx, j.cancel = context.WithCancel(b.ctx)
	b.aac[j] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	go j.run(ctx)
	push = func(f *media.Frame) {
		if f.Codec != media.CodecOpus || len(f.Payload) == 0 || f.IsConfig() || j.closed.Load() {
			return
		}
		c := *f
		if c.Buf() == nil {
			c.Own()
		} else {
			c.Retain()
		}
		select {
		case j.in <- c:
		default:
			c.Release()
			j.dropped.Add(1)
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			j.closed.Store(true)
			j.cancel()
			<-j.done
			for {
				select {
				case f := <-j.in:
					f.Release()
				default:
					return
				}
			}
		})
	}
	return push, stop, nil
}

func (j *aacJob) run(ctx context.Context) {
	b := j.b
	defer func() {
		b.mu.Lock()
		delete(b.aac, j)
		b.mu.Unlock()
		j.log.Info("audiobridge: stopped", "frames_in", j.framesIn.Load(), "frames_out", j.framesOut.Load(),
			"restarts", j.restarts.Load(), "dropped", j.dropped.Load())
		close(j.done)
		b.wg.Done()
	}()
	bo := backoff.Backoff{Min: b.opt.MinBackoff, Max: b.opt.MaxBackoff}
	for {
		start := time.Now()
		err := j.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("ffmpeg ended")
		}
		delay := bo.Next(time.Since(start))
		j.failed(err, delay)
		t := time.NewTimer(delay)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case f := <-j.in: // the publisher goes on: its frames are lost
				f.Release()
				j.dropped.Add(1)
			case <-t.C:
				break wait
			}
		}
	}
}

// aacArgs is the Ogg Opus to AAC (ADTS) command line.
func (b *Bridge) aacArgs() []string {
	args := append([]string(nil), ffmpeg.BaseArgs...)
	return append(args, "-probesize", "32", "-analyzeduration", "0",
		"-f", "ogg", "-i", "pipe:0", "-map", "0:a:0",
		"-af", "asetpts=N/SR/TB", "-c:a", "aac", "-b:a", kbps(b.opt.AACBitrate), "-ar", "48000", "-ac", "2",
		"-flush_packets", "1", "-f", "adts", "pipe:1")
}

// session runs one child until it fails or ctx ends.
func (j *aacJob) session(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := j.b.aacArgs()
	proc, err := ffmpeg.Start(sctx, args, ffmpeg.Options{Path: j.b.opt.FFmpeg, Log: j.log, Stdin: true})
	if err != nil {
		return err
	}
	j.setPID(proc.Pid())
	defer j.setPID(0)
	j.log.Info("audiobridge: ffmpeg started", "pid", proc.Pid(), "args", strings.Join(args, " "))
	tl := newTimeline()
	feedErr := make(chan error, 1)
	resume, hasResume := j.lastOut, j.hasOut
	j.cfgSent = false
	go func() { feedErr <- j.feed(sctx, proc.Stdin, tl, resume, hasResume) }()
	var stalled atomic.Bool
	go j.watch(sctx, proc.Kill, &stalled)
	rerr := j.readAAC(proc.Stdout, tl)
	if rerr != nil {
		proc.Kill()
	}
	cancel()
	werr := proc.Wait()
	ferr := <-feedErr
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case stalled.Load():
		return errStalled
	case werr != nil:
		return werr
	case rerr != nil:
		return fmt.Errorf("ffmpeg output: %w", rerr)
	case ferr != nil && !errors.Is(ferr, context.Canceled):
		return fmt.Errorf("ffmpeg input: %w", ferr)
	}
	return errors.New("ffmpeg ended")
}

// feed writes the pushed Opus frames to the child as Ogg Opus: OpusHead
// (stereo, no pre-skip: WebRTC's Opus has none), OpusTags, then a page per
// packet with a gapless granule position; gaps go into the timeline.
// Frames up to resume (the last AAC frame out before this child) are not
// fed again.
func (j *aacJob) feed(ctx context.Context, w io.WriteCloser, tl *timeline, resume time.Duration, hasResume bool) error {
	defer w.Close()
	ow := ogg.Writer{Serial: uint32(time.Now().UnixNano())}
	buf := make([]byte, 0, 4096)
	var err error
	pkt := ogg.AppendOpusHead(nil, ogg.OpusHead{Channels: 2, InputRate: rate48})
	if buf, err = ow.AppendPage(buf[:0], pkt, 0, false); err != nil {
		return err
	}
	pkt = ogg.AppendOpusTags(pkt[:0], "srs-lite")
	if buf, err = ow.AppendPage(buf, pkt, 0, false); err != nil {
		return err
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	var granule int64
	for {
		var f media.Frame
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f = <-j.in:
		}
		n := ogg.OpusSamples(f.Payload)
		if n == 0 || hasResume && f.DTS <= resume {
			f.Release()
			continue
		}
		tl.in(f.DTS, n, rate48)
		granule += int64(n)
		buf, err = ow.AppendPage(buf[:0], f.Payload, granule, false)
		f.Release()
		if err != nil {
			continue // larger than a page: not Opus
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		j.framesIn.Add(1)
	}
}

// readAAC hands the child's AAC frames to out.
func (j *aacJob) readAAC(r io.Reader, tl *timeline) error {
	ar := aac.NewADTSReader(r)
	var k int64 // frames of this child
	for {
		h, payload, err := ar.ReadFrame()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		asc := h.ASC()
		samples := int64(asc.FrameLength)
		pos := k*samples - aacEncoderDelay
		k++
		if pos < 0 {
			continue // priming
		}
		ts, ok := tl.at(pos * rate48 / int64(asc.SampleRate))
		if !ok {
			continue
		}
		if j.hasOut && ts <= j.lastOut {
			if j.lastOut-ts > 3*time.Duration(samples)*time.Second/time.Duration(asc.SampleRate) {
				continue
			}
			ts = j.lastOut + time.Millisecond
		}
		if c := [3]int{asc.ObjectType, asc.SampleRate, asc.Channels}; !j.cfgSent || c != j.cfgOut {
			j.cfgOut, j.cfgSent = c, true
			cfg := aac.BuildASC(asc.ObjectType, asc.SampleRate, asc.Channels)
			j.frame = media.Frame{DTS: ts, PTS: ts, Codec: media.CodecAAC, Flags: media.FlagConfig,
				SampleRate: uint32(asc.SampleRate), Channels: uint8(asc.Channels)}
			buf := media.GetBuf(len(cfg))
			copy(buf.Bytes(), cfg)
			j.frame.SetBuf(buf, 0, len(cfg))
			j.out(&j.frame)
		}
		buf := media.GetBuf(len(payload))
		copy(buf.Bytes(), payload)
		j.frame = media.Frame{DTS: ts, PTS: ts, Codec: media.CodecAAC, SampleRate: uint32(asc.SampleRate), Channels: uint8(asc.Channels)}
		j.frame.SetBuf(buf, 0, len(payload))
		j.out(&j.frame)
		j.lastOut, j.hasOut = ts, true
		j.framesOut.Add(1)
	}
}
