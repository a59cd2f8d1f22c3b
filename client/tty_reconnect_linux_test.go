//go:build linux

// Terminal sessions on a pseudo-terminal: reconnecting keeps the line being typed.
package client

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"padchat/wire"
)

// ttySession is a client on a pty against a fake server, logged in to lobby.
type ttySession struct {
	t      *testing.T
	master *os.File
	screen *syncBuffer
	srv    *fakeServer
	wait   func() error
}

func startTTY(t *testing.T, extra func(*Config)) *ttySession {
	t.Helper()
	master, slave := openPty(t)
	s := &ttySession{t: t, master: master, screen: &syncBuffer{}}
	var reader sync.WaitGroup
	reader.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		slave.Close()
		master.Close()
		reader.Wait()
	})
	s.srv = listen(t)
	dir, pads := newBundle(t, "carol", s.srv.addr(), testPadSize, testPadSize)
	s.srv.pads = pads
	cfg := Config{Bundle: dir, Stdin: slave, Stdout: slave}
	if extra != nil {
		extra(&cfg)
	}
	s.wait = startClient(t, cfg)
	s.srv.login("carol", "lobby")
	s.srv.answerWho("lobby", "carol")
	s.waitShown("[lobby]> ")
	return s
}

// answerWho reads the Who a terminal client sends after a join and answers it.
func (s *fakeServer) answerWho(room string, names ...string) {
	s.t.Helper()
	who := s.expect(wire.OpWho, room, "", "")
	s.send(wire.Msg{Op: wire.OpUsers, Seq: who.Seq, Room: []byte(room), Text: []byte(strings.Join(names, "\n"))})
}

// text is the screen so far without escape codes.
func (s *ttySession) text() string { return ansiCodes.ReplaceAllString(s.screen.String(), "") }

func (s *ttySession) waitShown(want string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return strings.Contains(s.text(), want) }, waitFor, tick, "waiting for %q; screen:\n%q", want, s.screen)
}

func (s *ttySession) typeKeys(keys string) {
	s.t.Helper()
	_, err := s.master.WriteString(keys)
	require.NoError(s.t, err)
}

// quit ends the session with ctrl-D on an empty line.
func (s *ttySession) quit() {
	s.t.Helper()
	s.typeKeys("\x15\x04")
	s.srv.expect(wire.OpQuit, "", "", "")
	s.srv.conn.Close()
	require.NoError(s.t, s.wait())
}

func TestTTYReconnectKeepsTypedLine(t *testing.T) {
	s := startTTY(t, nil)
	s.typeKeys("hel")
	s.waitShown("[lobby]> hel")

	s.srv.conn.Close()
	s.waitShown("-- connection lost (server closed the connection); reconnecting…")
	s.waitShown("(offline) [lobby]> hel")
	s.typeKeys("lo")
	s.waitShown("(offline) [lobby]> hello")

	s.srv.relogin("carol", "lobby")
	s.waitShown("-- reconnected")
	s.waitShown("\r[lobby]> hello")
	s.typeKeys("\r")
	s.srv.expect(wire.OpSay, "lobby", "", "hello")
	s.quit()
}

func TestTTYLineTypedOfflineIsSentAfterReconnect(t *testing.T) {
	s := startTTY(t, nil)
	s.srv.conn.Close()
	s.waitShown("(offline) [lobby]> ")
	s.typeKeys("queued\r")
	s.waitShown("-- not connected: the line will be sent after reconnecting")
	s.srv.relogin("carol", "lobby")
	s.srv.expect(wire.OpSay, "lobby", "", "queued")
	s.quit()
}
