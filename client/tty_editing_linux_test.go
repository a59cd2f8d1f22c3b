//go:build linux

// Line editing on a real terminal: history, completion, redraw on ctrl-L and resize, ctrl-Z.
package client

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

func TestTTYHistory(t *testing.T) {
	var dir string
	s := startTTY(t, func(cfg *Config) { dir = cfg.Bundle })
	s.typeKeys("first\r")
	s.srv.expect(wire.OpSay, "lobby", "", "first")
	s.typeKeys("second\r")
	s.srv.expect(wire.OpSay, "lobby", "", "second")
	s.typeKeys("draft\x1b[A\x1b[A")
	s.waitShown("[lobby]> first")
	s.typeKeys("\x1b[B\x1b[B") // back down to the draft
	s.waitShown("[lobby]> draft")
	s.typeKeys("\x15\x1b[A!\r") // clear, recall "second", edit, send
	s.srv.expect(wire.OpSay, "lobby", "", "second!")
	s.quit()

	b, err := os.ReadFile(filepath.Join(dir, HistoryFile))
	require.NoError(t, err)
	assert.Equal(t, "\"first\"\n\"second\"\n\"second!\"\n", string(b), "kept in the bundle for the next run")
}

func TestTTYCompletion(t *testing.T) {
	s := startTTY(t, nil)
	s.srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bobby"), Text: []byte("hi")})
	s.waitShown("bobby: hi")
	s.typeKeys("/jo\t")
	s.waitShown("[lobby]> /join ")
	s.typeKeys("\x15bo\t")
	s.waitShown("[lobby]> bobby: ")
	s.typeKeys("hey\r")
	s.srv.expect(wire.OpSay, "lobby", "", "bobby: hey")
	s.typeKeys("/m\t") // /me and /msg: listed
	s.waitShown("-- /me  /msg")
	s.quit()
}

func TestTTYRedraw(t *testing.T) {
	s := startTTY(t, nil)
	s.typeKeys("abc\x0c")
	cleared := regexp.MustCompile(`\x1b\[H\x1b\[2J[^\n]*online[^\n]*\n\r\x1b\[K\[lobby\]> abc`) // clear, status row, prompt
	require.Eventually(t, func() bool { return cleared.MatchString(s.screen.String()) },
		waitFor, tick, "ctrl-L clears and redraws; screen:\n%q", s.screen)

	// A narrower terminal: the long line is scrolled to fit the new width on SIGWINCH.
	s.typeKeys(strings.Repeat("x", 60))
	s.waitShown("[lobby]> abc" + strings.Repeat("x", 60))
	require.NoError(t, unix.IoctlSetWinsize(int(s.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 40}))
	mark := len(s.screen.String())
	require.NoError(t, unix.Kill(unix.Getpid(), unix.SIGWINCH))
	require.Eventually(t, func() bool {
		after := ansiCodes.ReplaceAllString(s.screen.String()[mark:], "")
		return strings.Contains(after, "\r[lobby]> "+strings.Repeat("x", 30)) && !strings.Contains(after, "abc")
	}, waitFor, tick, "redrawn to 40 columns; screen:\n%q", s.screen)
	s.quit()
}

func TestTTYSuspend(t *testing.T) {
	var slaveFd atomic.Int32
	stopped := make(chan unix.Termios, 1)
	// Set before the client starts and put back after it ends (cleanups run last first).
	old := suspendProcess
	suspendProcess = func() error {
		// What the shell sees at ctrl-Z: the terminal back in its own mode.
		tio, err := unix.IoctlGetTermios(int(slaveFd.Load()), unix.TCGETS)
		if err == nil {
			stopped <- *tio
		}
		return err
	}
	t.Cleanup(func() { suspendProcess = old })
	s := startTTY(t, nil)
	// The pty's slave end, reopened by number to read its mode.
	n, err := unix.IoctlGetInt(int(s.master.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	f, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	defer f.Close()
	slaveFd.Store(int32(f.Fd()))

	s.typeKeys("typed\x1a")
	var tio unix.Termios
	select {
	case tio = <-stopped:
	case <-time.After(waitFor):
		t.Fatalf("ctrl-Z did not suspend; screen:\n%q", s.screen)
	}
	assert.NotZero(t, tio.Lflag&unix.ICANON, "cooked mode while stopped")
	require.Eventually(t, func() bool { return strings.Contains(s.screen.String(), pasteOff) }, waitFor, tick,
		"bracketed paste off while stopped")
	s.waitShown("[lobby]> typed") // redrawn after fg
	require.Eventually(t, func() bool {
		now, err := unix.IoctlGetTermios(int(slaveFd.Load()), unix.TCGETS)
		return err == nil && now.Lflag&unix.ICANON == 0
	}, waitFor, tick, "raw mode again after fg")
	s.typeKeys("\r")
	s.srv.expect(wire.OpSay, "lobby", "", "typed")
	s.quit()
}
