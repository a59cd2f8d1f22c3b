package server

import (
	"crypto/rand"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// loginBurst is how many logins one loop iteration reads in BenchmarkLoginBurst:
// about what a crowd dialling in at once gives each iteration (the idle bench's
// 1,000 logins commit in well under 100 batches).
const loginBurst = 10

// BenchmarkLoginBurst is the server's work for a crowd of native logins:
// each op is one account's first login (greeting, hello, welcome, session
// handle) on a socketpair, loginBurst of them read in one loop iteration and
// committed by its end. The accounts are provisioned before the timer, so
// run it with a fixed count, e.g. -benchtime=1000x. B/op is what a login
// allocates, the client's sealing included (the same in every build): the
// garbage a burst leaves for the collector, which sizes the peak heap and the
// runtime's GC metadata an idle crowd keeps.
func BenchmarkLoginBurst(b *testing.B) {
	l, _ := plainLoop(b, Config{})
	l.stopTimer(l.tickTimer)
	names := make([]string, b.N)
	for i := range names {
		names[i] = fmt.Sprintf("b%05d", i)
	}
	if err := AddUsers(l.cfg.DataDir, names, 64<<10, "x", nil); err != nil {
		b.Fatal(err)
	}
	senders := make([]*otp.Sender, b.N)
	for i, name := range names {
		if _, err := l.hub.acct.sync(name); err != nil {
			b.Fatal(err)
		}
		pad, err := otp.OpenPad(bundle.Path(BundleDir(l.cfg.DataDir, name), bundle.SendPad))
		if err != nil {
			b.Fatal(err)
		}
		snd, err := otp.OpenSender(pad, pad.Path()+bundle.StateSuffix, otp.SenderOptions{NoLock: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { snd.Close(); pad.Close() })
		senders[i] = snd
	}
	hello := wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("burst")})
	buf := make([]byte, 64<<10)
	group := make([]*plainPeer, 0, loginBurst)
	b.ResetTimer()
	for i := 0; i < b.N; i += loginBurst {
		group = group[:0]
		for j := i; j < min(i+loginBurst, b.N); j++ {
			group = append(group, attach(b, l, unix.SOCK_STREAM, nativeConn(l)))
		}
		l.beforeSleep() // the greetings go out
		for k, p := range group {
			awaitInput(p.fd)
			n, _ := unix.Read(p.fd, buf)
			nonce, err := wire.ParseGreeting(buf[:n])
			if err != nil {
				b.Fatal(err)
			}
			sess := otp.Session{Server: nonce}
			rand.Read(sess.Client[:])
			snd := senders[i+k]
			out := wire.AppendGreeting(nil, sess.Client)
			if out, err = snd.Seal(out, hello, otp.ToServer, &sess); err != nil {
				b.Fatal(err)
			}
			if err := snd.Reserve(); err != nil {
				b.Fatal(err)
			}
			if _, err := unix.Write(p.fd, out); err != nil {
				b.Fatal(err)
			}
		}
		for _, p := range group {
			awaitInput(p.c.fd)
			p.c.read()
		}
		l.beforeSleep() // the batch commits; welcomes and handles go out
		for _, p := range group {
			for {
				if n, _ := unix.Read(p.fd, buf); n <= 0 {
					break
				}
			}
		}
	}
	b.StopTimer()
	if got := len(l.hub.sessions); got != b.N {
		b.Fatalf("%d of %d sessions online", got, b.N)
	}
	if got := len(l.hub.handles.account); got != b.N {
		b.Fatalf("%d of %d sessions were given a handle", got, b.N)
	}
}
