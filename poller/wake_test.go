// Wake-ups, timeouts, misuse and Close, on every backend this system has.
//go:build darwin || freebsd || linux || netbsd || openbsd

package poller

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestWakeUnblocksWait(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		done := make(chan int, 1)
		go func() {
			n, err := p.Wait(make([]Event, 4), -1)
			assert.NoError(t, err)
			done <- n
		}()
		// Wake may land before the Wait starts; it must then end the next Wait.
		time.AfterFunc(10*time.Millisecond, func() { assert.NoError(t, p.Wake()) })
		select {
		case n := <-done:
			assert.Zero(t, n, "a wake-up is not an event")
		case <-time.After(long):
			t.Fatal("Wait(-1) was not woken")
		}
	})
}

func TestWakesCoalesce(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 250 {
					assert.NoError(t, p.Wake())
				}
			})
		}
		wg.Wait()
		start := time.Now()
		assert.Empty(t, wait(t, p, long))
		assert.Less(t, time.Since(start), long/2, "woken, not timed out")
		assert.Empty(t, wait(t, p, 0))
		start = time.Now()
		assert.Empty(t, wait(t, p, 30*time.Millisecond))
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "no wake-up left over")
	})
}

// 1000 Wakes with no Wait in between cost one signal.
func TestWakesCoalesceToOneSignal(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		for range 1000 {
			require.NoError(t, p.Wake())
		}
		assert.Equal(t, 1, pendingWakeSignals(t, p))
	})
}

func TestTimeout(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		require.NoError(t, p.Add(s.a, Readable, 1))
		for _, d := range []time.Duration{0, 300 * time.Microsecond, 50 * time.Millisecond} {
			start := time.Now()
			assert.Empty(t, wait(t, p, d))
			assert.GreaterOrEqual(t, time.Since(start), d)
		}
	})
}

func TestMisuse(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		assert.ErrorIs(t, p.Modify(s.a, Readable, 1), ErrNotRegistered)
		assert.ErrorIs(t, p.Remove(s.a), ErrNotRegistered)
		require.NoError(t, p.Add(s.a, Readable, 1))
		assert.ErrorIs(t, p.Add(s.a, Readable, 1), ErrAlreadyRegistered)
		assert.ErrorIs(t, p.Add(-1, Readable, 1), unix.EBADF)
		_, err := p.Wait(nil, 0)
		assert.ErrorIs(t, err, ErrNoRoom)
	})
}

func TestClosed(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		require.NoError(t, p.Add(s.a, Readable, 1))
		require.NoError(t, p.Close())
		_, waitErr := p.Wait(make([]Event, 1), 0)
		for name, err := range map[string]error{
			"Add":    p.Add(s.b, Readable, 1),
			"Modify": p.Modify(s.a, Writable, 1),
			"Remove": p.Remove(s.a),
			"Wait":   waitErr,
			"Wake":   p.Wake(),
			"Close":  p.Close(),
		} {
			assert.ErrorIs(t, err, ErrClosed, name)
		}
	})
}

// A Wake that lands while Wait drains the wake-up descriptor must not be
// lost: a waker racing the waiter, then one last Wake, always ends the Wait.
// (Clearing the pending flag before the drain let the drain eat that
// signal, and every later Wake then saw a signal "pending" and sent none.)
func TestWakeRacingTheDrainIsNotLost(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					assert.NoError(t, p.Wake())
				}
			}
		})
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			wait(t, p, long)
		}
		close(stop)
		wg.Wait()
		wait(t, p, 0) // what the waker left
		time.AfterFunc(5*time.Millisecond, func() { assert.NoError(t, p.Wake()) })
		start := time.Now()
		wait(t, p, long)
		assert.Less(t, time.Since(start), long/2, "the last Wake was lost")
	})
}
