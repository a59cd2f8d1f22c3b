// Tests for the event loop's timer heap.

package poller

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// The loop arms its own timers again after they fired or were cancelled,
// outside their fn: that allocates nothing either, as each id keeps its Timer.
func TestTimersRearmAfterFiringOrCancelAllocatesNothing(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var tm Timers
	tm.Set(1, now)
	tm.Set(2, now.Add(time.Hour))
	allocs := testing.AllocsPerRun(100, func() {
		tm.Expire(now, func(uint64) {})
		tm.Cancel(2)
		now = now.Add(time.Millisecond)
		tm.Set(1, now)
		tm.Set(2, now.Add(time.Hour))
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 2, tm.Len())
	fired := []uint64{}
	tm.Cancel(2)
	tm.Expire(now, func(id uint64) { fired = append(fired, id) })
	assert.Equal(t, []uint64{1}, fired, "a cancelled id stays cancelled")
	assert.Zero(t, tm.Len())
}

// Timers kept by their owners (SetTimer, Stop) follow the same contract as
// ids: earliest first, moved ones fire at their new deadline, stopped ones
// never, and a fired one is disarmed. Both kinds share one heap.
func TestTimersOwned(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var tm Timers
	var a, b, c, d Timer
	tm.SetTimer(&a, 1, at(30))
	tm.SetTimer(&b, 2, at(10))
	tm.Set(3, at(20))
	tm.SetTimer(&c, 4, at(40))
	tm.SetTimer(&d, 5, at(5))
	tm.SetTimer(&a, 1, at(15)) // moved earlier
	tm.SetTimer(&c, 4, at(50)) // moved later
	tm.Stop(&d)
	tm.Stop(&d) // twice: no-op
	assert.False(t, d.Armed())
	assert.Equal(t, 4, tm.Len())
	var got []uint64
	tm.Expire(at(45), func(id uint64) { got = append(got, id) })
	assert.Equal(t, []uint64{2, 1, 3}, got)
	assert.False(t, a.Armed(), "fired: disarmed")
	assert.True(t, c.Armed())
	assert.Equal(t, 1, tm.Len())
	assert.Equal(t, 5*time.Millisecond, tm.Until(at(45)))
}

// fn may stop or move a due owned timer before its turn, and re-arm its own.
func TestTimersOwnedExpireCallbacks(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	now := t0.Add(100 * time.Millisecond)
	var tm Timers
	var a, b, c, d Timer
	tm.SetTimer(&a, 1, t0.Add(10*time.Millisecond))
	tm.SetTimer(&b, 2, t0.Add(20*time.Millisecond))
	tm.SetTimer(&c, 3, t0.Add(30*time.Millisecond))
	tm.SetTimer(&d, 4, t0.Add(40*time.Millisecond))
	var got []uint64
	tm.Expire(now, func(id uint64) {
		got = append(got, id)
		if id == 1 {
			tm.Stop(&b)                                  // due, stopped before its turn: does not fire
			tm.SetTimer(&d, 4, now.Add(time.Second))     // due, moved to the future: does not fire now
			tm.SetTimer(&a, 1, t0.Add(time.Millisecond)) // re-armed into the past: the next Expire
		}
	})
	assert.Equal(t, []uint64{1, 3}, got)
	assert.True(t, a.Armed())
	assert.False(t, b.Armed())
	assert.False(t, c.Armed())
	assert.Equal(t, 2, tm.Len())
	got = nil
	tm.Expire(now, func(id uint64) { got = append(got, id) })
	assert.Equal(t, []uint64{1}, got)
	assert.Equal(t, time.Second, tm.Until(now))
}

// Against a plain model: many owned timers armed, moved and stopped at
// random fire in deadline order (equal deadlines in arming order), exactly
// the armed ones.
func TestTimersOwnedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Unix(1_000_000, 0)
	const n = 300
	timers := make([]Timer, n)
	type armed struct {
		at  int
		seq int
	}
	model := map[int]armed{}
	var tm Timers
	seq := 0
	now := 0
	for round := 0; round < 50; round++ {
		for k := 0; k < 100; k++ {
			i := rng.IntN(n)
			if rng.IntN(4) == 0 {
				tm.Stop(&timers[i])
				delete(model, i)
				continue
			}
			seq++
			at := now + rng.IntN(50)
			tm.SetTimer(&timers[i], uint64(i), t0.Add(time.Duration(at)*time.Millisecond))
			model[i] = armed{at, seq}
		}
		now += 20
		var want []uint64
		for i, a := range model {
			if a.at <= now {
				want = append(want, uint64(i))
			}
		}
		slices.SortFunc(want, func(x, y uint64) int {
			a, b := model[int(x)], model[int(y)]
			if a.at != b.at {
				return a.at - b.at
			}
			return a.seq - b.seq
		})
		var got []uint64
		tm.Expire(t0.Add(time.Duration(now)*time.Millisecond), func(id uint64) { got = append(got, id) })
		assert.Equal(t, want, got, "round %d", round)
		for _, id := range got {
			delete(model, int(id))
		}
		require.Equal(t, len(model), tm.Len())
		for i := range timers {
			_, ok := model[i]
			require.Equal(t, ok, timers[i].Armed(), "timer %d", i)
		}
	}
}

// What an owned timer costs: the owner's 4-byte Timer and one 32-byte heap
// slot, no allocation of its own and no map entry. Arming, moving and
// stopping allocate nothing once the heap has room.
func TestTimersOwnedCost(t *testing.T) {
	assert.Equal(t, uintptr(4), unsafe.Sizeof(Timer{}))
	assert.LessOrEqual(t, unsafe.Sizeof(slot{}), uintptr(32))
	now := time.Unix(1_000_000, 0)
	var tm Timers
	timers := make([]Timer, 1000)
	for i := range timers {
		tm.SetTimer(&timers[i], uint64(i), now.Add(time.Duration(i)*time.Millisecond))
	}
	assert.Nil(t, tm.byID, "no map for owned timers")
	k := 0
	allocs := testing.AllocsPerRun(1000, func() {
		tm.SetTimer(&timers[k%1000], uint64(k%1000), now.Add(time.Duration(3*k%2000)*time.Millisecond))
		tm.Stop(&timers[(k+500)%1000])
		tm.SetTimer(&timers[(k+500)%1000], uint64(k), now)
		k++
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 1000, tm.Len())
}
