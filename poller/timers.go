// Timers is the event loop's min-heap of deadlines: Until feeds Wait's timeout, Expire fires what is due.

package poller

import "time"

// Timers is a set of deadlines. The zero value is ready to use. It is not
// safe for concurrent use: the event loop owns it.
//
// A deadline is armed either under a caller-chosen id (Set, Cancel), or in a
// Timer its owner keeps (SetTimer, Stop): a connection holds its Timer in its
// own struct, so its deadline costs one heap slot and no allocation or map
// entry. A fired timer's fn hears the id it was armed with either way.
type Timers struct {
	h    []slot
	byID map[uint64]*Timer // a Timer for every id ever armed, kept when it fires or is cancelled, so re-arming allocates nothing; few (the loop's own)
	n    int               // armed timers, those Expire is firing included
	seq  uint64            // bumped by every arming; orders equal deadlines first-armed-first
	fire []slot            // Expire's batch, kept so a steady loop allocates nothing
}

// Timer is the place of one deadline in Timers, kept by whoever arms it. The
// zero value is disarmed. A Timer must not be copied while armed.
type Timer struct {
	i int32 // 1 + its index in the heap; 0: disarmed; due: taken out by Expire, not yet fired
}

// slot is a heap entry, 32 bytes, by value: at is unix nanoseconds, not a
// time.Time (24 bytes), which the loop's deadlines are anyway.
type slot struct {
	at  int64
	seq uint64
	id  uint64
	t   *Timer
}

// due marks a timer Expire took out of the heap and has yet to fire.
const due = -1

// Armed reports whether t is armed (or due and not yet fired).
func (t *Timer) Armed() bool { return t.i != 0 }

// SetTimer arms t for deadline under id, moving it if it is already armed.
func (t *Timers) SetTimer(tm *Timer, id uint64, deadline time.Time) {
	t.seq++
	s := slot{at: deadline.UnixNano(), seq: t.seq, id: id, t: tm}
	switch tm.i {
	case 0, due: // a due one moved before it fired is back in the heap, and Expire skips it
		if tm.i == 0 {
			t.n++
		}
		t.h = append(t.h, s)
		tm.i = int32(len(t.h))
		t.up(len(t.h) - 1)
	default:
		i := int(tm.i - 1)
		t.h[i] = s
		if !t.up(i) {
			t.down(i)
		}
	}
}

// Stop disarms t; a disarmed one is left as it is.
func (t *Timers) Stop(tm *Timer) {
	switch tm.i {
	case 0:
		return
	case due:
	default:
		t.remove(int(tm.i - 1))
	}
	tm.i = 0
	t.n--
}

// Set arms timer id for deadline, moving it if it is already armed.
func (t *Timers) Set(id uint64, deadline time.Time) {
	tm := t.byID[id]
	if tm == nil {
		if t.byID == nil {
			t.byID = make(map[uint64]*Timer)
		}
		tm = new(Timer)
		t.byID[id] = tm
	}
	t.SetTimer(tm, id, deadline)
}

// Cancel disarms timer id; an unknown id is ignored.
func (t *Timers) Cancel(id uint64) {
	if tm := t.byID[id]; tm != nil {
		t.Stop(tm)
	}
}

// Len is the number of armed timers.
func (t *Timers) Len() int { return t.n }

// Until is the time from now to the nearest deadline: -1 if no timer is armed
// (Wait's "forever"), 0 if one is already due.
func (t *Timers) Until(now time.Time) time.Duration {
	if len(t.h) == 0 {
		return -1
	}
	return max(time.Duration(t.h[0].at-now.UnixNano()), 0)
}

// Expire disarms and calls fn for each timer due at now, earliest first. fn may
// arm or disarm any timer: a due timer it disarms or moves does not fire, and
// a timer it arms for now or earlier fires on the next Expire, so a timer
// re-arming itself can't loop forever. A timer re-armed from its own fn keeps
// its slot: a deadline pushed back each time it fires costs no allocation.
func (t *Timers) Expire(now time.Time, fn func(id uint64)) {
	fire := t.fire[:0]
	for at := now.UnixNano(); len(t.h) > 0 && t.h[0].at <= at; {
		s := t.h[0]
		t.remove(0)
		s.t.i = due
		fire = append(fire, s)
	}
	for i := range fire {
		s := fire[i]
		fire[i] = slot{}
		if s.t.i != due {
			continue // disarmed or moved by an earlier fn
		}
		fn(s.id)
		if s.t.i == due { // fired and not re-armed
			s.t.i = 0
			t.n--
		}
	}
	t.fire = fire[:0]
}

func (t *Timers) less(i, j int) bool {
	a, b := &t.h[i], &t.h[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (t *Timers) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].t.i, t.h[j].t.i = int32(i+1), int32(j+1)
}

// up moves slot i towards the root while it is earlier than its parent, and
// reports whether it moved.
func (t *Timers) up(i int) bool {
	i0 := i
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			break
		}
		t.swap(i, p)
		i = p
	}
	return i != i0
}

func (t *Timers) down(i int) {
	for n := len(t.h); ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && t.less(c+1, c) {
			c++
		}
		if !t.less(c, i) {
			return
		}
		t.swap(i, c)
		i = c
	}
}

// remove takes slot i out of the heap; its Timer's index is left to the caller.
func (t *Timers) remove(i int) {
	last := len(t.h) - 1
	if i != last {
		t.swap(i, last)
	}
	t.h[last] = slot{}
	t.h = t.h[:last]
	if i != last && !t.up(i) {
		t.down(i)
	}
}
