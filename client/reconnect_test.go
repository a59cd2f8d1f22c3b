// Reconnecting after a drop: a new session, the rooms rejoined, lines in flight accounted for.
package client

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestBackoffBounds(t *testing.T) {
	for range 200 {
		d := backoff(0)
		assert.True(t, d >= 100*time.Millisecond && d < 250*time.Millisecond, "first wait %v", d)
	}
	for attempt := 1; attempt < 40; attempt++ {
		d := backoff(attempt)
		assert.True(t, d >= 75*time.Millisecond && d <= backoffCap*5/4, "attempt %d: %v", attempt, d)
	}
	assert.Greater(t, backoff(10), 2*time.Second, "capped, not reset")
}

// relogin is the server's side of a reconnect: greeting, Hello, Welcome, and
// the rejoin of each room, in the order given.
func (s *fakeServer) relogin(user string, rooms ...string) {
	s.t.Helper()
	s.accept()
	hello := s.expect(wire.OpHello, "", "", HelloText)
	s.send(wire.Msg{Op: wire.OpWelcome, Seq: hello.Seq, User: []byte(user), Text: []byte("Welcome back")})
	for _, room := range rooms {
		join := s.expect(wire.OpJoin, room, "", "")
		s.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq})
	}
}

// answerPing reads the Ping that follows a line and answers it.
func (s *fakeServer) answerPing() {
	s.t.Helper()
	m := s.readAny()
	require.Equal(s.t, wire.OpPing, m.Op)
	s.send(wire.Msg{Op: wire.OpOK, Seq: m.Seq, Text: []byte("pong")})
}

// inLobbyAndDev starts a piped session for carol, in rooms lobby and dev.
func inLobbyAndDev(t *testing.T) (*fakeServer, *syncBuffer, *os.File, func() error) {
	t.Helper()
	in, typed := pipe(t)
	srv, out, _, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- joined lobby")
	typed.WriteString("/join dev\n")
	join := srv.expect(wire.OpJoin, "dev", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq})
	waitLine(t, out, "-- joined dev")
	return srv, out, typed, wait
}

func TestReconnectPiped(t *testing.T) {
	srv, out, typed, wait := inLobbyAndDev(t)
	typed.WriteString("before\n")
	srv.expect(wire.OpSay, "dev", "", "before")
	srv.answerPing()

	srv.conn.Close() // a plain drop: not final
	waitLine(t, out, "-- connection lost (server closed the connection); reconnecting…")
	srv.relogin("carol", "lobby", "dev")
	srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("dev"), User: []byte("bob"), Text: []byte("seen"), ID: 7})
	waitLine(t, out, "[dev] bob: seen")
	srv.conn.Close()
	srv.relogin("carol", "lobby", "dev") // both rooms, the current one last
	waitLine(t, out, "-- reconnected")
	// The rejoin replays history: what was shown already is not shown again.
	for i, text := range []string{"seen", "missed"} {
		srv.send(wire.Msg{Op: wire.OpMessage, Flags: wire.FlagHistory, Room: []byte("dev"), User: []byte("bob"), Text: []byte(text), ID: uint32(7 + i)})
	}
	waitLine(t, out, "[dev] (history) bob: missed")
	typed.WriteString("after\n")
	srv.expect(wire.OpSay, "dev", "", "after")
	srv.answerPing()

	// A Bye that is not final (shutdown) is a drop too.
	srv.send(wire.Msg{Op: wire.OpBye, ID: uint32(wire.ByeShutdown), Text: []byte("server shutting down")})
	srv.conn.Close()
	srv.relogin("carol", "lobby", "dev")
	typed.WriteString("third\n")
	srv.expect(wire.OpSay, "dev", "", "third")
	// A receipt for a DM sent in an earlier session, kept for us while offline.
	srv.send(wire.Msg{Op: wire.OpDelivered, User: []byte("bob"), ID: 12})
	waitLine(t, out, "-- delivered to bob (id 12)")

	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait(), "every line was confirmed")
	assert.NotContains(t, out.String(), "!!")
	assert.NotContains(t, out.String(), "(history) bob: seen")
}

func TestReconnectLineInFlightIsReported(t *testing.T) {
	in, typed := pipe(t)
	srv, out, _, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- joined lobby")
	typed.WriteString("lost one\n")
	srv.expect(wire.OpSay, "lobby", "", "lost one")
	assert.Equal(t, wire.OpPing, srv.readAny().Op) // asked, never answered
	srv.conn.Close()
	waitLine(t, out, "!! line may not have been delivered (connection lost): lost one")
	srv.relogin("carol", "lobby")
	typed.WriteString("kept\n")
	srv.expect(wire.OpSay, "lobby", "", "kept")
	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.EqualError(t, wait(), "1 of 2 lines not delivered")
}

func TestReconnectRefusedCredentialsAreFinal(t *testing.T) {
	in, _ := pipe(t)
	srv, out, _, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- joined lobby")
	srv.conn.Close()
	srv.accept()
	srv.read()
	srv.conn.Write(wire.AppendRefusal(nil, wire.RefuseUnknownPad, "authentication failed: this server holds no such pad"))
	srv.conn.Close()
	require.EqualError(t, wait(), "authentication failed: this server holds no such pad")
}

// TestReconnectedOnceRejoinsAnswered: "reconnected" is said when the rooms
// are rejoined (one of them refused here), not at the welcome: a script that
// waits for it and then expects the room's traffic must not miss any. Said at
// the welcome, a message sent right after could reach the room before the
// rejoin did.
func TestReconnectedOnceRejoinsAnswered(t *testing.T) {
	srv, out, typed, wait := inLobbyAndDev(t)

	srv.conn.Close()
	waitLine(t, out, "-- connection lost (server closed the connection); reconnecting…")
	srv.accept()
	hello := srv.expect(wire.OpHello, "", "", HelloText)
	srv.send(wire.Msg{Op: wire.OpWelcome, Seq: hello.Seq, User: []byte("carol"), Text: []byte("Welcome back")})
	lobby := srv.expect(wire.OpJoin, "lobby", "", "")
	dev := srv.expect(wire.OpJoin, "dev", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: lobby.Seq})
	srv.send(wire.Msg{Op: wire.OpError, Seq: dev.Seq, Text: []byte("no such room")})
	waitLine(t, out, "-- reconnected")
	lines := out.lines()
	require.Contains(t, lines, "!! no such room")
	assert.Less(t, slices.Index(lines, "!! no such room"), slices.Index(lines, "-- reconnected"), "said after the last rejoin was answered")
	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	wait()
}
