// --json output and where warnings go for scripts.
package client

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestJSONEventsAndStderr(t *testing.T) {
	in, typed := pipe(t)
	srv := listen(t)
	dir, pads := newBundle(t, "carol", srv.addr(), testPadSize, testPadSize)
	srv.pads = pads
	out, errOut := &syncBuffer{}, &syncBuffer{}
	wait := startClient(t, Config{Bundle: dir, Stdin: in, Stdout: out, Stderr: errOut, JSON: true})
	srv.login("carol", "lobby")
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("hi\nthere"), ID: 3, Time: at.UnixNano()})
	srv.send(wire.Msg{Op: wire.OpDirect, User: []byte("bob"), Text: []byte("psst"), ID: 9})
	srv.expect(wire.OpAck, "", "bob", "")
	typed.WriteString("/bogus\n")
	require.Eventually(t, func() bool { return len(errOut.String()) > 0 }, waitFor, tick)
	typed.Close()
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())

	var events []jsonEvent
	for _, l := range out.lines() {
		var ev jsonEvent
		require.NoError(t, json.Unmarshal([]byte(l), &ev), "every stdout line is JSON: %q", l)
		events = append(events, ev)
	}
	assert.Contains(t, events, jsonEvent{Event: "message", Room: "lobby", User: "bob", Text: "hi\nthere", ID: 3, Time: "2026-03-04T05:06:07Z"})
	assert.Contains(t, events, jsonEvent{Event: "direct", User: "bob", Text: "psst", ID: 9})
	assert.Contains(t, events, jsonEvent{Event: "notice", Text: "joined lobby"})
	assert.Equal(t, "!! unknown command /bogus (try /help)\n", errOut.String(), "errors on stderr only")
}
