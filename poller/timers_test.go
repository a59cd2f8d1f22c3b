// Tests for the event loop's timer heap.

package poller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTimers(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type set struct {
		id uint64
		ms int
	}
	cases := []struct {
		name    string
		set     []set
		cancel  []uint64
		now     int // ms after t0
		until   time.Duration
		expired []uint64
		left    time.Duration // Until(now) after Expire
	}{
		{name: "empty", now: 0, until: -1, left: -1},
		{name: "not yet due", set: []set{{1, 30}}, now: 10, until: 20 * time.Millisecond,
			left: 20 * time.Millisecond},
		{name: "due exactly now", set: []set{{1, 10}}, now: 10, until: 0, expired: []uint64{1}, left: -1},
		{name: "overdue", set: []set{{1, 5}}, now: 10, until: 0, expired: []uint64{1}, left: -1},
		{name: "earliest first", set: []set{{3, 30}, {1, 10}, {2, 20}, {4, 40}}, now: 30,
			until: 0, expired: []uint64{1, 2, 3}, left: 10 * time.Millisecond},
		{name: "equal deadlines fire in Set order", set: []set{{2, 10}, {1, 10}, {3, 10}}, now: 10,
			expired: []uint64{2, 1, 3}, left: -1},
		{name: "set again moves the timer", set: []set{{1, 10}, {2, 20}, {1, 30}}, now: 25,
			expired: []uint64{2}, left: 5 * time.Millisecond},
		{name: "moved earlier", set: []set{{1, 50}, {1, 5}}, now: 10, expired: []uint64{1}, left: -1},
		{name: "cancel", set: []set{{1, 10}, {2, 20}}, cancel: []uint64{1, 99}, now: 15,
			until: 5 * time.Millisecond, left: 5 * time.Millisecond},
		{name: "cancel the last", set: []set{{1, 10}}, cancel: []uint64{1}, now: 15, until: -1, left: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tm Timers
			for _, s := range c.set {
				tm.Set(s.id, at(s.ms))
			}
			for _, id := range c.cancel {
				tm.Cancel(id)
			}
			now := at(c.now)
			assert.Equal(t, c.until, tm.Until(now))
			var got []uint64
			tm.Expire(now, func(id uint64) { got = append(got, id) })
			assert.Equal(t, c.expired, got)
			assert.Equal(t, c.left, tm.Until(now))
		})
	}
}

// fn may Set and Cancel from inside Expire.
func TestTimersExpireCallbacks(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	now := t0.Add(100 * time.Millisecond)
	var tm Timers
	tm.Set(1, t0.Add(10*time.Millisecond))
	tm.Set(2, t0.Add(20*time.Millisecond))
	tm.Set(3, t0.Add(30*time.Millisecond))
	tm.Set(5, t0.Add(40*time.Millisecond))
	var got []uint64
	tm.Expire(now, func(id uint64) {
		got = append(got, id)
		switch id {
		case 1:
			tm.Cancel(2)                          // a due timer cancelled before its turn does not fire
			tm.Set(5, now.Add(2*time.Second))     // nor does one moved to the future
			tm.Set(4, now.Add(time.Second))       // a future timer stays armed
			tm.Set(1, t0.Add(5*time.Millisecond)) // re-armed into the past: fires on the next call
		}
	})
	assert.Equal(t, []uint64{1, 3}, got)
	assert.Equal(t, time.Duration(0), tm.Until(now), "timer 1 is due again")

	got = nil
	tm.Expire(now, func(id uint64) { got = append(got, id) })
	assert.Equal(t, []uint64{1}, got)
	assert.Equal(t, time.Second, tm.Until(now))
}

// A timer that re-arms itself for now each time it fires cannot trap Expire.
func TestTimersSelfRearmTerminates(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var tm Timers
	tm.Set(1, now)
	calls := 0
	tm.Expire(now, func(id uint64) {
		calls++
		tm.Set(id, now)
	})
	assert.Equal(t, 1, calls)
	assert.Equal(t, time.Duration(0), tm.Until(now))
}

// A deadline pushed back from its own fn (a connection's idle timer re-armed
// lazily) keeps its slot: the steady state allocates nothing.
func TestTimersRearmFromOwnFnReusesSlot(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var tm Timers
	for id := uint64(1); id <= 100; id++ {
		tm.Set(id, now.Add(time.Duration(id)*time.Millisecond))
	}
	fired := 0
	step := func() {
		now = now.Add(50 * time.Millisecond)
		tm.Expire(now, func(id uint64) {
			fired++
			tm.Set(id, now.Add(100*time.Millisecond))
		})
	}
	step()
	assert.Equal(t, 50, fired, "ids 1..50 were due")
	allocs := testing.AllocsPerRun(100, step)
	assert.Zero(t, allocs)
	assert.Equal(t, 50*time.Millisecond, tm.Until(now), "every timer still armed, none lost")
}
