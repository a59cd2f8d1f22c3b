//go:build linux

// Rooms on a real terminal: the status line's unread counts, the marker, bell and highlight.
package client

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

// statusRows are the status lines drawn so far, escape codes removed.
func (s *ttySession) statusRows() []string {
	var rows []string
	for _, l := range strings.Split(s.text(), "\n") {
		l = strings.TrimLeft(l, "\r")
		if strings.HasPrefix(l, "online") || strings.HasPrefix(l, "reconnecting") {
			rows = append(rows, strings.TrimRight(l, "\r"))
		}
	}
	return rows
}

func (s *ttySession) waitStatus(want string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		rows := s.statusRows()
		return len(rows) > 0 && strings.Contains(rows[len(rows)-1], want)
	}, waitFor, tick, "status %q; screen:\n%q", want, s.screen)
}

func TestTTYStatusLineUnread(t *testing.T) {
	s := startTTY(t, nil)
	s.waitStatus("online | [lobby] | pad ≈ ")
	s.typeKeys("/join dev\r")
	join := s.srv.expect(wire.OpJoin, "dev", "", "")
	s.srv.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq})
	s.srv.answerWho("dev", "bob", "carol")
	s.waitShown("-- in dev: bob, carol")
	s.waitStatus("online | [dev] lobby | pad")

	for _, text := range []string{"one", "two", "three"} {
		s.srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte(text)})
	}
	s.waitStatus("online | [dev] lobby(3) | pad")

	// Back to lobby: the marker says how much is new there, the count clears.
	s.typeKeys("/join lobby\r")
	s.waitShown("-- ──── 3 unread in lobby ────")
	s.waitStatus("online | [lobby] dev | pad")
	join = s.srv.expect(wire.OpJoin, "lobby", "", "")
	s.srv.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq})
	s.srv.answerWho("lobby", "bob", "carol")

	s.typeKeys("/part\r")
	s.srv.expect(wire.OpPart, "lobby", "", "")
	s.waitShown("-- current room is now dev")

	s.srv.conn.Close()
	s.waitStatus("reconnecting… | [dev] | pad")
	s.srv.relogin("carol", "dev")
	s.waitStatus("online | [dev] | pad")
	s.quit()
}

func TestTTYBellOnDirectMessageAndMention(t *testing.T) {
	s := startTTY(t, nil)
	mark := len(s.screen.String())
	s.srv.send(wire.Msg{Op: wire.OpDirect, User: []byte("bob"), Text: []byte("psst"), ID: 1})
	s.srv.expect(wire.OpAck, "", "bob", "")
	s.waitShown("[dm] bob: psst")
	after := s.screen.String()[mark:]
	assert.Contains(t, after, "\a", "a DM rings the bell")
	assert.Contains(t, after, "\x1b[1;7m", "and is highlighted")

	mark = len(s.screen.String())
	s.srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("hey Carol, look")})
	s.waitShown("bob: hey Carol, look")
	assert.Contains(t, s.screen.String()[mark:], "\a", "a mention rings the bell")

	mark = len(s.screen.String())
	s.srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("carolina is a state")})
	s.waitShown("bob: carolina is a state")
	assert.NotContains(t, s.screen.String()[mark:], "\a", "a longer word is not a mention")
	s.quit()
}

func TestTTYNoBellWhenOff(t *testing.T) {
	s := startTTY(t, func(cfg *Config) { cfg.NoBell = true })
	s.srv.send(wire.Msg{Op: wire.OpDirect, User: []byte("bob"), Text: []byte("psst"), ID: 1})
	s.srv.expect(wire.OpAck, "", "bob", "")
	s.waitShown("[dm] bob: psst")
	assert.NotContains(t, s.screen.String(), "\a")
	s.quit()
}

func TestTTYDirectToNobodyShowsOnlyTheError(t *testing.T) {
	s := startTTY(t, nil)
	s.typeKeys("/msg nobody hi\r")
	dm := s.srv.expect(wire.OpDM, "", "nobody", "hi")
	s.srv.send(wire.Msg{Op: wire.OpError, Seq: dm.Seq, ID: uint32(wire.CodeNoSuchUser), Text: []byte("no such user")})
	s.waitShown("!! no such user")
	assert.NotContains(t, s.text(), "[dm to nobody]", "no echo for a DM the server refused")

	s.typeKeys("/query bob\r")
	s.waitShown("[→bob]> ")
	s.typeKeys("just for you\r")
	dm = s.srv.expect(wire.OpDM, "", "bob", "just for you")
	s.srv.send(wire.Msg{Op: wire.OpOK, Seq: dm.Seq, ID: 4})
	s.waitShown("[dm to bob] carol: just for you")
	s.quit()
}

func TestTTYNoColour(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	s := startTTY(t, nil)
	s.srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("plain")})
	s.waitShown("bob: plain")
	assert.NotRegexp(t, `\x1b\[[0-9;]*m`, s.screen.String(), "no colour codes at all")
	s.quit()
}

func TestTTYDumbTerminalGetsPlainLines(t *testing.T) {
	t.Setenv("TERM", "dumb")
	_, slave := openPty(t)
	dir, _ := newBundle(t, "carol", "127.0.0.1:1", testPadSize, testPadSize)
	c := newClient(Config{Bundle: dir, Stdin: slave, Stdout: slave}, "carol")
	assert.Nil(t, c.tty, "no raw mode, no cursor movement")
	assert.False(t, c.r.colour)
}
