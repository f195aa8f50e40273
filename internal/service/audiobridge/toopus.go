package audiobridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// errConfigChanged ends a child whose input changed its AAC configuration
// (rate, channels): the next child starts at once with the new one.
var errConfigChanged = errors.New("audiobridge: AAC configuration changed")

// opusPipe is the AAC to Opus conversion of one source stream.
type opusPipe struct {
	job
	b      *Bridge
	ckey   media.Key     // the companion's key in b.priv
	st     *media.Stream // the companion, published by run
	cancel context.CancelFunc
	done   chan struct{}

	// Under b.mu.
	refs   int
	dead   bool
	linger *time.Timer

	// The run goroutine's (and its session's feeder, which ends before the
	// next session starts).
	lastOut time.Duration
	hasOut  bool
	asc     aac.ASC // the source's AAC config: its config frame comes once
	hasASC  bool
}

// Opus returns a reader of the Opus version of the stream's AAC audio: a
// companion stream holding only Opus frames (48 kHz, 20 ms each, payload an
// Opus packet as RTP carries it), timestamped on the source's timeline, so
// that they play in sync with the source's video. The first caller of a stream
// starts its ffmpeg child; release closes the reader and drops the caller's
// claim, and the last release stops the child after Options.Linger. Call
// release once, from the goroutine that reads, after the last Read. The reader
// gets io.EOF when the source's publish session ends. (A WHIP publisher's
// own Opus is in its stream, media.TrackOpus: its readers need no bridge.)
//
// It fails with ErrOff, ErrNoFFmpeg or ErrNoOpus (Available), or ErrNoAAC
// when the stream is not published or its audio is not AAC.
func (b *Bridge) Opus(key media.Key) (rd *media.Reader, release func(), err error) {
	if err := b.Available(); err != nil {
		return nil, nil, err
	}
	src := b.reg.Lookup(key)
	if src == nil || !src.Publishing() {
		return nil, nil, fmt.Errorf("%w: %s is not published", ErrNoAAC, key)
	}
	if a := src.Stats(); !a.HasAudio || a.Audio.Codec != media.CodecAAC {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoAAC, key)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, nil, ErrClosed
	}
	p := b.opus[key]
	if p == nil || p.dead {
		if p, err = b.startOpus(key); err != nil {
			b.mu.Unlock()
			return nil, nil, err
		}
	}
	p.refs++
	if p.linger != nil {
		p.linger.Stop()
		p.linger = nil
	}
	rd = b.priv.Subscribe(p.ckey, p.log)
	b.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			rd.Close()
			b.releaseOpus(p)
		})
	}
	return rd, release, nil
}

// startOpus starts the pipe of key; b.mu is held.
func (b *Bridge) startOpus(key media.Key) (*opusPipe, error) {
	// Each pipe has its own companion key: a new pipe never meets the
	// companion of one still shutting down.
	ckey := media.Key{Vhost: key.Vhost, App: key.App, Stream: key.Stream + "#" + strconv.FormatUint(b.gen.Add(1), 10)}
	st, err := b.priv.Publish(ckey)
	if err != nil {
		return nil, err
	}
	st.SetAudioInfo(media.AudioInfo{Codec: media.CodecOpus, SampleRate: rate48, Channels: 2})
	p := &opusPipe{b: b, ckey: ckey, st: st, done: make(chan struct{})}
	p.key, p.since = key, time.Now()
	p.log = b.log.With("cid", log.NewTraceID(), "stream", key.String(), "audiobridge", DirAACToOpus)
	var ctx context.Context
	ctx, p.cancel = context.WithCancel(b.ctx)
	b.opus[key] = p
	// Subscribed here, not in run: the frames the source writes from now on
	// are all converted.
	rd := b.reg.SubscribeInternal(key, p.log)
	b.wg.Add(1)
	go p.run(ctx, rd)
	return p, nil
}

// releaseOpus drops one claim on p and arms the linger at the last one.
func (b *Bridge) releaseOpus(p *opusPipe) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.refs--
	if p.refs > 0 || p.dead {
		return
	}
	p.linger = time.AfterFunc(b.opt.Linger, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if p.refs == 0 && !p.dead {
			p.end()
		}
	})
}

// end marks p dead and stops it; b.mu is held.
func (p *opusPipe) end() {
	p.dead = true
	if p.b.opus[p.key] == p {
		delete(p.b.opus, p.key)
	}
	p.cancel()
}

// run supervises the children until ctx ends or the source's session does.
func (p *opusPipe) run(ctx context.Context, rd *media.Reader) {
	b := p.b
	defer b.wg.Done()
	defer func() {
		rd.Close()
		p.st.Unpublish()
		b.mu.Lock()
		if !p.dead {
			p.end()
		}
		b.mu.Unlock()
		p.log.Info("audiobridge: stopped", "frames_in", p.framesIn.Load(), "frames_out", p.framesOut.Load(),
			"restarts", p.restarts.Load())
		close(p.done)
	}()
	bo := backoff.Backoff{Min: b.opt.MinBackoff, Max: b.opt.MaxBackoff}
	for {
		start := time.Now()
		srcEnded, err := p.session(ctx, rd)
		if ctx.Err() != nil || srcEnded {
			return
		}
		if errors.Is(err, errConfigChanged) && time.Since(start) > 2*time.Second {
			// A new child at once; a publisher that keeps changing its
			// config gets the backoff below instead.
			p.log.Info("audiobridge: AAC configuration changed, restarting ffmpeg")
			continue
		}
		if err == nil {
			err = errors.New("ffmpeg ended")
		}
		delay := bo.Next(time.Since(start))
		p.failed(err, delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// opusArgs is the AAC (ADTS) to Ogg Opus command line. The input is not
// probed (the ADTS header says everything); the output is a page per packet,
// flushed at once (-page_duration: the Ogg muxer's default holds a second of
// packets). Measured added latency: one AAC frame (24 ms at 44.1 kHz, see
// docs/webrtc-audio.md). Not -fflags nobuffer: ffmpeg then drops the frame it
// decoded while probing, which shifts the output by a frame against the
// timeline.
func (b *Bridge) opusArgs(channels int) []string {
	args := append([]string(nil), ffmpeg.BaseArgs...)
	args = append(args, "-probesize", "32", "-analyzeduration", "0",
		"-c:a", b.decoder, "-f", "aac", "-i", "pipe:0", "-map", "0:a:0",
		"-af", "asetpts=N/SR/TB", // gapless: the timeline maps gaps
		"-c:a", b.encoder, "-b:a", kbps(b.opt.OpusBitrate), "-ar", "48000", "-ac", strconv.Itoa(channels))
	if b.encoder == "libopus" {
		args = append(args, "-application", "lowdelay", "-frame_duration", "20")
	} else {
		args = append(args, "-strict", "experimental")
	}
	return append(args, "-flush_packets", "1", "-page_duration", "20000", "-f", "ogg", "pipe:1")
}

// session runs one child. srcEnded reports that the source's publish
// session ended (the reader got io.EOF).
func (p *opusPipe) session(ctx context.Context, rd *media.Reader) (srcEnded bool, err error) {
	// The first AAC config tells the channel count of the command line.
	cfg, first, err := p.waitConfig(ctx, rd)
	if err != nil {
		return errors.Is(err, io.EOF), err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := p.b.opusArgs(min(max(cfg.Channels, 1), 2))
	proc, err := ffmpeg.Start(sctx, args, ffmpeg.Options{Path: p.b.opt.FFmpeg, Log: p.log, Stdin: true})
	if err != nil {
		first.Release()
		return false, err
	}
	p.setPID(proc.Pid())
	defer p.setPID(0)
	p.log.Info("audiobridge: ffmpeg started", "pid", proc.Pid(), "args", strings.Join(args, " "))
	tl := newTimeline()
	feedErr := make(chan error, 1)
	f := &feeder{p: p, asc: cfg, tl: tl, resume: p.lastOut, hasResume: p.hasOut}
	go func() { feedErr <- f.run(sctx, rd, proc.Stdin, first) }()
	var stalled atomic.Bool
	go p.watch(sctx, proc.Kill, &stalled)
	rerr := p.readOpus(proc.Stdout, tl)
	if rerr != nil {
		proc.Kill()
	}
	cancel()
	werr := proc.Wait()
	ferr := <-feedErr
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	switch {
	case stalled.Load():
		return false, errStalled
	case errors.Is(ferr, io.EOF):
		return true, nil // the source ended; ffmpeg flushed and exited
	case errors.Is(ferr, errConfigChanged):
		return false, ferr
	case werr != nil:
		return false, werr
	case rerr != nil:
		return false, fmt.Errorf("ffmpeg output: %w", rerr)
	case ferr != nil && !errors.Is(ferr, context.Canceled):
		return false, fmt.Errorf("ffmpeg input: %w", ferr)
	}
	return false, errors.New("ffmpeg ended")
}

// waitConfig reads up to the first AAC frame after a config, and returns the
// config and that frame (or an empty frame when the config came last).
func (p *opusPipe) waitConfig(ctx context.Context, rd *media.Reader) (aac.ASC, media.Frame, error) {
	if p.hasASC {
		return p.asc, media.Frame{}, nil // a restart
	}
	var dst [1]media.Frame
	var asc aac.ASC
	have := false
	for {
		n, err := rd.Read(ctx, dst[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return asc, media.Frame{}, err
		}
		f := dst[0]
		dst[0] = media.Frame{}
		switch {
		case f.Codec != media.CodecAAC:
			f.Release()
		case f.IsConfig():
			a, err := aac.ParseASC(f.Payload)
			f.Release()
			if err == nil {
				asc, have = a, true
			}
		case have:
			p.asc, p.hasASC = asc, true
			return asc, f, nil
		default:
			f.Release() // no config yet: ADTS cannot be written
		}
	}
}

// feeder writes a session's AAC frames to ffmpeg as ADTS.
type feeder struct {
	p         *opusPipe
	asc       aac.ASC
	tl        *timeline
	resume    time.Duration // frames up to the last Opus frame out are not fed again
	hasResume bool
	buf       []byte
}

func (f *feeder) run(ctx context.Context, rd *media.Reader, w io.WriteCloser, first media.Frame) error {
	defer w.Close() // ffmpeg flushes and exits
	f.buf = make([]byte, 0, 2048)
	if first.Payload != nil {
		if err := f.write(w, &first); err != nil {
			return err
		}
	}
	var dst [1]media.Frame
	for {
		// One frame per Read: a batch would wait for the stream's merged
		// write delay.
		n, err := rd.Read(ctx, dst[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		fr := &dst[0]
		switch {
		case fr.Codec != media.CodecAAC:
			fr.Release()
		case fr.IsConfig():
			a, err := aac.ParseASC(fr.Payload)
			fr.Release()
			if err == nil && (a.SampleRate != f.asc.SampleRate || a.Channels != f.asc.Channels ||
				a.ObjectType != f.asc.ObjectType || a.FrameLength != f.asc.FrameLength) {
				f.p.asc = a
				return errConfigChanged
			}
		default:
			if err := f.write(w, fr); err != nil {
				return err
			}
		}
	}
}

// write feeds one AAC frame and releases it.
func (f *feeder) write(w io.Writer, fr *media.Frame) error {
	if f.hasResume && fr.DTS <= f.resume {
		fr.Release()
		return nil
	}
	f.tl.in(fr.DTS, f.asc.FrameLength, f.asc.SampleRate)
	f.buf = aac.AppendADTS(f.buf[:0], f.asc, len(fr.Payload))
	f.buf = append(f.buf, fr.Payload...)
	fr.Release()
	if _, err := w.Write(f.buf); err != nil {
		return err
	}
	f.p.framesIn.Add(1)
	return nil
}

// readOpus publishes the child's Opus packets into the companion stream.
func (p *opusPipe) readOpus(r io.Reader, tl *timeline) error {
	or := ogg.NewReader(r)
	var head ogg.OpusHead
	gotHead := false
	var pos int64
	for {
		pkt, _, _, err := or.ReadPacket()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if !gotHead {
			if head, err = ogg.ParseOpusHead(pkt); err != nil {
				return err
			}
			gotHead, pos = true, -int64(head.PreSkip)
			continue
		}
		if ogg.IsOpusTags(pkt) {
			continue
		}
		n := ogg.OpusSamples(pkt)
		if n == 0 {
			continue
		}
		// The packet's first sample, less the encoder's pre-skip, is the
		// input sample it encodes.
		ts, ok := tl.at(pos)
		pos += int64(n)
		if !ok {
			continue
		}
		if p.hasOut && ts <= p.lastOut {
			if p.lastOut-ts > 3*time.Duration(n)*time.Second/rate48 {
				continue // replayed after a restart
			}
			ts = p.lastOut + time.Millisecond // a re-anchor overlapped: keep DTS rising
		}
		buf := media.GetBuf(len(pkt))
		copy(buf.Bytes(), pkt)
		fr := media.Frame{DTS: ts, PTS: ts, Codec: media.CodecOpus, SampleRate: rate48, Channels: uint8(head.Channels)}
		fr.SetBuf(buf, 0, len(pkt))
		p.st.Write(&fr)
		p.lastOut, p.hasOut = ts, true
		p.framesOut.Add(1)
	}
}
