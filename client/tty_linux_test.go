//go:build linux

// Raw-mode line editing on a real pseudo-terminal (Linux: /dev/ptmx ioctls).
package client

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

// openPty opens a pseudo-terminal pair with /dev/ptmx, as openpty(3) does,
// without a dependency: unlock the slave, ask for its number, open it.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	require.NoError(t, unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetWinsize(mfd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}))
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	return master, slave
}

var ansiCodes = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

func TestTTYIncomingMessageKeepsTypedLine(t *testing.T) {
	master, slave := openPty(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	require.NoError(t, err)

	// Everything the client draws, as the terminal would receive it.
	screen := &syncBuffer{}
	var reader sync.WaitGroup
	reader.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		slave.Close()
		master.Close() // ends the reader
		reader.Wait()
	})
	shown := func(s string) func() bool {
		return func() bool { return strings.Contains(ansiCodes.ReplaceAllString(screen.String(), ""), s) }
	}

	srv := listen(t)
	dir, pads := newBundle(t, "carol", srv.addr(), testPadSize, testPadSize)
	srv.pads = pads
	wait := startClient(t, Config{Bundle: dir, Stdin: slave, Stdout: slave})
	srv.login("carol", "lobby")
	srv.answerWho("lobby", "bob", "carol")
	require.Eventually(t, shown("[lobby]> "), waitFor, tick, "prompt; screen:\n%q", screen)

	_, err = master.WriteString("hel")
	require.NoError(t, err)
	require.Eventually(t, shown("[lobby]> hel"), waitFor, tick, "typed text; screen:\n%q", screen)

	srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("hi there")})
	// The row is cleared, the message printed, and the prompt redrawn with the half line intact.
	redrawn := regexp.MustCompile(`\] bob: hi there\r\n[^\r]*\r\n\r\[lobby\]> hel`) // message, status row, prompt
	require.Eventually(t, func() bool { return redrawn.MatchString(ansiCodes.ReplaceAllString(screen.String(), "")) },
		waitFor, tick, "redraw; screen:\n%q", screen)
	assert.Contains(t, screen.String(), "\r\x1b[K", "the prompt row is cleared before the message")

	_, err = master.WriteString("lo\r")
	require.NoError(t, err)
	srv.expect(wire.OpSay, "lobby", "", "hello")
	// The prompt row is replaced by the message as sent, then an empty prompt.
	echoed := regexp.MustCompile(`\[lobby\]> hel\r+\d\d:\d\d \[lobby\] carol: hello\r\nonline[^\r]*\r\n\r\[lobby\]> $`)
	require.Eventually(t, func() bool { return echoed.MatchString(ansiCodes.ReplaceAllString(screen.String(), "")) },
		waitFor, tick, "own message echoed; screen:\n%q", screen)

	_, err = master.WriteString("\x04") // ctrl-D on an empty line
	require.NoError(t, err)
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())

	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	require.NoError(t, err)
	assert.Equal(t, *before, *after, "terminal mode restored")
	assert.NotZero(t, after.Lflag&unix.ICANON)
}
