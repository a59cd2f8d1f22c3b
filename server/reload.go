// Reload: the limits SIGHUP may change while the daemon runs, applied by the loop itself.
package server

import (
	"strconv"
	"time"
)

// Limits are the settings that can change without a restart.
type Limits struct {
	OutLimit    int
	MaxConns    int
	MaxPerIP    int
	IdleTimeout time.Duration
	LogMessages bool
}

// Reload hands new limits to the loop; safe from any goroutine. The loop
// applies them at its next wake-up, so no lock guards the hot path.
func (l *Loop) Reload(lim Limits) {
	l.reload.Store(&lim)
	l.p.Wake()
}

func (l *Loop) applyReload() {
	lim := l.reload.Swap(nil)
	if lim == nil {
		return
	}
	c := Config{OutLimit: lim.OutLimit, MaxConns: lim.MaxConns, IdleTimeout: lim.IdleTimeout}
	c.setDefaults()
	idleChanged := c.IdleTimeout != l.cfg.IdleTimeout
	l.cfg.OutLimit, l.cfg.MaxConns, l.cfg.IdleTimeout = c.OutLimit, c.MaxConns, c.IdleTimeout
	l.cfg.MaxPerIP, l.cfg.LogMessages = lim.MaxPerIP, lim.LogMessages
	l.log.Info().Str("out_limit", FormatSize(int64(l.cfg.OutLimit))).Int("max_conns", l.cfg.MaxConns).
		Int("max_per_ip", l.cfg.MaxPerIP).Stringer("idle_timeout", l.cfg.IdleTimeout).
		Bool("log_messages", l.cfg.LogMessages).Msg("limits reloaded")
	if l.native.paused && l.nconns < l.cfg.MaxConns && !l.acceptTimed {
		l.resumeAccept()
	}
	if idleChanged {
		l.idleChanged()
	}
}

// FormatSize writes a byte count as an operator would, exactly: 4194304 is "4MiB".
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
