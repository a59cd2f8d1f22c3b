// /topic and /away against the fake server.
package client

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestTopicAndAwayCommands(t *testing.T) {
	in, typed := pipe(t)
	srv, out, _, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- joined lobby")

	// Asking: the reply carries the topic.
	typed.WriteString("/topic\n")
	q := srv.expect(wire.OpTopic, "lobby", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: q.Seq})
	waitLine(t, out, "-- lobby has no topic")

	// Setting: shown from the event every member gets, not from the OK.
	typed.WriteString("/topic  release on friday \n")
	set := srv.expect(wire.OpTopic, "lobby", "", "release on friday")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: set.Seq, Text: []byte("release on friday")})
	srv.send(wire.Msg{Op: wire.OpTopicIs, Room: []byte("lobby"), User: []byte("carol"), Text: []byte("release on friday"), Time: time.Now().UnixNano()})
	waitLine(t, out, "-- topic of lobby: release on friday (set by carol)")

	typed.WriteString("/away at lunch\n")
	a := srv.expect(wire.OpAway, "", "", "at lunch")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: a.Seq})
	waitLine(t, out, "-- you are away: at lunch")

	// /who marks away users, and only the name is a nick.
	typed.WriteString("/who\n")
	w := srv.expect(wire.OpWho, "", "", "")
	srv.send(wire.Msg{Op: wire.OpUsers, Seq: w.Seq, Text: []byte("bob\taway: gone fishing\ncarol")})
	waitLine(t, out, "-- online: bob (away: gone fishing), carol")

	typed.WriteString("/away\n")
	a = srv.expect(wire.OpAway, "", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: a.Seq})
	waitLine(t, out, "-- you are back")

	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())
	assert.Equal(t, 1, countLines(out, "-- topic of lobby: release on friday (set by carol)"), "a set topic is shown once")
}

func countLines(out *syncBuffer, line string) int {
	n := 0
	for _, l := range out.lines() {
		if l == line {
			n++
		}
	}
	return n
}

func TestTopicAndAwayJSON(t *testing.T) {
	in, typed := pipe(t)
	srv := listen(t)
	dir, pads := newBundle(t, "carol", srv.addr(), testPadSize, testPadSize)
	srv.pads = pads
	out := &syncBuffer{}
	wait := startClient(t, Config{Bundle: dir, Stdin: in, Stdout: out, JSON: true})
	srv.login("carol", "lobby")
	srv.send(wire.Msg{Op: wire.OpTopicIs, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("ship it")})
	typed.WriteString("/who\n")
	w := srv.expect(wire.OpWho, "", "", "")
	srv.send(wire.Msg{Op: wire.OpUsers, Seq: w.Seq, Text: []byte("bob\taway: lunch\ncarol")})
	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())

	var events []jsonEvent
	for _, l := range out.lines() {
		var ev jsonEvent
		require.NoError(t, json.Unmarshal([]byte(l), &ev), "%q", l)
		events = append(events, ev)
	}
	assert.Contains(t, events, jsonEvent{Event: "topic", Room: "lobby", User: "bob", Text: "ship it"})
	assert.Contains(t, events, jsonEvent{Event: "users", Users: []string{"bob", "carol"}, Away: map[string]string{"bob": "lunch"}})
}
