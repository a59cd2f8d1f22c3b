package server

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// A login burst leaves the process with OS threads it will not need again:
// each goroutine blocked in a syscall at the peak (accepts, fdatasyncs of pad
// reservations, file reads) holds a thread, and the runtime keeps every
// thread it ever made, idle, with its 32 KiB signal stack (and, built with
// cgo, its pthread stack). At 1,000 idle connections that is about 0.5 KB
// each. A goroutine that exits while locked to its thread ends that thread
// (runtime.LockOSThread), so after a crowd parks, giveBack ends the idle
// threads beyond what the daemon had at its start, then returns the freed
// memory. It runs on a goroutine of its own, never on the loop's; the
// runtime never ends the main thread (a locked goroutine exiting on it only
// parks it).

// trimming is set while a hand-back runs, so two never overlap.
var trimming atomic.Bool

// handBack ends the idle threads beyond keep, then hands the freed memory
// back to the system (debug.FreeOSMemory). It returns at once if another
// hand-back is running.
func handBack(keep int) {
	if !trimming.CompareAndSwap(false, true) {
		return
	}
	defer trimming.Store(false)
	trimThreads(keep)
	debug.FreeOSMemory()
}

// threadsToKeep is how many threads trimThreads leaves: those of the
// process now (call it at start), and never fewer than a thread per P plus
// a few for sysmon, the loop's poll wait and the main thread.
func threadsToKeep() int {
	return max(osThreads(), runtime.GOMAXPROCS(0)+4)
}

// trimThreads ends threads, one at a time, while the process has more than
// keep. A thread leaves the count a moment after its goroutine has run, and
// the runtime may start one while others end, so each round counts again once
// the count has settled; trimThreads stops after two rounds in a row that end
// none (or when counting is not possible here). It returns how many fewer
// there are.
func trimThreads(keep int) int {
	start := osThreads()
	n := start
	for round, idle := 0, 0; n > keep && round < 8 && idle < 2; round++ {
		for range n - keep {
			endThread()
		}
		was := n
		n = settledThreads()
		if n < was {
			idle = 0
		} else {
			idle++
		}
	}
	return start - n
}

// settledThreads counts the process's threads until two counts a
// millisecond apart agree (at most 50 ms), so threads still on their way out
// are not counted as kept.
func settledThreads() int {
	n := osThreads()
	for range 50 {
		time.Sleep(time.Millisecond)
		m := osThreads()
		if m == n {
			break
		}
		n = m
	}
	return n
}

// endThread runs a goroutine that locks itself to its thread and exits,
// which ends the thread (or parks it, for the main thread), and waits until
// it has run.
func endThread() {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(done)
	}()
	<-done
}
