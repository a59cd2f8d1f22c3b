// A process's CPU time to the nanosecond, from its CPU clock.
package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is process pid's user + system time, all its threads, to the
// ns: its CPU clock, the one clock_getcpuclockid(3) names,
// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): the bitwise complement of the
// pid above three bits of kind, 2 for the scheduler's nanoseconds, none for
// one thread only. The kernel adds up the live threads' time, a running
// thread's so far included, and what the exited ones left: the sum utime
// and stime are cut from in clock ticks of 10 ms, which a fan-out run's
// 0.2 s of server CPU only knew to ±5 %. Any process's clock can be read.
func processCPU(pid int) (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(^pid<<3|2), &ts); err != nil {
		return 0, fmt.Errorf("CPU clock of process %d: %w", pid, err)
	}
	return time.Duration(ts.Nano()), nil
}
