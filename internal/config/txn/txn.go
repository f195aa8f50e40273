// Package txn applies a new config as a transaction, whatever brings it: a
// PUT /api/v1/config body, a file dropped in place followed by a reload
// (SIGHUP), or a file pulled from a URL. Each one is
//
//  1. checked (parsed and validated: nothing is touched when it fails),
//  2. written atomically over the config file (temporary file, fsync,
//     rename, fsync of the folder),
//  3. applied through the server's reload,
//  4. held to a self-check that must pass within a grace period,
//  5. kept as FILE.last-good once it passed.
//
// When step 3 or 4 fails, or a dropped-in file fails step 1, the last good
// config is written back and applied again (file and running state), and
// the refused one is kept as FILE.rejected. Every step is logged.
//
// The package knows nothing of the config's schema: the server passes its
// parse, reload and self-check as functions. It imports only
// internal/config, for its atomic file writes.
package txn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
)

// Suffixes of the files kept beside the config file.
const (
	LastGoodSuffix = ".last-good" // the last config that applied and passed the self-check
	RejectedSuffix = ".rejected"  // the last config that was refused or rolled back
)

// MaxSize bounds a config: the size the config parser accepts.
const MaxSize = 1 << 20

// Errors of Put, Reload and Pull.
var (
	// ErrBusy is returned by Put while another config is being applied.
	ErrBusy = errors.New("ota: another config change is in progress")
	// ErrNoFile is returned by Put when the server runs without a config
	// file (the embedded defaults): there is nothing to write.
	ErrNoFile = errors.New("ota: the server runs on its embedded defaults (no -c FILE): there is no config file to replace")
	// ErrRolledBack is matched (errors.Is) by a *RollbackError.
	ErrRolledBack = errors.New("ota: rolled back")
)

// RollbackError reports a config that was written but failed to apply or
// left the server unhealthy, and was rolled back.
type RollbackError struct {
	Stage string // "apply" or "health" (or "check" for a file dropped in place)
	Err   error  // why
	// Rollback is what went wrong while rolling back, if anything: then the
	// running state may not be the last good config.
	Rollback error
}

func (e *RollbackError) Error() string {
	s := fmt.Sprintf("ota: new config failed at %s: %v; rolled back to the last good config", e.Stage, e.Err)
	if e.Rollback != nil {
		s += fmt.Sprintf(" (rollback: %v)", e.Rollback)
	}
	return s
}

// Unwrap returns the cause.
func (e *RollbackError) Unwrap() error { return e.Err }

// Is reports whether target is ErrRolledBack.
func (e *RollbackError) Is(target error) bool { return target == ErrRolledBack }

// Deps are the server's parts a Manager drives.
type Deps struct {
	// Path is the config file; empty: the server runs on embedded defaults.
	Path string
	// Check parses and validates a candidate config without applying it.
	Check func(data []byte) error
	// Apply makes the server run the config file at Path (its reload). On
	// error the server must keep running what it ran.
	Apply func() error
	// Healthy is the server's self-check.
	Healthy func(ctx context.Context) error
	// Grace is how long the server has to become healthy after an apply; it
	// is read after the apply, so that a new config's own value counts.
	Grace func() time.Duration
	Log   *slog.Logger // nil: discard
}

// Manager runs config transactions one at a time.
type Manager struct {
	d   Deps
	log *slog.Logger

	sem  chan struct{} // held by the transaction running (cap 1)
	mu   sync.Mutex    // guards writes of good, and Good
	good []byte        // the last good config; nil until known; written with sem held

	pullMu  sync.Mutex
	etag    string // of the last pulled response
	etagURL string
	lastBad string // sha256 of the last pulled config that was refused
}

// New returns a Manager. Check, Apply and Healthy are required.
func New(d Deps) (*Manager, error) {
	if d.Check == nil || d.Apply == nil || d.Healthy == nil {
		return nil, errors.New("ota: Check, Apply and Healthy are required")
	}
	if d.Grace == nil {
		d.Grace = func() time.Duration { return 10 * time.Second }
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Manager{d: d, log: d.Log, sem: make(chan struct{}, 1)}, nil
}

// sum is the short digest that names a config in the log.
func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:6])
}

// Start runs once the server serves: it takes the config file as the
// baseline and, once the server passes its self-check, keeps it as
// FILE.last-good. A server that does not pass keeps the previous
// FILE.last-good as what a rollback restores. Changes may run meanwhile:
// the first one sets the baseline itself.
func (m *Manager) Start(ctx context.Context) error {
	if m.d.Path == "" {
		return nil
	}
	data, err := readFile(m.d.Path)
	if err != nil {
		return fmt.Errorf("ota: %w", err)
	}
	herr := m.waitHealthy(ctx, false)
	if err := m.acquire(ctx, 0); err != nil {
		return err
	}
	defer m.release()
	if m.good != nil {
		return nil // a change ran meanwhile and knew the baseline
	}
	if herr != nil {
		m.log.Warn("ota: the config the server started with is not healthy; a rollback restores the previous last good one",
			"file", m.d.Path, "err", herr)
		if prev, perr := readFile(m.d.Path + LastGoodSuffix); perr == nil {
			m.setGood(prev)
		} else {
			m.setGood(data)
		}
		return herr
	}
	m.commit(data, "start")
	return nil
}

// baseline makes sure m.good is known when Start has not run yet: the
// FILE.last-good of an earlier run, else (current set: the file on disk is
// still the one running) the config file when it passes its check.
func (m *Manager) baseline(current bool) {
	if m.good != nil || m.d.Path == "" {
		return
	}
	if data, err := readFile(m.d.Path + LastGoodSuffix); err == nil {
		m.setGood(data)
		return
	}
	if !current {
		return
	}
	if data, err := readFile(m.d.Path); err == nil && m.d.Check(data) == nil {
		m.setGood(data)
	}
}

// commit records data as the last good config.
func (m *Manager) commit(data []byte, origin string) {
	m.setGood(bytes.Clone(data))
	lg := m.d.Path + LastGoodSuffix
	if old, err := readFile(lg); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := config.WriteFileAtomic(lg, data); err != nil {
		m.log.Error("ota: cannot keep the last good config", "file", lg, "err", err)
		return
	}
	m.log.Info("ota: config kept as the last good one", "origin", origin, "file", lg, "sha256", sum(data))
}

// Put applies data as the new config file; origin (a remote address, a URL)
// goes into the log. A config that fails its check changes nothing and
// returns the check's error. One that fails to apply, or leaves the server
// unhealthy, is rolled back: a *RollbackError.
func (m *Manager) Put(ctx context.Context, data []byte, origin string) error {
	if err := m.acquire(ctx, busyWait); err != nil {
		return err
	}
	defer m.release()
	log := m.log.With("origin", origin, "sha256", sum(data), "bytes", len(data))
	if m.d.Path == "" {
		log.Warn("ota: new config refused", "err", ErrNoFile)
		return ErrNoFile
	}
	if len(data) > MaxSize {
		err := fmt.Errorf("ota: config larger than %d bytes", MaxSize)
		log.Warn("ota: new config refused", "err", err)
		return err
	}
	log.Info("ota: new config: checking")
	if err := m.d.Check(data); err != nil {
		log.Warn("ota: new config refused: nothing changed", "err", err)
		return err
	}
	m.baseline(true)
	if err := config.WriteFileAtomic(m.d.Path, data); err != nil {
		log.Error("ota: new config not written: nothing changed", "file", m.d.Path, "err", err)
		return fmt.Errorf("ota: write %s: %w", m.d.Path, err)
	}
	log.Info("ota: new config written; applying", "file", m.d.Path)
	return m.apply(ctx, log, data, origin)
}

// apply runs steps 3 to 5 for data, which is in place at Path.
func (m *Manager) apply(ctx context.Context, log *slog.Logger, data []byte, origin string) error {
	if err := m.d.Apply(); err != nil {
		return m.rollback(log, data, "apply", err)
	}
	log.Info("ota: new config applied; checking health", "grace", m.d.Grace().String())
	if err := m.waitHealthy(ctx, true); err != nil {
		return m.rollback(log, data, "health", err)
	}
	log.Info("ota: new config healthy")
	m.commit(data, origin)
	return nil
}

// Reload applies the config file as it is now on disk (dropped in place,
// then SIGHUP): checked, applied and held to the self-check; a file that
// fails any of them is replaced by the last good config.
func (m *Manager) Reload(ctx context.Context, origin string) error {
	if err := m.acquire(ctx, 0); err != nil {
		return err
	}
	defer m.release()
	if m.d.Path == "" {
		return m.d.Apply()
	}
	data, err := readFile(m.d.Path)
	if err != nil {
		m.log.Error("reload failed, keeping the running config", "origin", origin, "err", err)
		return fmt.Errorf("ota: %w", err)
	}
	log := m.log.With("origin", origin, "sha256", sum(data), "bytes", len(data))
	m.baseline(false)
	log.Info("ota: reloading the config file", "file", m.d.Path)
	if err := m.d.Check(data); err != nil {
		return m.rollback(log, data, "check", err)
	}
	return m.apply(ctx, log, data, origin)
}

// rollback keeps the refused config as FILE.rejected and puts the last good
// one back, on disk and (unless it never left) in the running server.
func (m *Manager) rollback(log *slog.Logger, bad []byte, stage string, cause error) error {
	e := &RollbackError{Stage: stage, Err: cause}
	rej := m.d.Path + RejectedSuffix
	if err := config.WriteFileAtomic(rej, bad); err != nil {
		log.Warn("ota: cannot keep the refused config", "file", rej, "err", err)
	}
	if m.good == nil {
		e.Rollback = errors.New("no last good config to restore: the refused one stays in place")
		log.Error("reload failed: nothing to roll back to", "stage", stage, "err", cause)
		return e
	}
	if err := config.WriteFileAtomic(m.d.Path, m.good); err != nil {
		e.Rollback = fmt.Errorf("write %s: %w", m.d.Path, err)
		log.Error("reload failed, and the last good config could not be written back", "stage", stage, "err", cause, "rollback", err)
		return e
	}
	if stage != "check" { // a config that failed its check never ran
		if err := m.d.Apply(); err != nil {
			e.Rollback = fmt.Errorf("re-apply: %w", err)
			log.Error("reload failed, and re-applying the last good config failed", "stage", stage, "err", cause, "rollback", err)
			return e
		}
	}
	log.Error("reload failed, rolled back to the last good config", "stage", stage, "err", cause,
		"file", m.d.Path, "rejected", rej, "good_sha256", sum(m.good))
	return e
}

// waitHealthy polls the self-check until it passes or the grace period
// ends. With detach, a cancelled ctx (a client gone) does not cut the grace
// period short.
func (m *Manager) waitHealthy(ctx context.Context, detach bool) error {
	grace := m.d.Grace()
	if detach {
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(ctx, min(grace, 2*time.Second))
		err := m.d.Healthy(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("not healthy within %s: %w", grace, err)
		case <-t.C:
		}
	}
}

// busyWait is how long Put waits for a transaction in progress to end
// before it answers ErrBusy (a variable for tests).
var busyWait = 2 * time.Second

// acquire takes the transaction lock, waiting at most wait (0: as long as
// ctx lasts).
func (m *Manager) acquire(ctx context.Context, wait time.Duration) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	default:
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-timeout:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) release() { <-m.sem }

// setGood sets the last good config; the caller holds the transaction lock
// (which makes reading m.good safe without mu).
func (m *Manager) setGood(b []byte) {
	m.mu.Lock()
	m.good = b
	m.mu.Unlock()
}

// Good returns the last good config, or nil when not known yet.
func (m *Manager) Good() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.good)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxSize)
	}
	return data, nil
}
