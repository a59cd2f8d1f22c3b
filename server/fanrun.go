// A run of one session's Says to one room, handed to the members at once.
package server

// roomRun is the Says a native session made to one room in a row while its
// input is handled (one read: a flood's publisher sends hundreds). Their
// encodings lie back to back in the arena and every other member gets all of
// them, so each member's queue is touched once per chunk of the run, not once
// per message: at 200 members the per-delivery bookkeeping of push (its
// checks, frame room, span, counters, output limit) was about a seventh of a
// flood's CPU, most of it waiting on each member's Conn and session.
//
// What each member receives, and in what order, is what a delivery per
// message gives: the run goes out (flushRun) before anything else is
// delivered to a native session other than its sender (native.deliver, which
// every fan-out and reply goes through), before a command other than a Say
// (native.command), and at the end of the read (native.onData), so no
// member joins, parts or hears another event in between; the sender, who is
// skipped, gets its replies at once.
type roomRun struct {
	on  bool // a native session's input is being handled: a run may form
	say bool // the fan-out in progress is a Say's (Hub.say)
	// flushing: flushRun is handing the run out
	flushing bool
	r        *Room   // the run's room; nil: no run
	skip     *native // its sender
	from     int     // where the run starts in the arena
	to       int     // where it ends
	ends     []int   // where each of its messages ends, in order
	cuts     []int   // flushRun's chunks: end, messages; end, messages; ...
}

// addRun makes the Say encoded as enc, to r from skip, part of the run and
// reports whether it did; if not, the caller delivers it now.
func (h *Hub) addRun(r *Room, enc []byte, skip member) bool {
	run := &h.run
	s, ok := skip.(*native)
	if !run.on || !run.say || run.flushing || !ok || r.plain {
		return false
	}
	sp := h.arenaSpan(enc)
	if sp.solo {
		return false
	}
	if !run.extends(r, skip, sp.off) {
		return false // notify flushes a run this does not extend, before the encode
	}
	if run.r == nil {
		for _, x := range r.members { // natives only: a plain member formats each event
			if _, ok := x.(*native); !ok {
				return false
			}
		}
		run.r, run.skip, run.from, run.to = r, s, sp.off, sp.off
	}
	run.to += sp.n
	run.ends = append(run.ends, run.to)
	return true
}

// extends reports whether a Say to r from skip, encoded next at arena offset
// at, would continue the run (or there is none to flush first).
func (run *roomRun) extends(r *Room, skip member, at int) bool {
	if run.r == nil {
		return true
	}
	s, ok := skip.(*native)
	return ok && run.say && !run.flushing && run.r == r && run.skip == s && run.to == at
}

// flushRun queues the run, if any, on every member of its room but its
// sender, in chunks of whole messages that each fit one frame of the backlog
// (Hub.laterFrame), so a member takes a publisher's read in a step or two.
// The run stays set while it is handed out, so that an early write of a
// member's output (Conn.queued) cannot let the arena drop or move its bytes
// unseen (compactArena keeps and shifts it); a delivery or fan-out that a
// push sets off (a close, a notice) finds it flushing and goes straight to
// its members.
func (h *Hub) flushRun() {
	run := &h.run
	r := run.r
	if r == nil || run.flushing {
		return
	}
	run.flushing = true
	// Chunks: where each ends, and how many messages it holds.
	chunk := h.laterFrame()
	cuts, start, last, msgs := run.cuts[:0], run.from, run.from, 0
	for _, end := range run.ends {
		if end-start > chunk && last > start {
			cuts = append(cuts, last, msgs)
			start, msgs = last, 0
		}
		last, msgs = end, msgs+1
	}
	run.cuts = append(cuts, last, msgs)
	members, walk := h.walk(r)
	for _, x := range members {
		n := x.(*native) // addRun checked: only natives
		if n == run.skip {
			continue
		}
		for i := 0; i < len(run.cuts) && n.accepts(); i += 2 {
			at := run.from // read again each time: compactArena may shift the run
			if i > 0 {
				at = run.cuts[i-2]
			}
			n.queueSpan(span{off: at, n: run.cuts[i] - at}, run.cuts[i+1])
		}
	}
	h.walked(walk)
	run.r, run.skip, run.flushing = nil, nil, false
	run.ends = run.ends[:0]
}

// shift moves the run down by d bytes, as compactArena moves the arena.
func (run *roomRun) shift(d int) {
	if run.r == nil {
		return
	}
	run.from -= d
	run.to -= d
	for i := range run.ends {
		run.ends[i] -= d
	}
	if run.flushing {
		for i := 0; i < len(run.cuts); i += 2 {
			run.cuts[i] -= d
		}
	}
}
