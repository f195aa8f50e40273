package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// playBatch is how many frames a player reads and writes at once.
const playBatch = 64

// wireKey is the key of a frame's cached RTMP chunks: the chunk size and
// the message stream ID, which with the frame fix every byte.
func wireKey(chunkSize int, sid uint32) uint32 { return uint32(chunkSize) | sid<<24 }

// batchWriter chunks frames into RTMP messages and writes a batch with one
// writev. The chunks of a frame are built once, with the publisher's
// timestamp, and cached on its Buf for every player with the same chunk size
// ("encode once"). A player whose time jitter gives another timestamp sends
// its own copy of the chunk headers, from per-frame scratch, with the
// payload still shared (retimeChunks). It is allocation-free once warm.
type batchWriter struct {
	chunkSize int
	key       uint32
	n         int         // frames queued
	vec       [][]byte    // the pieces of the queued frames, reused
	bufs      net.Buffers // vec while it is written
	hdrs      [playBatch][retimeScratch]byte
	priv      [playBatch]*media.Buf // chunks not cached: released after the write
	npriv     int
	pieces    [2][]byte
	hdr       [16]byte
}

func newBatchWriter(chunkSize int) *batchWriter {
	return &batchWriter{chunkSize: chunkSize, key: wireKey(chunkSize, streamID),
		vec: make([][]byte, 0, 2*playBatch)}
}

// add queues f's chunks with timestamp ts; it reports false when the batch
// is full. Frames that RTMP cannot carry are dropped.
func (w *batchWriter) add(f *media.Frame, ts uint32) bool {
	if w.n == playBatch {
		return false
	}
	b := f.Buf()
	if b != nil {
		if wire := b.Wire(media.WireRTMP, w.key); wire != nil {
			w.vec = retimeChunks(w.vec, wire, ts, w.chunkSize, w.hdrs[w.n][:])
			w.n++
			return true
		}
	}
	typ := flv.TagType(f)
	var csid uint32
	switch typ {
	case flv.TagVideo:
		csid = csidVideo
	case flv.TagAudio:
		csid = csidAudio
	case flv.TagScript:
		csid = csidOverStream
	default:
		return true
	}
	hdr := flv.AppendBodyHeader(w.hdr[:0], f)
	length := len(hdr) + len(f.Payload)
	if length > 0xFFFFFF { // a 24-bit message length, RTMP 5.3.1.2.1
		return true
	}
	h := MessageHeader{Timestamp: flv.Timestamp(f), Length: uint32(length), Type: typ, StreamID: streamID}
	wb := media.GetBuf(ChunkedLen(csid, h, w.chunkSize))
	w.pieces[0], w.pieces[1] = hdr, f.Payload
	out := AppendChunks(wb.Bytes()[:0], csid, h, w.pieces[:], w.chunkSize)
	w.pieces[0], w.pieces[1] = nil, nil
	if b != nil {
		if wire, ok := b.SetWire(media.WireRTMP, w.key, wb, len(out)); ok {
			out = wire
			wb = nil
		}
	}
	if wb != nil { // not cached: ours until written
		w.priv[w.npriv] = wb
		w.npriv++
	}
	w.vec = retimeChunks(w.vec, out, ts, w.chunkSize, w.hdrs[w.n][:])
	w.n++
	return true
}

// writeTo writes the queued chunks with one net.Buffers write (writev on a
// TCP connection) and empties the batch. On any other connection (RTMPS's
// *tls.Conn) they are gathered into TLS-record-sized Writes instead
// (writeGathered).
func (w *batchWriter) writeTo(dst io.Writer) (int64, error) {
	var n int64
	var err error
	if _, tcp := dst.(*net.TCPConn); !tcp && len(w.vec) > 1 {
		n, err = media.WriteGathered(dst, w.vec)
	} else if len(w.vec) > 0 {
		w.bufs = w.vec
		n, err = w.bufs.WriteTo(dst)
		w.bufs = nil
	}
	w.reset()
	return n, err
}

// reset drops the queued chunks.
func (w *batchWriter) reset() {
	clear(w.vec)
	w.vec = w.vec[:0]
	w.n = 0
	for i := range w.npriv {
		w.priv[i].Release()
		w.priv[i] = nil
	}
	w.npriv = 0
}

// onPlay handles play and play2, RTMP 7.2.2.1 and 7.2.2.2.
func (c *conn) onPlay(ctx context.Context, cmd Command) (action, error) {
	if c.rd != nil || c.pub != nil {
		return actNone, fmt.Errorf("%w: play while publishing or playing", ErrProtocol)
	}
	name := firstString(cmd.Args)
	if cmd.Name == "play2" && len(cmd.Args) > 0 {
		name, _ = amf0.Object(amf0.Properties(cmd.Args[0])).String("streamName")
	}
	vhost, stream, param, ok := c.streamFor(name)
	if !ok {
		c.onStatus("error", "NetStream.Play.StreamNotFound", "No stream name")
		return actNone, fmt.Errorf("%w: play without a stream name", ErrRejected)
	}
	key := media.Key{Vhost: vhost, App: c.app, Stream: stream}
	if loc := c.srv.deps.Locate; loc != nil {
		url, err := loc(ctx, key, c.host, param)
		if err != nil {
			c.onStatus("error", "NetStream.Play.StreamNotFound", "No origin has the stream")
			return actNone, fmt.Errorf("%w: play %s: %w", ErrRejected, key, err)
		}
		if url != "" {
			return actNone, c.redirect(key, url)
		}
	}
	c.sess.SetStream(key, session.Player)
	c.sess.SetParam(param)
	if _, err := c.srv.events().Play(ctx, c.sess); err != nil {
		c.sess.SetStream(media.Key{Vhost: c.vhost, App: c.app}, session.None)
		c.onStatus("error", "NetStream.Play.Failed", "Play refused")
		return actNone, fmt.Errorf("%w: play %s: %w", ErrRejected, key, err)
	}
	c.rd = c.srv.deps.Registry.Subscribe(media.Key{Vhost: vhost, App: c.app, Stream: stream}, c.log)
	c.sess.SetStreamID(c.rd.Stream().ID)
	c.log.Info("rtmp: play", "stream", key, "param", param)

	// RTMP 7.2.2.1: StreamBegin, onStatus NetStream.Play.Reset and
	// NetStream.Play.Start, then |RtmpSampleAccess and NetStream.Data.Start
	// as SRS (and FMS) send them.
	if err := c.writeUserControl(EventStreamBegin, streamID); err != nil {
		return actNone, err
	}
	if err := c.onStatus("status", "NetStream.Play.Reset", "Playing and resetting stream."); err != nil {
		return actNone, err
	}
	if err := c.onStatus("status", "NetStream.Play.Start", "Started playing stream."); err != nil {
		return actNone, err
	}
	if err := c.writeData("|RtmpSampleAccess", false, false); err != nil {
		return actNone, err
	}
	if err := c.writeData("onStatus", amf0.Object{{Key: "code", Value: "NetStream.Data.Start"}}); err != nil {
		return actNone, err
	}
	return actPlay, nil
}

// onPause handles pause, RTMP 7.2.2.8: pausing stops the media, resuming
// starts again from the live edge at the next keyframe.
func (c *conn) onPause(cmd Command) error {
	if c.rd == nil {
		return nil
	}
	pause, _ := firstValue(cmd.Args).(bool)
	if pause {
		c.paused.Store(true)
		return c.onStatus("status", "NetStream.Pause.Notify", "Paused stream.")
	}
	if !c.paused.Load() {
		return nil
	}
	c.resume.Store(true)
	c.paused.Store(false)
	return c.onStatus("status", "NetStream.Unpause.Notify", "Unpaused stream.")
}

func firstValue(args []any) any {
	if len(args) > 0 {
		return args[0]
	}
	return nil
}

// setStop records why the helper ended the play, first reason wins.
func (c *conn) setStop(err error) {
	c.stopMu.Lock()
	if c.stopErr == nil {
		c.stopErr = err
	}
	c.stopMu.Unlock()
}

// play runs a play session: a helper goroutine reads the player's
// messages (acks, pings, pause, closeStream) while this one writes media.
func (c *conn) play(ctx context.Context) error {
	c.nc.SetReadDeadline(time.Time{}) // players may stay silent
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		for {
			m, err := c.readMessage()
			if err != nil {
				c.setStop(c.readError(err))
				return
			}
			if _, err := c.handle(pctx, &m); err != nil {
				c.setStop(err)
				return
			}
		}
	}()
	err := c.playLoop(pctx)
	stoppedByPeer := pctx.Err() != nil && ctx.Err() == nil
	cancel()
	c.nc.Close() // ends the helper's read
	wg.Wait()
	if stoppedByPeer {
		c.stopMu.Lock()
		if c.stopErr != nil {
			err = c.stopErr
		}
		c.stopMu.Unlock()
	}
	return err
}

// playLoop reads batches of frames from the ring and writes each with one
// writev until the stream ends, the player goes away or ctx is done.
func (c *conn) playLoop(ctx context.Context) error {
	rd := c.rd
	w := newBatchWriter(c.cw.ChunkSize())
	jit := flv.NewJitter(rd.Stream().Options().TimeJitter)
	var batch [playBatch]media.Frame
	needKey := false
	for {
		n, err := rd.Read(ctx, batch[:])
		if n > 0 {
			if c.resume.Swap(false) {
				needKey = rd.Stream().Stats().HasVideo
			}
			if !c.paused.Load() {
				for i := range batch[:n] {
					f := &batch[i]
					if needKey && f.Codec.IsVideo() && f.Flags&(media.FlagKey|media.FlagConfig) == 0 {
						continue
					}
					if needKey && !f.Codec.IsVideo() && f.Codec != media.CodecData {
						continue // audio waits for the keyframe too
					}
					if f.IsKey() {
						needKey = false
					}
					w.add(f, jit.Timestamp(f, batch[i+1:n]))
				}
				c.wmu.Lock()
				c.setWriteDeadline()
				nw, werr := w.writeTo(c.nc)
				c.wmu.Unlock()
				c.sess.BytesOut.Add(uint64(nw))
				if werr != nil {
					releaseFrames(batch[:n])
					return fmt.Errorf("rtmp: play write: %w", werr)
				}
			}
			releaseFrames(batch[:n])
		}
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				// The publisher left: NetStream.Play.UnpublishNotify, as SRS.
				c.writeUserControl(EventStreamEOF, streamID)
				c.onStatus("status", "NetStream.Play.UnpublishNotify", "The stream is unpublished.")
				return errUnpublished
			case errors.Is(err, media.ErrSlowReader):
				c.log.Warn("rtmp: player too slow, closing", "dropped", rd.Dropped())
			}
			return fmt.Errorf("rtmp: play: %w", err)
		}
	}
}

func releaseFrames(fs []media.Frame) {
	for i := range fs {
		fs[i].Release()
	}
}
