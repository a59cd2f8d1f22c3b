// The loop's deadlines by hand: activity defers them without touching the heap, pings come at half the idle timeout, closes free their timer.
package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// until is how far the loop's nearest deadline lies from l.now.
func until(l *Loop) time.Duration { return l.timers.Until(time.Unix(0, l.now)) }

// advance moves the loop's clock to t0+d and runs what one iteration does
// after its events: the due timers, then the flush and the reaping.
func advance(l *Loop, t0 int64, d time.Duration) {
	l.now = t0 + int64(d)
	l.expire()
	l.beforeSleep()
}

func TestIdleDeadlineDeferredByActivityWithoutHeapWork(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}, AuthTimeout: time.Second, IdleTimeout: time.Minute})
	l.stopTimer(l.tickTimer) // only the connection's deadline is left to look at
	t0 := l.now
	p := attachLineChat(t, l)
	p.send("talker\n")
	assert.Equal(t, time.Second, until(l), "armed for the auth deadline first")
	q := attachLineChat(t, l)
	assert.Equal(t, 2, l.timers.Len(), "one deadline per connection")
	l.closeConn(q.c, ReasonPeerClosed, nil)
	assert.Equal(t, 1, l.timers.Len(), "a close cancels its deadline")

	advance(l, t0, 2*time.Second)
	require.False(t, p.c.closed || p.c.dying)
	assert.Equal(t, 58*time.Second, until(l), "named: the idle deadline, from its last read at t0")

	l.now = t0 + int64(50*time.Second)
	p.send("hello\n")
	assert.Equal(t, 10*time.Second, until(l), "a read moves no timer: the deadline stays at t0+60s")

	advance(l, t0, time.Minute)
	assert.False(t, p.c.closed || p.c.dying, "the deadline passed, but the connection spoke 10s ago")
	assert.Equal(t, 50*time.Second, until(l), "re-armed from the last read: t0+110s")

	advance(l, t0, 110*time.Second-1)
	assert.False(t, p.c.closed || p.c.dying, "1ns early")
	advance(l, t0, 110*time.Second)
	assert.True(t, p.c.closed)
	assert.Equal(t, ReasonIdle, p.c.reason)
	assert.Contains(t, p.recv(), lineChatIdle)
	assert.Zero(t, l.timers.Len(), "a closed connection leaves no timer behind")
}

func TestNativePingAtHalfIdleThenClose(t *testing.T) {
	l, _ := plainLoop(t, Config{IdleTimeout: time.Minute})
	l.stopTimer(l.tickTimer)
	provision(t, l, "pinged", 1<<20)
	pad, err := otp.OpenPad(bundle.Path(BundleDir(l.cfg.DataDir, "pinged"), bundle.SendPad))
	require.NoError(t, err)
	snd, err := otp.OpenSender(pad, pad.Path()+bundle.StateSuffix, otp.SenderOptions{NoLock: true})
	require.NoError(t, err)
	t.Cleanup(func() { snd.Close() })
	t0 := l.now
	n := attachNative(t, l, snd)
	n.p.send(string(n.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("t")}))))
	h := n.p.c.h.(*native)
	require.NotNil(t, h.user, "authenticated")
	n.p.recv()

	advance(l, t0, 30*time.Second-1)
	assert.False(t, h.pinged)
	assert.Empty(t, n.p.recv())
	advance(l, t0, 30*time.Second)
	assert.True(t, h.pinged, "silent for half the idle timeout: pinged")
	assert.NotEmpty(t, n.p.recv(), "the ping frame")
	assert.Equal(t, padIdle, until(l), "next: the sealed ping's pad pages cool")
	advance(l, t0, 30*time.Second+padIdle)
	// The ping reopened pads parked since t0+padIdle, 30 s after their last
	// use: they stay open twice as long before they close (Hub.opened).
	assert.Equal(t, padIdle, until(l), "next: the pads close, at 2*padIdle")
	advance(l, t0, 30*time.Second+2*padIdle)
	assert.Equal(t, 30*time.Second-2*padIdle, until(l), "next: the close at t0+60s")

	// The pong (any frame) at t0+40s defers the close without a timer operation.
	l.now = t0 + int64(40*time.Second)
	n.p.send(string(n.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpPing}))))
	n.p.recv()
	advance(l, t0, time.Minute)
	require.False(t, n.p.c.closed || n.p.c.dying, "it answered")
	assert.False(t, h.pinged, "ready to ping again")
	assert.Equal(t, 10*time.Second, until(l), "the next ping: t0+40s+30s")

	advance(l, t0, 70*time.Second)
	assert.True(t, h.pinged)
	assert.NotEmpty(t, n.p.recv())
	advance(l, t0, 100*time.Second-1)
	assert.False(t, n.p.c.closed)
	advance(l, t0, 100*time.Second)
	assert.True(t, n.p.c.closed)
	assert.Equal(t, ReasonIdle, n.p.c.reason)
}

// A reload that shortens the idle timeout reaches connections whose
// deadline was armed under the old one.
func TestReloadShorterIdleTimeout(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}, IdleTimeout: time.Hour})
	t0 := l.now
	p := attachLineChat(t, l)
	p.send("sleepy\n")
	advance(l, t0, 11*time.Second) // past the auth deadline: armed for t0+1h
	require.False(t, p.c.closed)
	l.Reload(Limits{IdleTimeout: time.Minute})
	l.now = t0 + int64(2*time.Minute)
	l.applyReload()
	l.expire()
	l.beforeSleep()
	assert.True(t, p.c.closed)
	assert.Equal(t, ReasonIdle, p.c.reason)
}

// Accept paused for lack of fds comes back by its timer, not by a close.
func TestAcceptResumesByTimer(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	t0 := l.now
	l.pauseAccept(acceptPause)
	require.True(t, l.native.paused)
	p := attachLineChat(t, l)
	l.closeConn(p.c, ReasonPeerClosed, nil)
	assert.True(t, l.native.paused, "a close does not end a pause for fds")
	advance(l, t0, acceptPause-1)
	assert.True(t, l.native.paused)
	advance(l, t0, acceptPause)
	assert.False(t, l.native.paused)
	assert.False(t, l.acceptTimed)

	l.pauseAccept(0) // the connection limit: a close resumes
	p = attachLineChat(t, l)
	l.closeConn(p.c, ReasonPeerClosed, nil)
	assert.False(t, l.native.paused)
}

// Pad pages cool on a timer that looks only at users whose pads were used:
// with many accounts and none in use, there is no timer and nothing to walk.
func TestPadPagesCoolOnlyForUsersInUse(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	h := l.hub
	for i := range 20 {
		provision(t, l, fmt.Sprintf("u%02d", i), 64<<10)
	}
	a, b := h.acct.user("u00"), h.acct.user("u01")
	assert.Zero(t, l.timers.Len(), "20 accounts, none in use: no timer")
	assert.Empty(t, h.hot)

	t0 := l.now
	require.NoError(t, a.open(h.acct)) // an open is a use: listed at once
	require.NoError(t, b.open(h.acct))
	assert.Equal(t, []*User{a, b}, h.hot)
	h.touch(a)
	assert.Equal(t, padIdle, until(l), "armed for a's pages")
	l.now = t0 + int64(time.Second)
	h.touch(b)
	l.now = t0 + int64(1500*time.Millisecond)
	h.touch(a)
	assert.Len(t, h.hot, 2, "a is listed once")

	advance(l, t0, padIdle)
	assert.True(t, a.hot && b.hot, "both were used within padIdle")
	assert.Equal(t, time.Second, until(l), "next: b's pages, idle since t0+1s")
	advance(l, t0, time.Second+padIdle)
	assert.False(t, b.hot, "b released")
	assert.True(t, a.hot)
	assert.Equal(t, []*User{a}, h.hot, "only a is left to look at")

	// Released elsewhere (files.padUsed) and used again before the timer: still listed once.
	a.releasePages()
	h.touch(a) // at t0+1s+padIdle
	assert.Len(t, h.hot, 1)
	advance(l, t0, 1500*time.Millisecond+padIdle)
	assert.True(t, a.hot, "used again at t0+1s+padIdle")
	assert.Equal(t, padIdle-500*time.Millisecond, until(l), "next: a's pages, padIdle after that use")
	advance(l, t0, time.Second+2*padIdle)
	assert.False(t, a.hot, "released at exactly padIdle")
	assert.Empty(t, h.hot)
	assert.Zero(t, l.timers.Len(), "nothing in use: the timer is disarmed")
}
