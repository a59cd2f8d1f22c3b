package server

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Threads a burst of blocking syscalls made stay in the process once the
// burst is over; trimThreads ends them down to what it is told to keep.
func TestTrimThreadsEndsThreadsABurstLeft(t *testing.T) {
	// Idle threads earlier tests left would serve the burst instead of new
	// ones, and the burst would not show: end them first.
	trimThreads(runtime.GOMAXPROCS(0) + 4)
	before := osThreads()
	require.Positive(t, before, "counts threads")

	// 24 goroutines blocked in read(2) on a blocking pipe hold 24 threads.
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	const burst = 24
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [1]byte
			unix.Read(p[0], b[:])
		}()
	}
	require.Eventually(t, func() bool { return osThreads() >= before+burst-4 },
		10*time.Second, 10*time.Millisecond, "the burst holds its threads")
	_, err := unix.Write(p[1], make([]byte, burst))
	require.NoError(t, err)
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	left := osThreads()
	require.GreaterOrEqual(t, left, before+burst-4, "the runtime keeps them idle")

	ended := trimThreads(before)
	after := osThreads()
	t.Logf("threads: %d before the burst, %d after it, %d after trimThreads (ended %d)", before, left, after, ended)
	assert.LessOrEqual(t, after, before+2, "trimmed to about what was kept")
	assert.GreaterOrEqual(t, ended, burst-6)

	// The process still runs goroutines (and makes threads) as before.
	done := make(chan struct{})
	go close(done)
	<-done
	assert.Zero(t, trimThreads(osThreads()+5), "nothing to end")
}

// One hand-back at a time: a second returns at once while one runs.
func TestHandBackOneAtATime(t *testing.T) {
	require.True(t, trimming.CompareAndSwap(false, true))
	start := time.Now()
	handBack(0) // would end every thread it could and run a GC
	assert.True(t, trimming.Load(), "left the running one's flag alone")
	trimming.Store(false)
	assert.Less(t, time.Since(start), time.Second)
}
