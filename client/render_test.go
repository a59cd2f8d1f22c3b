// Every server message as the lines it prints, plain and on a TTY.
package client

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/wire"
)

// newTestClient is a plain-mode client with pads but no connection, for
// feeding server messages straight to handle.
func newTestClient(t *testing.T) (*client, *bytes.Buffer) {
	t.Helper()
	dir, _ := newBundle(t, "carol", "127.0.0.1:1", testPadSize, testPadSize)
	prof, err := bundle.Load(dir)
	require.NoError(t, err)
	var out bytes.Buffer
	c := newClient(Config{Bundle: dir, Room: DefaultRoom, Stdin: strings.NewReader(""), Stdout: &out}, prof.User)
	require.NoError(t, c.openPads(prof))
	t.Cleanup(func() { c.closePads() })
	c.seen, err = loadSeen(dir)
	require.NoError(t, err)
	return c, &out
}

func TestRenderEvents(t *testing.T) {
	c, out := newTestClient(t)
	b := func(s string) []byte { return []byte(s) }
	// Cases run in order on one client: the plain-room notice is once per room.
	for _, tt := range []struct {
		name    string
		pending *request
		room    string // the current room before the message, if it matters
		m       wire.Msg
		want    []string
	}{
		{"welcome", nil, "", wire.Msg{Op: wire.OpWelcome, User: b("carol"), Text: b("Welcome to the best chat in the universe!")},
			[]string{"-- Welcome to the best chat in the universe!"}},
		{"join ok", &request{kind: cmdJoin, name: "lobby"}, "", wire.Msg{Op: wire.OpOK}, []string{"-- joined lobby"}},
		{"join ok, plain room", &request{kind: cmdJoin, name: "town"}, "", wire.Msg{Op: wire.OpOK, Flags: wire.FlagPlain},
			[]string{"-- joined town", "-- town is NOT encrypted: plain-text members can read it"}},
		{"part ok", &request{kind: cmdPart, name: "town"}, "", wire.Msg{Op: wire.OpOK}, []string{"-- left town"}},
		{"dm ok", &request{kind: cmdMsg, name: "bob"}, "", wire.Msg{Op: wire.OpOK, ID: 7}, []string{"-- sent to bob (id 7)"}},
		{"say ok", nil, "", wire.Msg{Op: wire.OpOK, Seq: 99}, nil},
		{"failed join", &request{kind: cmdJoin, name: "x", prev: "lobby"}, "x", wire.Msg{Op: wire.OpError, ID: uint32(wire.CodeRoomFull), Text: b("room x is full")},
			[]string{"!! room x is full"}},
		{"error without text", nil, "", wire.Msg{Op: wire.OpError, ID: uint32(wire.CodeNoSuchRoom)}, []string{"!! error 2"}},
		{"message", nil, "", wire.Msg{Op: wire.OpMessage, Room: b("lobby"), User: b("alice"), Text: b("hello"), Time: 1}, []string{"[lobby] alice: hello"}},
		{"me", nil, "", wire.Msg{Op: wire.OpMessage, Flags: wire.FlagMe, Room: b("lobby"), User: b("alice"), Text: b("waves")}, []string{"[lobby] * alice waves"}},
		{"history", nil, "", wire.Msg{Op: wire.OpMessage, Flags: wire.FlagHistory, Room: b("lobby"), User: b("alice"), Text: b("hello")},
			[]string{"[lobby] (history) alice: hello"}},
		{"history me", nil, "", wire.Msg{Op: wire.OpMessage, Flags: wire.FlagHistory | wire.FlagMe, Room: b("lobby"), User: b("alice"), Text: b("waved")},
			[]string{"[lobby] (history) * alice waved"}},
		{"plain room message, first", nil, "", wire.Msg{Op: wire.OpMessage, Flags: wire.FlagPlain, Room: b("dev"), User: b("dan"), Text: b("hi")},
			[]string{"-- dev is NOT encrypted: plain-text members can read it", "[dev] dan: hi"}},
		{"plain room message, again", nil, "", wire.Msg{Op: wire.OpMessage, Flags: wire.FlagPlain, Room: b("dev"), User: b("dan"), Text: b("hi")},
			[]string{"[dev] dan: hi"}},
		{"escape codes defused", nil, "", wire.Msg{Op: wire.OpMessage, Room: b("lobby"), User: b("eve"), Text: b("a\x1b[2Jb\r\nc\u202ed")},
			// A newline continues the message indented, so it can never start a line of its own.
			[]string{"[lobby] eve: a?[2Jb", "    c?d"}},
		{"direct", nil, "", wire.Msg{Op: wire.OpDirect, User: b("alice"), Text: b("hi"), ID: 5}, []string{"[dm] alice: hi"}},
		{"direct again", nil, "", wire.Msg{Op: wire.OpDirect, User: b("alice"), Text: b("hi"), ID: 5}, nil},
		{"direct, older id", nil, "", wire.Msg{Op: wire.OpDirect, User: b("alice"), Text: b("old"), ID: 4}, nil},
		{"direct, next id", nil, "", wire.Msg{Op: wire.OpDirect, User: b("alice"), Text: b("next"), ID: 6}, []string{"[dm] alice: next"}},
		{"joined", nil, "", wire.Msg{Op: wire.OpJoined, Room: b("lobby"), User: b("bob")}, []string{"-- bob joined lobby"}},
		{"joined, self", nil, "", wire.Msg{Op: wire.OpJoined, Room: b("lobby"), User: b("carol")}, nil},
		{"parted", nil, "", wire.Msg{Op: wire.OpParted, Room: b("lobby"), User: b("bob"), Text: b("left")}, []string{"-- bob left lobby"}},
		{"parted, quit", nil, "", wire.Msg{Op: wire.OpParted, Room: b("lobby"), User: b("bob"), Text: b("quit")}, []string{"-- bob quit"}},
		{"parted, reason", nil, "", wire.Msg{Op: wire.OpParted, Room: b("lobby"), User: b("bob"), Text: b("idle")}, []string{"-- bob left lobby (idle)"}},
		{"delivered", nil, "", wire.Msg{Op: wire.OpDelivered, User: b("bob"), ID: 7}, []string{"-- delivered to bob (id 7)"}},
		{"rooms", nil, "", wire.Msg{Op: wire.OpRooms, Text: b("lobby\t2\ndev\t1\tplain\n")}, []string{"-- rooms: lobby (2), dev (1, plain)"}},
		{"no rooms", nil, "", wire.Msg{Op: wire.OpRooms}, []string{"-- no rooms"}},
		{"who room", nil, "", wire.Msg{Op: wire.OpUsers, Room: b("lobby"), Text: b("alice\nbob")}, []string{"-- in lobby: alice, bob"}},
		{"who everyone", nil, "", wire.Msg{Op: wire.OpUsers, Text: b("alice\nbob\n")}, []string{"-- online: alice, bob"}},
		{"server ping", nil, "", wire.Msg{Op: wire.OpSrvPing, ID: 3}, nil},
		{"unknown op", nil, "", wire.Msg{Op: 200}, nil},
		{"bye", nil, "", wire.Msg{Op: wire.OpBye, Text: b("shutting down")}, []string{"-- server closing: shutting down"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			if tt.room != "" {
				c.setRoom(tt.room)
			}
			if tt.pending != nil {
				tt.m.Seq = 1000 + uint32(len(c.pending))
				c.pending[tt.m.Seq] = *tt.pending
			}
			c.handle(&tt.m)
			c.scr.flush()
			var got []string
			if s := strings.TrimSuffix(out.String(), "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "lobby", c.room, "a failed join went back to the previous room")
}

func TestRenderTTY(t *testing.T) {
	r := renderer{tty: true, colour: true, now: func() time.Time { return time.Date(2026, 1, 2, 9, 5, 0, 0, time.Local) }}
	line := r.roomMessage(&wire.Msg{Room: []byte("lobby"), User: []byte("alice"), Text: []byte("hi")})
	assert.Regexp(t, `^09:05 \[lobby\] \x1b\[(3|9)[1-6]malice\x1b\[0m: hi$`, line)
	old := r.roomMessage(&wire.Msg{Room: []byte("lobby"), User: []byte("alice"), Text: []byte("hi"),
		Time: time.Date(2025, 12, 31, 23, 59, 0, 0, time.Local).UnixNano()})
	assert.Regexp(t, `^2025-12-31 23:59 \[lobby\] `, old, "a message not from today has its date")

	r.colour = false // NO_COLOR: times stay, escape codes go
	assert.Equal(t, "09:05 [lobby] alice: hi", r.roomMessage(&wire.Msg{Room: []byte("lobby"), User: []byte("alice"), Text: []byte("hi")}))
	assert.Equal(t, "09:05 !! oops", r.alert("oops"))
	r.colour = true
	assert.Equal(t, r.name([]byte("alice")), r.name([]byte("alice")), "a name keeps its colour")
	ansi := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	assert.Equal(t, "09:05 !! oops", ansi.ReplaceAllString(r.alert("oops"), ""))
}

func TestTTYScreenRedraw(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	ed := &editor{}
	s := &ttyScreen{w: w, fd: -1, ed: ed, prompt: "[lobby]> ", active: true}
	for _, k := range []byte("hello\x1b[D\x1b[D") {
		ed.key(k)
	}
	s.flush()
	assert.Equal(t, "\r\x1b[K[lobby]> hello\x1b[2D", out.String())
	out.Reset()
	s.println("[lobby] bob: hi")
	s.flush()
	assert.Equal(t, "\r\x1b[K[lobby] bob: hi\r\n\r\x1b[K[lobby]> hello\x1b[2D", out.String())
	out.Reset()
	s.flush()
	assert.Empty(t, out.String(), "nothing changed, nothing drawn")
}
