// Timers is the event loop's min-heap of deadlines: Until feeds Wait's timeout, Expire fires what is due.

package poller

import (
	"container/heap"
	"time"
)

// Timers is a set of deadlines keyed by caller-chosen ids. The zero value is
// ready to use. It is not safe for concurrent use: the event loop owns it.
type Timers struct {
	h    timerHeap
	byID map[uint64]*timer
	seq  uint64   // bumped by every Set; orders equal deadlines first-set-first
	fire []*timer // Expire's batch, kept so a steady loop allocates nothing
}

// timer is 32 bytes, one per connection: at is unix nanoseconds, not a
// time.Time (24 bytes), which the loop's deadlines are anyway.
type timer struct {
	id    uint64
	at    int64
	seq   uint64
	index int // position in the heap, or due while Expire is firing it
}

// due marks a timer Expire took out of the heap and has yet to fire.
const due = -1

// Set arms timer id for at, moving it if it is already armed.
func (t *Timers) Set(id uint64, deadline time.Time) {
	t.seq++
	at := deadline.UnixNano()
	if tm, ok := t.byID[id]; ok {
		tm.at, tm.seq = at, t.seq
		if tm.index == due {
			heap.Push(&t.h, tm) // moved before it fired: back in the heap, and Expire skips it
		} else {
			heap.Fix(&t.h, tm.index)
		}
		return
	}
	if t.byID == nil {
		t.byID = make(map[uint64]*timer)
	}
	tm := &timer{id: id, at: at, seq: t.seq}
	t.byID[id] = tm
	heap.Push(&t.h, tm)
}

// Cancel disarms timer id; an unknown id is ignored.
func (t *Timers) Cancel(id uint64) {
	if tm, ok := t.byID[id]; ok {
		if tm.index != due {
			heap.Remove(&t.h, tm.index)
		}
		delete(t.byID, id)
	}
}

// Len is the number of armed timers.
func (t *Timers) Len() int { return len(t.byID) }

// Until is the time from now to the nearest deadline: -1 if no timer is armed
// (Wait's "forever"), 0 if one is already due.
func (t *Timers) Until(now time.Time) time.Duration {
	if len(t.h) == 0 {
		return -1
	}
	return max(time.Duration(t.h[0].at-now.UnixNano()), 0)
}

// Expire disarms and calls fn for each timer due at now, earliest first. fn may
// Set or Cancel any timer: a due timer it cancels or moves does not fire, and
// a timer it arms for now or earlier fires on the next Expire, so a timer
// re-arming itself can't loop forever. A timer re-armed from its own fn keeps
// its slot: a deadline pushed back each time it fires costs no allocation.
func (t *Timers) Expire(now time.Time, fn func(id uint64)) {
	fire := t.fire[:0]
	for at := now.UnixNano(); len(t.h) > 0 && t.h[0].at <= at; {
		tm := heap.Pop(&t.h).(*timer)
		tm.index = due
		fire = append(fire, tm)
	}
	for i, tm := range fire {
		fire[i] = nil
		if t.byID[tm.id] != tm || tm.index != due {
			continue // cancelled or moved by an earlier fn
		}
		fn(tm.id)
		if tm.index == due && t.byID[tm.id] == tm {
			delete(t.byID, tm.id) // fired and not re-armed
		}
	}
	t.fire = fire[:0]
}

// timerHeap implements heap.Interface, ordered by deadline, then by Set order.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	tm := x.(*timer)
	tm.index = len(*h)
	*h = append(*h, tm)
}

func (h *timerHeap) Pop() any {
	old := *h
	tm := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return tm
}
