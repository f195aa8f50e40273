// Package sdnotify tells a service manager how srs-lite is doing, through
// the sd_notify protocol of systemd (sd_notify(3), systemd.service(5)
// Type=notify): READY=1 once the listeners are up, RELOADING=1 with
// MONOTONIC_USEC while a reload runs, STOPPING=1 at shutdown, and WATCHDOG=1
// pings at half the WatchdogSec interval while the server is healthy.
//
// It is a thin wrapper over github.com/coreos/go-systemd/v22/daemon. Outside
// systemd (NOTIFY_SOCKET unset: OpenWrt procd, SysV init, a shell) every
// call does nothing.
package sdnotify

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
)

func init() { buildinfo.Register("sd_notify") }

// Notifier sends state changes to the service manager. The zero value and a
// nil *Notifier do nothing.
type Notifier struct {
	log      *slog.Logger
	enabled  bool
	watchdog time.Duration // WatchdogSec; 0: off
	send     func(state string) error
	now      func() string // the MONOTONIC_USEC=... line
}

// New reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the
// environment. Errors sending are logged once per state at debug level: a
// service manager that went away is not srs-lite's problem.
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{log: log, enabled: os.Getenv("NOTIFY_SOCKET") != "",
		send: sdNotify, now: daemon.SdNotifyMonotonicUsec}
	if !n.enabled {
		return n
	}
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("sd_notify: ignoring a bad watchdog setting", "err", err)
	}
	n.watchdog = wd
	return n
}

func sdNotify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// Enabled reports whether a service manager listens (NOTIFY_SOCKET is set).
func (n *Notifier) Enabled() bool { return n != nil && n.enabled }

// WatchdogInterval is the service's WatchdogSec (0 when off); pings go at
// half of it.
func (n *Notifier) WatchdogInterval() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

func (n *Notifier) notify(state string) {
	if !n.Enabled() {
		return
	}
	if err := n.send(state); err != nil {
		n.log.Debug("sd_notify failed", "state", firstLine(state), "err", err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Ready says that startup (or a reload) finished: the listeners are bound
// and serving. status, when not empty, is shown by `systemctl status`.
func (n *Notifier) Ready(status string) {
	n.notify(withStatus(daemon.SdNotifyReady, status))
}

// Reloading says a reload started; Ready must follow when it ends, whatever
// the outcome. systemd (253+) needs the MONOTONIC_USEC timestamp sent with
// it, in the same message (sd_notify(3) RELOADING=1).
func (n *Notifier) Reloading() {
	if !n.Enabled() {
		return
	}
	msg := daemon.SdNotifyReloading
	if ts := strings.TrimSuffix(n.now(), "\n"); ts != "" {
		msg += "\n" + ts
	}
	n.notify(msg)
}

// Stopping says shutdown started.
func (n *Notifier) Stopping() { n.notify(daemon.SdNotifyStopping) }

// Status sets the free-form status line of `systemctl status`.
func (n *Notifier) Status(status string) { n.notify("STATUS=" + oneLine(status)) }

func withStatus(state, status string) string {
	if status == "" {
		return state
	}
	return state + "\nSTATUS=" + oneLine(status)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// Watchdog pings WATCHDOG=1 at half the watchdog interval until ctx is done;
// it returns at once when the watchdog is off. healthy (nil: always healthy)
// is asked before each ping: while it returns an error no ping goes out, so
// systemd restarts a server that stays wedged for a whole interval. Run it in
// its own goroutine.
func (n *Notifier) Watchdog(ctx context.Context, healthy func() error) {
	iv := n.WatchdogInterval() / 2
	if iv <= 0 {
		return
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	var failing bool
	for {
		if healthy != nil {
			if err := healthy(); err != nil {
				if !failing {
					n.log.Warn("sd_notify: unhealthy, holding back watchdog pings", "err", err)
				}
				failing = true
			} else {
				failing = false
			}
		}
		if !failing {
			n.notify(daemon.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
