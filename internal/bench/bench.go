// Package bench is srs-lite's built-in load generator and bandwidth test:
// `srs-lite bench play -n N -d DURATION URL` opens N players against one
// stream and measures what they receive.
//
// The measurement is protocol-agnostic: a Player delivers FLV tags (an
// HTTP-FLV body's tags, or RTMP audio/video/data messages, whose payloads are
// FLV tag bodies) and bench counts bytes, frames, the time to the first video
// frame and stalls from them. HTTP-FLV is built in (NewHTTPPlayer); other
// schemes are plugged in by the caller of NewMain, so this package imports no
// protocol package.
//
// It is built to drive thousands of players from one core: one goroutine per
// player, per-player atomic counters summed by a single ticker goroutine once
// a second, and no allocation per tag.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// Errors returned by Run and the players.
var (
	// ErrScheme reports a URL whose scheme has no player.
	ErrScheme = errors.New("bench: unsupported url scheme")
	// ErrStatus reports an HTTP response other than 200 OK.
	ErrStatus = errors.New("bench: http status")
	// ErrEnded reports a stream that ended before the test did.
	ErrEnded = errors.New("bench: stream ended")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("bench: invalid config")
)

// Player plays url until ctx is done or the stream ends, calling onTag for
// every FLV tag (or RTMP audio, video and data message) it receives: typ is
// the FLV tag type (flv.TagAudio, flv.TagVideo, flv.TagScript), ts the
// timestamp in milliseconds and body the tag body, valid only during the
// call. onTag must be called from one goroutine at a time and does not
// block. A Player returns an error when it cannot connect or the stream
// fails, io.EOF (or nil) when the stream ends, and anything once ctx is done.
type Player func(ctx context.Context, url string, onTag func(typ uint8, ts uint32, body []byte)) error

// Tunables of the measurement.
const (
	// StallGap is the default time without a frame that counts as one
	// stall (Config.StallGap). Once a player has received a video frame,
	// only video frames count: audio flowing on does not hide a frozen
	// picture.
	StallGap = 2 * time.Second
	// MaxInFlight bounds the players connecting at once when Config.Ramp is 0.
	MaxInFlight = 50
	// maxErrors is the number of distinct error messages kept.
	maxErrors = 5
	// connectWait frees a player's in-flight slot when it has received no
	// tag after this long, so a stuck server does not stall the launcher.
	connectWait = 10 * time.Second
	// tagOverhead is the FLV framing around each tag body: the tag header
	// and the PreviousTagSize (FLV spec E.3, E.4.1).
	tagOverhead = flv.TagHeaderSize + 4
)

// Config describes one bench run.
type Config struct {
	// URL is the stream every player plays.
	URL string
	// Players is the number of players, at least 1.
	Players int
	// Duration is the length of the run, counted from its start (ramp
	// included).
	Duration time.Duration
	// Ramp spreads the connects evenly over this time; 0 connects as fast
	// as possible with at most MaxInFlight connects in flight.
	Ramp time.Duration
	// Progress receives a live progress line; nil disables it.
	Progress io.Writer
	// StallGap is the time without a frame that counts as one stall; 0
	// means StallGap.
	StallGap time.Duration
	// Terminal makes the progress line a single line rewritten with '\r'
	// once a second; otherwise a plain line is written every 5 seconds.
	Terminal bool
}

// TTFF holds time-to-first-video-frame statistics in milliseconds.
type TTFF struct {
	P50   int64 `json:"p50"`
	P95   int64 `json:"p95"`
	Max   int64 `json:"max"`
	Count int   `json:"count"` // players that received a video frame
}

// Result holds the numbers of a run; its JSON form is what `bench play
// -json` prints.
type Result struct {
	Players   int `json:"players"`   // players requested
	Connected int `json:"connected"` // players that received at least one tag
	Failed    int `json:"failed"`    // players whose stream ended or failed before the run did
	// Bytes counts the FLV bytes received: each tag's header, body and
	// PreviousTagSize, whatever the protocol carrying it.
	Bytes         int64   `json:"bytes"`
	BitrateKbps   float64 `json:"bitrate_kbps"`    // Bytes over the run's length
	PerPlayerKbps float64 `json:"per_player_kbps"` // BitrateKbps per connected player
	// Frames counts the audio and video frames received (sequence headers
	// and tags without a frame excluded).
	Frames int64 `json:"frames"`
	// TTFF is measured from the start of a player's connect to its first
	// video frame that is not a sequence header.
	TTFF TTFF `json:"ttff_ms"`
	// Stalls counts, over all players, the gaps of more than StallGap
	// without a frame after the first one.
	Stalls     int64    `json:"stalls"`
	Errors     []string `json:"errors"` // the first few distinct error messages
	DurationMs int64    `json:"duration_ms"`
	// CPUPercent is the CPU time the bench process itself used over the
	// run, in % of one core, out of CPUs cores (GOMAXPROCS): a bench at
	// its limit connects fewer players than the server could take.
	CPUPercent float64 `json:"cpu_percent"`
	CPUs       int     `json:"cpus"`
}

// BenchBound reports whether players are missing while the bench used
// 90% or more of the CPU it may use: then the bench, not the server, may
// be what held them back.
func (r *Result) BenchBound() bool {
	return r.Connected < r.Players && r.CPUs > 0 && r.CPUPercent >= 90*float64(r.CPUs)
}

// OK reports whether every player connected and none failed.
func (r *Result) OK() bool {
	return r.Connected == r.Players && r.Failed == 0
}

// player is the state of one player. The player's goroutine writes it; the
// ticker reads it and counts stalls. It is padded to its own cache lines so
// that players do not contend.
type player struct {
	bytes     atomic.Int64
	frames    atomic.Int64
	last      atomic.Int64 // time of the last frame, ns since the run start; 0 before the first
	stallMark atomic.Int64 // the last value of last whose gap was counted as a stall
	stalls    atomic.Int64
	ttff      atomic.Int64 // ns, 0 until the first video frame
	connected atomic.Bool
	failed    atomic.Bool
	inFlight  atomic.Bool // holds a slot of run.sem

	begin     int64 // connect start, ns since the run start; owned by the player goroutine
	seen      bool  // a tag was received; owned by the player goroutine
	seenVideo bool  // a video frame was received; owned by the player goroutine
	_         [64]byte
}

// run is one bench run.
type run struct {
	cfg     Config
	gap     time.Duration // stall gap
	play    Player
	start   time.Time
	ctx     context.Context
	sem     chan struct{}
	players []player

	mu     sync.Mutex
	errors []string
}

// Run runs the bench described by c, playing with p, until c.Duration has
// passed, ctx is done or every player has ended, and returns the result.
// It returns an error only for an invalid Config.
func Run(ctx context.Context, c Config, p Player) (Result, error) {
	if c.Players < 1 || c.Duration <= 0 || c.Ramp < 0 || c.URL == "" || p == nil {
		return Result{}, fmt.Errorf("bench: %d players for %v, ramp %v: %w", c.Players, c.Duration, c.Ramp, ErrConfig)
	}
	r := &run{cfg: c, gap: c.StallGap, play: p, start: time.Now(), players: make([]player, c.Players)}
	cpu0 := processCPU()
	if r.gap <= 0 {
		r.gap = StallGap
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	r.ctx = ctx
	if c.Ramp == 0 {
		r.sem = make(chan struct{}, MaxInFlight)
	}

	var wg sync.WaitGroup
	allEnded := make(chan struct{})
	go func() {
		r.launch(&wg)
		wg.Wait()
		close(allEnded)
	}()

	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		r.tick(ctx, allEnded)
	}()

	select {
	case <-ctx.Done():
	case <-allEnded:
	}
	stop := r.now()
	cancel()
	<-allEnded
	<-tickDone
	// Gaps still open when the run stopped count too.
	for i := range r.players {
		r.checkStall(&r.players[i], stop)
	}
	res := r.result(stop, nil)
	if wall := time.Since(r.start); wall > 0 {
		res.CPUPercent = 100 * float64(processCPU()-cpu0) / float64(wall)
	}
	res.CPUs = runtime.GOMAXPROCS(0)
	if c.Progress != nil {
		r.printProgress(&res, stop, 0, 0)
		if c.Terminal {
			fmt.Fprintln(c.Progress)
		}
	}
	return res, nil
}

// launch starts the players, spread over the ramp or bounded by the
// in-flight semaphore, until all are started or the run is over.
func (r *run) launch(wg *sync.WaitGroup) {
	n := len(r.players)
	for i := range n {
		if r.sem != nil {
			select {
			case r.sem <- struct{}{}:
			case <-r.ctx.Done():
				return
			}
			r.players[i].inFlight.Store(true)
		} else if at := time.Duration(int64(r.cfg.Ramp) * int64(i) / int64(n)); at > 0 {
			if d := time.Until(r.start.Add(at)); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-r.ctx.Done():
					t.Stop()
					return
				}
			}
		}
		if r.ctx.Err() != nil {
			r.release(&r.players[i])
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runPlayer(&r.players[i])
		}()
	}
}

// runPlayer runs one player to its end.
func (r *run) runPlayer(p *player) {
	p.begin = r.now()
	var t *time.Timer
	if p.inFlight.Load() {
		t = time.AfterFunc(connectWait, func() { r.release(p) })
	}
	err := r.play(r.ctx, r.cfg.URL, func(typ uint8, ts uint32, body []byte) {
		r.onTag(p, typ, body)
	})
	if t != nil {
		t.Stop()
	}
	r.release(p)
	if r.ctx.Err() != nil {
		return // the run is over: however the player ended, it did not fail
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = ErrEnded
	}
	p.failed.Store(true)
	r.addError(err)
}

// release frees p's in-flight slot, once.
func (r *run) release(p *player) {
	if p.inFlight.CompareAndSwap(true, false) {
		<-r.sem
	}
}

// onTag measures one tag. It runs on the player's goroutine and does not
// allocate.
func (r *run) onTag(p *player, typ uint8, body []byte) {
	p.bytes.Add(int64(len(body) + tagOverhead))
	if !p.seen {
		p.seen = true
		p.connected.Store(true)
		r.release(p)
	}
	video := false
	switch typ {
	case flv.TagVideo:
		if !isVideoFrame(body) {
			return
		}
		video = true
	case flv.TagAudio:
		if !isAudioFrame(body) {
			return
		}
	default:
		return
	}
	now := r.now()
	p.frames.Add(1)
	if video && !p.seenVideo {
		p.seenVideo = true
		p.ttff.Store(max(now-p.begin, 1))
	}
	if !video && p.seenVideo {
		return // the stall clock follows the video
	}
	if prev := p.last.Swap(now); prev != 0 && time.Duration(now-prev) > r.gap {
		p.countStall(prev)
	}
}

// countStall counts the gap that started at the frame time last, once:
// the player (when the next frame comes) and the ticker (while it lasts)
// may both see it.
func (p *player) countStall(last int64) {
	if p.stallMark.Swap(last) != last {
		p.stalls.Add(1)
	}
}

// checkStall counts p's current gap if it is longer than StallGap at now.
func (r *run) checkStall(p *player, now int64) {
	if p.failed.Load() {
		return
	}
	if last := p.last.Load(); last != 0 && time.Duration(now-last) > r.gap {
		p.countStall(last)
	}
}

// isVideoFrame reports whether an FLV video tag body carries a coded frame:
// not a sequence header, end of sequence or command. Bodies of codecs
// flv does not parse count as frames.
func isVideoFrame(body []byte) bool {
	v, err := flv.ParseVideo(body)
	if err != nil {
		return !errors.Is(err, flv.ErrSkip)
	}
	return !v.Config && !v.EndOfSequence
}

// isAudioFrame reports whether an FLV audio tag body carries a coded frame
// (not a sequence header).
func isAudioFrame(body []byte) bool {
	a, err := flv.ParseAudio(body)
	if err != nil {
		return !errors.Is(err, flv.ErrSkip)
	}
	return !a.Config
}

// now returns the time since the run start in nanoseconds, at least 1 so
// that 0 can mean "never".
func (r *run) now() int64 {
	return max(int64(time.Since(r.start)), 1)
}

// addError records err's message if it is one of the first distinct ones.
func (r *run) addError(err error) {
	msg := err.Error()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errors) < maxErrors && !slices.Contains(r.errors, msg) {
		r.errors = append(r.errors, msg)
	}
}

// tick samples the players once a second, counting ongoing stalls and
// printing the progress line, until ctx is done or all players ended.
func (r *run) tick(ctx context.Context, allEnded <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	ttff := make([]int64, 0, len(r.players))
	var lastBytes, lastAt int64
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-allEnded:
			return
		case <-t.C:
		}
		now := r.now()
		for i := range r.players {
			r.checkStall(&r.players[i], now)
		}
		if r.cfg.Progress == nil || (!r.cfg.Terminal && n%5 != 0) {
			continue
		}
		res := r.result(now, ttff[:0])
		r.printProgress(&res, now, res.Bytes-lastBytes, now-lastAt)
		lastBytes, lastAt = res.Bytes, now
	}
}

// result sums the players at time now (ns since the start). ttff is
// scratch space for the percentiles.
func (r *run) result(now int64, ttff []int64) Result {
	res := Result{Players: len(r.players), DurationMs: now / int64(time.Millisecond)}
	for i := range r.players {
		p := &r.players[i]
		if p.connected.Load() {
			res.Connected++
		}
		if p.failed.Load() {
			res.Failed++
		}
		res.Bytes += p.bytes.Load()
		res.Frames += p.frames.Load()
		res.Stalls += p.stalls.Load()
		if v := p.ttff.Load(); v != 0 {
			ttff = append(ttff, v)
		}
	}
	if secs := time.Duration(now).Seconds(); secs > 0 {
		res.BitrateKbps = float64(res.Bytes) * 8 / 1000 / secs
	}
	if res.Connected > 0 {
		res.PerPlayerKbps = res.BitrateKbps / float64(res.Connected)
	}
	res.TTFF = percentiles(ttff)
	r.mu.Lock()
	res.Errors = append([]string{}, r.errors...)
	r.mu.Unlock()
	return res
}

// percentiles returns the nearest-rank p50, p95 and max of v (ns) in ms,
// sorting v in place.
func percentiles(v []int64) TTFF {
	t := TTFF{Count: len(v)}
	if len(v) == 0 {
		return t
	}
	slices.Sort(v)
	rank := func(pct int) int64 {
		i := (len(v)*pct + 99) / 100 // ceil(n*pct/100), 1-based
		return v[max(i-1, 0)] / int64(time.Millisecond)
	}
	t.P50, t.P95, t.Max = rank(50), rank(95), v[len(v)-1]/int64(time.Millisecond)
	return t
}

// printProgress writes one progress line. With interval 0 the bitrate is the
// run's average.
func (r *run) printProgress(res *Result, now, bytes, interval int64) {
	active := 0
	for i := range r.players {
		if p := &r.players[i]; p.connected.Load() && !p.failed.Load() {
			active++
		}
	}
	kbps := res.BitrateKbps
	if interval > 0 {
		kbps = float64(bytes) * 8 / 1000 / time.Duration(interval).Seconds()
	}
	per := 0.0
	if active > 0 {
		per = kbps / float64(active)
	}
	var b strings.Builder
	if r.cfg.Terminal {
		b.WriteByte('\r')
	}
	fmt.Fprintf(&b, "%5.0fs  %d/%d connected, %d failed, %d active | %.2f Mbps (%.0f kbps/player) | %d frames | ttff p50 %d p95 %d max %d ms | %d stalls",
		time.Duration(now).Seconds(), res.Connected, res.Players, res.Failed, active,
		kbps/1000, per, res.Frames, res.TTFF.P50, res.TTFF.P95, res.TTFF.Max, res.Stalls)
	if r.cfg.Terminal {
		b.WriteString("\x1b[K") // erase the rest of the previous line
	} else {
		b.WriteByte('\n')
	}
	io.WriteString(r.cfg.Progress, b.String())
}

// PlayerFor returns the player for rawURL's scheme: players[scheme], or the
// built-in HTTP-FLV player sized for conns connections for http and https.
func PlayerFor(rawURL string, conns int, players map[string]Player) (Player, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if p := players[scheme]; p != nil {
		return p, nil
	}
	// A WHEP endpoint over http(s): SRS's /rtc/v1/whep/ or any path
	// ending in /whep (MediaMTX, pion's examples).
	if p := players["whep"]; p != nil && (scheme == "http" || scheme == "https") &&
		(strings.Contains(u.Path, "/rtc/v1/whep") || strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/whep")) {
		return p, nil
	}
	if (scheme == "http" || scheme == "https") && strings.HasSuffix(u.Path, ".m3u8") {
		return NewHLSPlayer(conns), nil
	}
	if scheme == "http" || scheme == "https" {
		return NewHTTPPlayer(conns), nil
	}
	return nil, fmt.Errorf("bench: %q: %w", u.Scheme, ErrScheme)
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
