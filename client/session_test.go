// Whole sessions against a fake server on loopback, driven through stdin.
package client

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// newSession starts a fake server and a client on a fresh bundle for carol.
func newSession(t *testing.T, stdin io.Reader, sendSize int64) (*fakeServer, *syncBuffer, string, func() error) {
	t.Helper()
	srv := listen(t)
	dir, pads := newBundle(t, "carol", srv.addr(), sendSize, testPadSize)
	srv.pads = pads
	out := &syncBuffer{}
	wait := startClient(t, Config{Bundle: dir, Stdin: stdin, Stdout: out})
	return srv, out, dir, wait
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestSessionPipedStdin(t *testing.T) {
	in, typed := pipe(t)
	srv, out, dir, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- Welcome to the best chat in the universe!")
	waitLine(t, out, "-- joined lobby")

	typed.WriteString("hello world\n")
	srv.expect(wire.OpSay, "lobby", "", "hello world")
	typed.WriteString("/me waves\n")
	assert.Equal(t, uint8(wire.FlagMe), srv.expect(wire.OpSay, "lobby", "", "waves").Flags)
	typed.WriteString("/nope\n") // a local error: nothing is sent
	waitLine(t, out, "!! unknown command /nope (try /help)")

	typed.WriteString("/msg bob psst\n")
	dm := srv.expect(wire.OpDM, "", "bob", "psst")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: dm.Seq, ID: 7})
	waitLine(t, out, "-- sent to bob (id 7)")
	srv.send(wire.Msg{Op: wire.OpDelivered, User: []byte("bob"), ID: 7})
	waitLine(t, out, "-- delivered to bob (id 7)")
	// A receipt kept while we were away is shown and acknowledged.
	srv.send(wire.Msg{Op: wire.OpDelivered, Flags: wire.FlagReceipt, User: []byte("carol"), ID: 3})
	waitLine(t, out, "-- delivered to carol (id 3)")
	ack := srv.expect(wire.OpAck, "", "carol", "")
	assert.Equal(t, uint32(3), ack.ID)
	assert.NotZero(t, ack.Flags&wire.FlagReceipt)

	// The server redelivers a DM whose ack it missed: acked twice, shown once.
	direct := wire.Msg{Op: wire.OpDirect, User: []byte("alice"), Text: []byte("hi"), ID: 5, Time: time.Now().UnixNano()}
	for range 2 {
		srv.send(direct)
		assert.Equal(t, uint32(5), srv.expect(wire.OpAck, "", "alice", "").ID)
	}
	srv.send(wire.Msg{Op: wire.OpSrvPing, ID: 9})
	assert.Equal(t, uint32(9), srv.expect(wire.OpPong, "", "", "").ID)
	srv.send(wire.Msg{Op: wire.OpMessage, Room: []byte("lobby"), User: []byte("bob"), Text: []byte("after")})
	waitLine(t, out, "[lobby] bob: after")
	assert.Equal(t, 1, strings.Count(out.String(), "[dm] alice: hi\n"))
	seen, err := os.ReadFile(filepath.Join(dir, SeenFile))
	require.NoError(t, err)
	assert.Equal(t, "alice 5\n", string(seen))

	typed.Close() // EOF: quit in order
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())
}

func TestSessionScriptFromFile(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script.txt")
	require.NoError(t, os.WriteFile(script, []byte(
		"/join dev\nhi there\r\n/me waves\n/love\n/msg bob yo\n/list\n/who\n/who dev\n/history 5\n/part\nback in lobby\n/bogus\n/quit\nnever sent\n"), 0o600))
	in, err := os.Open(script) // a regular file: the poller refuses it, so it is always readable
	require.NoError(t, err)
	defer in.Close()
	srv, out, _, wait := newSession(t, in, testPadSize)
	srv.login("carol", "lobby")

	join := srv.expect(wire.OpJoin, "dev", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq, Flags: wire.FlagPlain})
	srv.expect(wire.OpSay, "dev", "", "hi there")
	assert.Equal(t, uint8(wire.FlagMe), srv.expect(wire.OpSay, "dev", "", "waves").Flags)
	srv.expect(wire.OpSay, "dev", "", "❤️")
	dm := srv.expect(wire.OpDM, "", "bob", "yo")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: dm.Seq, ID: 3})
	list := srv.expect(wire.OpList, "", "", "")
	srv.send(wire.Msg{Op: wire.OpRooms, Seq: list.Seq, Text: []byte("lobby\t2\ndev\t1\tplain")})
	who := srv.expect(wire.OpWho, "", "", "")
	srv.send(wire.Msg{Op: wire.OpUsers, Seq: who.Seq, Text: []byte("alice\nbob\ncarol")})
	who = srv.expect(wire.OpWho, "dev", "", "")
	srv.send(wire.Msg{Op: wire.OpUsers, Seq: who.Seq, Room: []byte("dev"), Text: []byte("carol")})
	hist := srv.expect(wire.OpHistory, "dev", "", "")
	assert.Equal(t, uint32(5), hist.ID)
	srv.send(wire.Msg{Op: wire.OpMessage, Flags: wire.FlagHistory | wire.FlagPlain, Room: []byte("dev"), User: []byte("bob"), Text: []byte("old")})
	srv.send(wire.Msg{Op: wire.OpOK, Seq: hist.Seq})
	part := srv.expect(wire.OpPart, "dev", "", "")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: part.Seq})
	srv.expect(wire.OpSay, "lobby", "", "back in lobby")
	srv.expect(wire.OpQuit, "", "", "")
	srv.conn.Close()
	require.NoError(t, wait())

	// Local lines and replies interleave by timing; each appears exactly once.
	assert.ElementsMatch(t, []string{
		"-- Welcome to the best chat in the universe!",
		"-- joined lobby",
		"!! unknown command /bogus (try /help)",
		"-- joined dev",
		"-- dev is NOT encrypted: plain-text members can read it",
		"-- sent to bob (id 3)",
		"-- rooms: lobby (2), dev (1, plain)",
		"-- online: alice, bob, carol",
		"-- in dev: carol",
		"[dev] (history) bob: old",
		"-- left dev",
		"-- current room is now lobby",
	}, out.lines())
}

func TestSessionStdinWithoutInput(t *testing.T) {
	devNull := func(t *testing.T) io.Reader {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	reader := func(*testing.T) io.Reader { return strings.NewReader("from a reader") }
	for _, tt := range []struct {
		name  string
		stdin func(*testing.T) io.Reader
		says  []string
	}{
		{"dev null", devNull, nil},
		{"in-memory reader, last line unterminated", reader, []string{"from a reader"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _, wait := newSession(t, tt.stdin(t), testPadSize)
			srv.login("carol", "lobby")
			for _, s := range tt.says {
				srv.expect(wire.OpSay, "lobby", "", s)
			}
			srv.expect(wire.OpQuit, "", "", "")
			srv.conn.Close()
			require.NoError(t, wait())
		})
	}
}

func TestSessionEnds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		server  func(*fakeServer)
		wantErr string // "" for a clean exit
		line    string
	}{
		{"refused", func(s *fakeServer) {
			s.accept()
			s.expect(wire.OpHello, "", "", HelloText)
			s.conn.Write(wire.AppendRefusal(nil, wire.RefuseUnknownPad, "authentication failed: this server holds no such pad"))
			s.conn.Close()
		}, "authentication failed: this server holds no such pad", ""},
		{"refused, busy", func(s *fakeServer) {
			s.accept()
			s.read() // the Hello; closing with it unread would reset the connection
			s.conn.Write(wire.AppendRefusal(nil, wire.RefuseBusy, "too many connections"))
			s.conn.Close()
		}, "server busy: too many connections", ""},
		{"bye, final", func(s *fakeServer) {
			s.login("carol", "lobby")
			s.send(wire.Msg{Op: wire.OpBye, ID: uint32(wire.ByeRemoved), Text: []byte("user carol removed")})
			s.closedByClient()
		}, "server ended the session: account removed: user carol removed", ""},
		{"bye, locked", func(s *fakeServer) {
			s.login("carol", "lobby")
			s.send(wire.Msg{Op: wire.OpBye, ID: uint32(wire.ByeLocked), Text: []byte("too many bad frames")})
			s.closedByClient()
		}, "server ended the session: account locked: too many bad frames", ""},
		{"not padchat", func(s *fakeServer) {
			conn, err := s.ln.Accept()
			require.NoError(t, err)
			conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			conn.Close()
		}, "bad data from server: greeting: " + wire.ErrNotPadchat.Error(), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := pipe(t)
			srv, out, _, wait := newSession(t, in, testPadSize)
			tt.server(srv)
			err := wait()
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tt.wantErr)
			}
			if tt.line != "" {
				assert.Contains(t, out.lines(), tt.line)
			}
		})
	}
}

func TestSendPadExhausted(t *testing.T) {
	in, typed := pipe(t)
	// 400 bytes of pad: Hello and Join fit, a 100-byte message does not.
	srv, out, _, wait := newSession(t, in, 400)
	srv.login("carol", "lobby")
	waitLine(t, out, "-- joined lobby")
	typed.WriteString(strings.Repeat("x", 100) + "\n")
	waitLine(t, out, "!! not sent: that needs 177 bytes of send pad and 242 are left (112 kept for /quit); send something shorter or /quit. A new bundle: ask the operator (padchatd user renew carol)")
	// Refused on its own: the session stays for what fits, and /quit always does.
	typed.WriteString("ok\n")
	m := srv.expect(wire.OpSay, "lobby", "", "ok")
	srv.send(wire.Msg{Op: wire.OpOK, Seq: m.Seq})
	typed.WriteString("/quit\n")
	srv.expect(wire.OpQuit, "", "", "")
	typed.Close()
	srv.conn.Close()
	err := wait()
	require.EqualError(t, err, "1 of 2 lines not delivered", "a script hears of the line it lost")
	assert.Contains(t, out.String(), "(padchatd user renew carol)", "the hint names the command that helps")
	assert.Contains(t, out.String(), "!! warning: send pad running low:")
	assert.Equal(t, 1, strings.Count(out.String(), "running low"), "warned once per session")
}

func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	dir, _ := newBundle(t, "carol", "192.0.2.1:1", 1<<10, 1<<10)
	err = Run(t.Context(), Config{Bundle: dir, Server: addr, Stdin: strings.NewReader(""), Stdout: io.Discard})
	require.EqualError(t, err, "cannot connect to "+addr+": connection refused (is padchatd running?)")
}

func TestPadInUse(t *testing.T) {
	dir, _ := newBundle(t, "carol", "127.0.0.1:1", 1<<10, 1<<10)
	pad := openPadT(t, filepath.Join(dir, bundle.SendPad))
	held, err := otp.OpenSender(pad, filepath.Join(dir, bundle.SendPad+bundle.StateSuffix), otp.SenderOptions{})
	require.NoError(t, err)
	defer held.Close()
	err = Run(t.Context(), Config{Bundle: dir, Stdin: strings.NewReader(""), Stdout: io.Discard})
	require.ErrorIs(t, err, otp.ErrPadInUse)
	assert.Contains(t, err.Error(), "in use by another padchat")
}
