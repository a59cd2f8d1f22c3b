package server

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// nativeClient is the client end of a socketpair whose server end runs the
// native dialect, with the bundle's sending pad to seal real frames.
type nativeClient struct {
	p    *plainPeer
	sess otp.Session
	snd  *otp.Sender
}

func attachNative(tb testing.TB, l *Loop, snd *otp.Sender) *nativeClient {
	return greetNative(tb, attach(tb, l, unix.SOCK_STREAM, nativeConn(l)), snd)
}

func nativeConn(l *Loop) func(*Conn) handler {
	return func(c *Conn) handler { return newNative(l.hub, c) }
}

// greetNative exchanges the greetings with the native Conn at p's other end.
func greetNative(tb testing.TB, p *plainPeer, snd *otp.Sender) *nativeClient {
	l := p.l
	l.beforeSleep() // flushes the server's greeting
	awaitInput(p.fd)
	nonce, err := wire.ParseGreeting([]byte(p.recv()))
	require.NoError(tb, err)
	n := &nativeClient{p: p, snd: snd}
	n.sess.Server = nonce
	rand.Read(n.sess.Client[:])
	_, err = unix.Write(p.fd, wire.AppendGreeting(nil, n.sess.Client))
	require.NoError(tb, err)
	return n
}

// frame seals plain as the next client frame.
func (n *nativeClient) frame(tb testing.TB, plain []byte) []byte {
	f, err := n.snd.Seal(nil, plain, otp.ToServer, &n.sess)
	require.NoError(tb, err)
	require.NoError(tb, n.snd.Reserve())
	return f
}

const (
	fuzzPad      = 4 << 20
	fuzzLow      = 256 << 10
	fuzzMaxPlain = 8 << 10
)

// FuzzNativeCommands authenticates a real session per input, then feeds the
// server a validly sealed frame carrying arbitrary plaintext, split into
// reads of cut+1 bytes, and then raw bytes after it: no input may panic the
// server, and the next session must still authenticate.
func FuzzNativeCommands(f *testing.F) {
	f.Add(wire.Append(nil, &wire.Msg{Op: wire.OpJoin, Room: []byte("r")}), []byte{}, uint8(0))
	f.Add(wire.Append(nil, &wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: []byte("hi")}), []byte("junk"), uint8(3))
	f.Add(wire.Append(nil, &wire.Msg{Op: wire.OpDM, User: []byte("fz1"), Text: []byte("x")}), []byte{}, uint8(9))
	f.Add(wire.Append(nil, &wire.Msg{Op: wire.OpAck, User: []byte("fz1"), ID: 1}), []byte{}, uint8(1))
	f.Add(wire.Append(nil, &wire.Msg{Op: wire.OpHistory, Room: []byte("r"), ID: 1 << 31}), []byte{}, uint8(200))
	f.Add([]byte{0xff, 0, 0}, []byte("PC\x01\x01"), uint8(0))
	l, _ := plainLoop(f, Config{})
	l.hub.store.histN = 0
	logs := &lockedLog{}
	l.log = zerolog.New(logs)
	// The fuzz engine kills its workers, so their temp dirs are never cleaned:
	// keep pads small and move to a fresh user when either side runs low.
	var snd *otp.Sender
	var user string
	users := 0
	provision := func(tb testing.TB) {
		if snd != nil {
			snd.Close()
		}
		users++
		user = fmt.Sprintf("fz%d", users)
		provision(tb, l, user, fuzzPad)
		dir := BundleDir(l.cfg.DataDir, user)
		pad, err := otp.OpenPad(bundle.Path(dir, bundle.SendPad))
		require.NoError(tb, err)
		snd, err = otp.OpenSender(pad, pad.Path()+bundle.StateSuffix, otp.SenderOptions{NoLock: true})
		require.NoError(tb, err)
	}
	provision(f)
	f.Cleanup(func() { snd.Close() })
	hello := wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("fuzz")})

	f.Fuzz(func(t *testing.T, plain, raw []byte, cut uint8) {
		if u := l.hub.acct.byName[user]; snd.Remaining() < fuzzLow || u != nil && u.sender != nil && u.sender.Remaining() < fuzzLow {
			provision(t)
		}
		n := attachNative(t, l, snd)
		feed := func(b []byte) {
			for step := int(cut) + 1; len(b) > 0 && !n.p.c.closed && !n.p.c.dying; {
				k := min(step, len(b))
				unix.Write(n.p.fd, b[:k])
				n.p.c.read()
				b = b[k:]
			}
			l.beforeSleep()
		}
		feed(n.frame(t, hello))
		require.False(t, n.p.c.dying || n.p.c.closed, "a valid hello must be accepted: %v\n%s", n.p.c.reason, logs.tail())
		if len(plain) <= fuzzMaxPlain { // bigger frames are refused by their header: raw covers that
			feed(n.frame(t, plain))
		}
		feed(raw)
		n.p.recv()
		unix.Shutdown(n.p.fd, unix.SHUT_WR)
		for !n.p.c.closed {
			n.p.c.read()
			l.beforeSleep()
		}
		// Unacknowledged DMs to itself would be pushed again to every session
		// until the pad ran out: start each input with an empty mailbox.
		l.hub.store.forgetMailbox(user)
		require.NoError(t, l.hub.store.usable())
	})
}

type lockedLog struct{ b []byte }

func (l *lockedLog) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 8<<10 {
		l.b = l.b[len(l.b)-4<<10:]
	}
	return len(p), nil
}
func (l *lockedLog) tail() string { return string(l.b) }
