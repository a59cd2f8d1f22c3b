// The watcher every scenario's run ends through: done, stalled, timed out or interrupted.
package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// watchRun polls a run every 10 ms until it is over and returns the run's note.
// poll says how much has arrived and whether that is all: nothing arriving for
// --stall ends the run with the server's thread states, the context ending
// interrupts it. At --timeout it sets stop, so senders stop, and keeps watching
// what is still in flight. status is the progress line for a count and its rate.
func watchRun(ctx context.Context, o *options, pid int, stop *atomic.Bool, stderr io.Writer,
	poll func() (n int64, finished bool), status func(n int64, perSec float64) string) string {
	prog := newProgress(stderr, o.quiet)
	defer prog.done()
	deadline := time.Now().Add(o.timeout)
	var last int64
	lastMove, start := time.Now(), time.Now()
	note := ""
	for {
		select {
		case <-ctx.Done():
			return "interrupted"
		case <-time.After(10 * time.Millisecond):
		}
		n, finished := poll()
		if finished {
			return note
		}
		now := time.Now()
		if n != last {
			last, lastMove = n, now
		} else if now.Sub(lastMove) > o.stall {
			return joinNote(note, fmt.Sprintf("stalled %v: %s", o.stall, threadStates(pid)))
		}
		if !stop.Load() && now.After(deadline) {
			stop.Store(true)
			note = fmt.Sprintf("timeout %v", o.timeout)
		}
		prog.update("%s", status(n, float64(n)/now.Sub(start).Seconds()))
	}
}
