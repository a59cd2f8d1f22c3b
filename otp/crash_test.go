// Crash test: a child process seals frames until SIGKILL, again and again on one state.
package otp

import (
	"bufio"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	crashEnv     = "OTP_CRASH_CHILD" // "pad path|state path|session hex"
	crashRuns    = 25
	crashMaxSize = 4096
)

func TestMain(m *testing.M) {
	if arg := os.Getenv(crashEnv); arg != "" {
		os.Exit(crashChild(arg))
	}
	os.Exit(m.Run())
}

// crashMsg is the plaintext of n bytes every child frame carries, so the parent
// can check what it decrypts.
func crashMsg(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// crashChild mirrors the daemon's loop: seal a batch, Reserve, then write it out.
func crashChild(arg string) int {
	var padPath, statePath, sessHex string
	if parts := strings.SplitN(arg, "|", 3); len(parts) == 3 {
		padPath, statePath, sessHex = parts[0], parts[1], parts[2]
	}
	var sess Session
	raw, err := hex.DecodeString(sessHex)
	if err != nil || len(raw) != 2*NonceSize {
		return 2
	}
	copy(sess.Client[:], raw)
	copy(sess.Server[:], raw[NonceSize:])
	pad, err := OpenPad(padPath)
	if err != nil {
		return 2
	}
	s, err := OpenSender(pad, statePath, SenderOptions{ReserveStep: 16 << 10, MaxReserveStep: 256 << 10})
	if err != nil {
		os.Stderr.WriteString(err.Error())
		return 2
	}
	msg := crashMsg(crashMaxSize)
	buf := make([]byte, 0, 16*(crashMaxSize+Overhead))
	for {
		buf = buf[:0]
		for range 1 + rand.IntN(16) {
			if buf, err = s.Seal(buf, msg[:rand.IntN(crashMaxSize+1)], ToServer, &sess); err != nil {
				os.Stderr.WriteString(err.Error())
				return 3
			}
		}
		if err := s.Reserve(); err != nil {
			return 4
		}
		if _, err := os.Stdout.Write(buf); err != nil {
			return 0
		}
	}
}

type padRange struct{ off, end int64 }

func TestCrashNeverReusesPad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 25 processes")
	}
	pad := newPad(t, 128<<20)
	statePath := newState(t, pad, RoleSend)
	r, _ := newReceiverT(t, pad, ReceiverOptions{MaxFrame: crashMaxSize})
	sess := newSession()
	arg := pad.Path() + "|" + statePath + "|" + hex.EncodeToString(append(sess.Client[:], sess.Server[:]...))
	msg := crashMsg(crashMaxSize)

	var ranges []padRange
	var firsts []int64
	for run := range crashRuns {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+arg)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr limitedBuffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())

		started := make(chan struct{})
		done := make(chan []padRange)
		go func() { done <- readFrames(t, bufio.NewReaderSize(stdout, 256<<10), r, sess, msg, started) }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Log("child produced nothing in 10s")
		}
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		got := <-done
		err = cmd.Wait()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "run %d: %v", run, err)
		require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(),
			"run %d: child ended on its own: %v %s", run, err, stderr.String())
		if len(got) > 0 {
			firsts = append(firsts, got[0].off)
			if len(ranges) > 0 {
				require.GreaterOrEqual(t, got[0].off, ranges[len(ranges)-1].end, "run %d reused pad", run)
			}
		}
		ranges = append(ranges, got...)
	}
	t.Logf("%d runs, %d frames, %d restarts with frames, pad used up to %d", crashRuns, len(ranges), len(firsts), r.Expected())
	require.NotEmpty(t, ranges)
	assert.GreaterOrEqual(t, len(firsts), crashRuns/2, "most runs got frames out before the kill")
	slices.SortFunc(ranges, func(a, b padRange) int { return int(a.off - b.off) })
	for i := 1; i < len(ranges); i++ {
		require.GreaterOrEqual(t, ranges[i].off, ranges[i-1].end, "pad ranges overlap: %v %v", ranges[i-1], ranges[i])
	}
}

// readFrames reads whole frames until the pipe closes, opens each with r and
// returns their pad ranges; a frame cut short by the kill is dropped.
func readFrames(t *testing.T, rd *bufio.Reader, r *Receiver, sess *Session, msg []byte, started chan<- struct{}) []padRange {
	var out []padRange
	frame := make([]byte, 0, crashMaxSize+Overhead)
	plain := make([]byte, 0, crashMaxSize)
	first := true
	for {
		frame = frame[:HeaderSize]
		if _, err := io.ReadFull(rd, frame); err != nil {
			break
		}
		if first {
			close(started)
			first = false
		}
		n, err := FrameLen(frame, crashMaxSize)
		if err != nil {
			t.Errorf("bad header: %v", err)
			break
		}
		frame = frame[:n]
		if _, err := io.ReadFull(rd, frame[HeaderSize:]); err != nil {
			break
		}
		off := r.Expected()
		got, err := r.Open(plain[:0], frame, ToServer, sess)
		if err != nil {
			t.Errorf("frame after offset %d did not open: %v", off, err)
			break
		}
		if !slices.Equal(got, msg[:len(got)]) {
			t.Errorf("frame at offset %d decrypted wrong", r.Expected()-PadCost(len(got)))
		}
		out = append(out, padRange{r.Expected() - PadCost(len(got)), r.Expected()})
	}
	if first {
		close(started)
	}
	io.Copy(io.Discard, rd)
	return out
}

// limitedBuffer keeps the first few KiB a child writes to stderr.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
