package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { helpers["burner"] = burner }

// burnCPU is how much CPU the burner spends on each command.
const burnCPU = 100 * time.Millisecond

// tickSlack is how far the CPU clock and the ticks may part over a phase:
// each reading of the ticks rounds utime and stime down, by up to a tick
// each, and a tick more for good measure.
const tickSlack = 3 * time.Second / clockTicks

func spin() {
	for t0 := selfCPU(); selfCPU()-t0 < burnCPU; {
	}
}

// burner spends burnCPU for each line of stdin and says "burnt" after it;
// it ends at the end of stdin. On "burn", it spins where it is; on "end",
// on a thread of its own from the start, which then ends. Its first line
// is "ready" and that thread's id.
func burner() {
	end := make(chan struct{})
	tid := make(chan int)
	var lock func()
	lock = func() {
		runtime.LockOSThread()
		if syscall.Gettid() == os.Getpid() {
			go lock() // the runtime never ends the main thread: hold it, try another
			select {}
		}
		tid <- syscall.Gettid()
		<-end
		spin()
		// Exiting locked ends the thread.
	}
	go lock()
	ender := <-tid
	in := bufio.NewScanner(os.Stdin)
	fmt.Println("ready", ender)
	for in.Scan() {
		switch in.Text() {
		case "burn":
			spin()
		case "end":
			close(end)
			task := filepath.Join("/proc/self/task", strconv.Itoa(ender))
			for _, err := os.Stat(task); err == nil; _, err = os.Stat(task) {
				time.Sleep(time.Millisecond)
			}
		}
		fmt.Println("burnt")
	}
}

// phaseOfBurner samples a burner child, has it run cmds, samples it again
// (idle at both) and returns its CPU in between, as sampleProc and as the
// ticks have it. ended says whether the thread "end" ends was there at the
// first sample and gone at the second.
func phaseOfBurner(t *testing.T, cmds ...string) (cpu, ticks time.Duration, ended bool) {
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := &exec.Cmd{Path: self, Args: []string{"burner"}, Env: append(os.Environ(), fakeEnv+"=1")}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { stdin.Close(); cmd.Wait() }()
	out := bufio.NewScanner(stdout)
	require.True(t, out.Scan())
	var ender int
	_, err = fmt.Sscanf(out.Text(), "ready %d", &ender)
	require.NoError(t, err, out.Text())
	pid := cmd.Process.Pid
	task := fmt.Sprintf("/proc/%d/task/%d", pid, ender)

	a, err := sampleProc(pid)
	require.NoError(t, err)
	ta, err := tickCPU(pid)
	require.NoError(t, err)
	_, errA := os.Stat(task)
	for _, c := range cmds {
		_, err = fmt.Fprintln(stdin, c)
		require.NoError(t, err)
		require.True(t, out.Scan())
		require.Equal(t, "burnt", out.Text())
	}
	b, err := sampleProc(pid)
	require.NoError(t, err)
	tb, err := tickCPU(pid)
	require.NoError(t, err)
	_, errB := os.Stat(task)
	cpu, ticks = b.CPU-a.CPU, tb-ta
	t.Logf("CPU %v, ticks %v", cpu, ticks)
	return cpu, ticks, errA == nil && os.IsNotExist(errB)
}

// A child that spends 3 × burnCPU between two samples: the server CPU holds
// all of it, to the ns, and agrees with the ticks within their rounding.
func TestProcessCPUOfABurningChild(t *testing.T) {
	cpu, ticks, _ := phaseOfBurner(t, "burn", "burn", "burn")
	assert.GreaterOrEqual(t, cpu, 3*burnCPU-time.Millisecond)
	assert.InDelta(t, float64(ticks), float64(cpu), float64(tickSlack))
	assert.NotZero(t, cpu%(time.Second/clockTicks), "whole ticks, not ns")
}

// A thread of the child spends burnCPU and ends between the samples: its
// time still counts.
func TestProcessCPUKeepsAThreadThatEnded(t *testing.T) {
	cpu, ticks, ended := phaseOfBurner(t, "burn", "end")
	require.True(t, ended, "the thread did not end between the samples")
	assert.GreaterOrEqual(t, cpu, 2*burnCPU-time.Millisecond)
	assert.InDelta(t, float64(ticks), float64(cpu), float64(tickSlack))
	assert.NotZero(t, cpu%(time.Second/clockTicks), "whole ticks, not ns")
}

// A process that is gone has no CPU clock: sampling it fails.
func TestProcessCPUOfAGoneProcess(t *testing.T) {
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	_, err := processCPU(cmd.Process.Pid)
	assert.Error(t, err)
}
