// Test helpers: bundles with tiny pads, a fake server on loopback, and a client run in the background.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

const (
	testPadSize = 4 << 20 // over the 1 MiB low-water default, so no warnings
	waitFor     = 10 * time.Second
	tick        = 5 * time.Millisecond
)

// serverPads are the server's ends of a user's two pads: its own state files
// on the same pad files, as provisioning leaves them.
type serverPads struct {
	open *otp.Receiver // opens what the client seals with send.pad
	seal *otp.Sender   // seals with recv.pad
}

// newBundle writes a bundle for user (pads of the given sizes) pointing at
// addr, and returns its directory and the server's ends of its pads.
func newBundle(t *testing.T, user, addr string, sendSize, recvSize int64) (string, *serverPads) {
	t.Helper()
	dir, srvDir := t.TempDir(), t.TempDir()
	sendID := makePad(t, dir, bundle.SendPad, sendSize, otp.RoleSend)
	recvID := makePad(t, dir, bundle.RecvPad, recvSize, otp.RoleRecv)
	require.NoError(t, bundle.Save(dir, bundle.Profile{User: user, Server: addr, SendPad: sendID.String(), RecvPad: recvID.String()}))

	sp := &serverPads{}
	c2s := openPadT(t, filepath.Join(dir, bundle.SendPad))
	s2c := openPadT(t, filepath.Join(dir, bundle.RecvPad))
	require.NoError(t, otp.InitState(filepath.Join(srvDir, "c2s.state"), sendID, otp.RoleRecv))
	require.NoError(t, otp.InitState(filepath.Join(srvDir, "s2c.state"), recvID, otp.RoleSend))
	var err error
	sp.open, err = otp.OpenReceiver(c2s, filepath.Join(srvDir, "c2s.state"), otp.ReceiverOptions{})
	require.NoError(t, err)
	sp.seal, err = otp.OpenSender(s2c, filepath.Join(srvDir, "s2c.state"), otp.SenderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { sp.open.Close(); sp.seal.Close() })
	return dir, sp
}

func makePad(t *testing.T, dir, name string, size int64, role otp.Role) otp.PadID {
	t.Helper()
	id, err := otp.CreatePad(filepath.Join(dir, name), size, nil)
	require.NoError(t, err)
	require.NoError(t, otp.InitState(filepath.Join(dir, name+bundle.StateSuffix), id, role))
	return id
}

func openPadT(t *testing.T, path string) *otp.Pad {
	t.Helper()
	p, err := otp.OpenPad(path)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// msg is a decoded message with its fields copied out of the frame buffer.
type msg struct {
	Op               wire.Op
	Flags            uint8
	Seq, ID          uint32
	Room, User, Text string
}

// fakeServer plays padchatd's side of one native session, blocking, from the test goroutine.
type fakeServer struct {
	t    *testing.T
	ln   net.Listener
	conn net.Conn
	pads *serverPads
	sess otp.Session
}

func listen(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeServer{t: t, ln: ln}
	t.Cleanup(func() {
		ln.Close()
		if s.conn != nil {
			s.conn.Close()
		}
	})
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

// accept takes the client's connection and exchanges greetings.
func (s *fakeServer) accept() {
	s.t.Helper()
	conn, err := s.ln.Accept()
	require.NoError(s.t, err)
	s.conn = conn
	require.NoError(s.t, conn.SetDeadline(time.Now().Add(waitFor)))
	rand.Read(s.sess.Server[:])
	_, err = conn.Write(wire.AppendGreeting(nil, s.sess.Server))
	require.NoError(s.t, err)
	g := make([]byte, wire.GreetingSize)
	_, err = io.ReadFull(conn, g)
	require.NoError(s.t, err)
	s.sess.Client, err = wire.ParseGreeting(g)
	require.NoError(s.t, err)
}

// read returns the client's next message. Pings are answered as padchatd
// does, in order (the client uses them to learn that its lines arrived).
func (s *fakeServer) read() msg {
	s.t.Helper()
	for {
		m := s.readAny()
		if m.Op != wire.OpPing {
			return m
		}
		s.send(wire.Msg{Op: wire.OpOK, Seq: m.Seq, Text: []byte("pong")})
	}
}

func (s *fakeServer) readAny() msg {
	s.t.Helper()
	hdr := make([]byte, otp.HeaderSize)
	_, err := io.ReadFull(s.conn, hdr)
	require.NoError(s.t, err)
	n, err := otp.FrameLen(hdr, 0)
	require.NoError(s.t, err)
	frame := append(hdr, make([]byte, n-otp.HeaderSize)...)
	_, err = io.ReadFull(s.conn, frame[otp.HeaderSize:])
	require.NoError(s.t, err)
	plain, err := s.pads.open.Open(nil, frame, otp.ToServer, &s.sess)
	require.NoError(s.t, err)
	var m wire.Msg
	require.NoError(s.t, wire.Decode(plain, &m))
	return msg{m.Op, m.Flags, m.Seq, m.ID, string(m.Room), string(m.User), string(m.Text)}
}

// expect reads the next message and checks its op and, where given, room, user and text.
func (s *fakeServer) expect(op wire.Op, room, user, text string) msg {
	s.t.Helper()
	m := s.read()
	require.Equal(s.t, op, m.Op, "message %+v", m)
	assert.Equal(s.t, room, m.Room)
	assert.Equal(s.t, user, m.User)
	assert.Equal(s.t, text, m.Text)
	return m
}

func (s *fakeServer) send(m wire.Msg) {
	s.t.Helper()
	frame, err := s.pads.seal.Seal(nil, wire.Append(nil, &m), otp.ToClient, &s.sess)
	require.NoError(s.t, err)
	if s.pads.seal.Pending() {
		require.NoError(s.t, s.pads.seal.Reserve())
	}
	_, err = s.conn.Write(frame)
	require.NoError(s.t, err)
}

// login does the server's side of Hello/Welcome and the first Join.
func (s *fakeServer) login(user, room string) {
	s.t.Helper()
	s.accept()
	hello := s.expect(wire.OpHello, "", "", HelloText)
	s.send(wire.Msg{Op: wire.OpWelcome, Seq: hello.Seq, User: []byte(user), Text: []byte("Welcome to the best chat in the universe!")})
	join := s.expect(wire.OpJoin, room, "", "")
	s.send(wire.Msg{Op: wire.OpOK, Seq: join.Seq})
}

// closedByClient waits for the client's side of the connection to end.
func (s *fakeServer) closedByClient() {
	s.t.Helper()
	_, err := s.conn.Read(make([]byte, 1))
	require.ErrorIs(s.t, err, io.EOF)
}

// syncBuffer is a stdout the test can read while the client writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) lines() []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitLine waits until line is one of the output's lines.
func waitLine(t *testing.T, out *syncBuffer, line string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, l := range out.lines() {
			if l == line {
				return true
			}
		}
		return false
	}, waitFor, tick, "waiting for %q; output so far:\n%s", line, out)
}

// startClient runs Run in the background; the returned func waits for its result.
func startClient(t *testing.T, cfg Config) (wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	var once sync.Once
	var result error
	wait = func() error {
		once.Do(func() {
			select {
			case result = <-errc:
			case <-time.After(waitFor):
				cancel()
				result = <-errc
				t.Errorf("client did not end in %s", waitFor)
			}
		})
		return result
	}
	t.Cleanup(func() { cancel(); wait() })
	return wait
}
