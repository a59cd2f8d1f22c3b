// Two sessions of one user share nothing in the clear but sizes: fresh nonces, one-time handles.
package tests

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/wire"
)

// tap is a TCP relay in front of the daemon that records every byte each
// way, as a passive observer on the path would.
type tap struct {
	ln         net.Listener
	mu         sync.Mutex
	sessions   []*tapped
	wg         sync.WaitGroup
	serverAddr string
}

type tapped struct{ up, down bytes.Buffer }

func newTap(t *testing.T, serverAddr string) *tap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tp := &tap{ln: ln, serverAddr: serverAddr}
	t.Cleanup(func() { ln.Close(); tp.wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", serverAddr)
			if err != nil {
				c.Close()
				continue
			}
			rec := &tapped{}
			tp.mu.Lock()
			tp.sessions = append(tp.sessions, rec)
			tp.mu.Unlock()
			tp.wg.Add(2)
			pipe := func(dst, src net.Conn, buf *bytes.Buffer) {
				defer tp.wg.Done()
				io.Copy(io.MultiWriter(dst, &lockedWriter{&tp.mu, buf}), src)
				dst.Close()
				src.Close()
			}
			go pipe(s, c, &rec.up)
			go pipe(c, s, &rec.down)
		}
	}()
	return tp
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// clearFields are the values a passive observer reads off one connection:
// the greeting nonces and every frame header's id and offset.
func clearFields(t *testing.T, b []byte) map[string]bool {
	t.Helper()
	fields := map[string]bool{}
	require.GreaterOrEqual(t, len(b), wire.GreetingSize)
	fields["nonce:"+string(b[4:wire.GreetingSize])] = true
	b = b[wire.GreetingSize:]
	for len(b) >= otp.HeaderSize && !wire.IsRefusal(b) {
		n, err := otp.FrameLen(b, 0)
		require.NoError(t, err)
		fields["id:"+string(b[4:20])] = true
		fields["offset:"+string(b[20:28])] = true
		b = b[n:]
	}
	return fields
}

func (tp *tap) fields(t *testing.T, i int) map[string]bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	s := tp.sessions[i]
	up, down := clearFields(t, s.up.Bytes()), clearFields(t, s.down.Bytes())
	for k := range down {
		up[k] = true
	}
	return up
}

func TestSessionsAreUnlinkable(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("alice", 0)
	peer := dial(t, d, "bob")
	join(t, peer, "lobby")
	tp := newTap(t, d.addr)
	sendID, err := otp.ReadPadID(bundle.Path(dir, bundle.SendPad))
	require.NoError(t, err)
	recvID, err := otp.ReadPadID(bundle.Path(dir, bundle.RecvPad))
	require.NoError(t, err)
	handle := bundle.Path(dir, bundle.HandleFile)

	const sessions = 3
	for i := 0; i < sessions; i++ {
		c, err := pcclient.Dial(tp.ln.Addr().String(), dir)
		require.NoError(t, err)
		join(t, c, "lobby")
		request(t, c, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("same words every time")})
		messageFrom(t, peer, "alice")
		waitFor(t, 10*time.Second, func() bool { _, err := os.Stat(handle); return err == nil },
			"session %d to store its next handle", i)
		c.Close()
	}
	waitFor(t, 10*time.Second, func() bool { tp.mu.Lock(); defer tp.mu.Unlock(); return len(tp.sessions) == sessions }, "sessions")
	tp.ln.Close()
	d.waitLog(`"user":"alice","remote"`)
	time.Sleep(100 * time.Millisecond) // the relay's last bytes

	all := make([]map[string]bool, sessions)
	for i := range all {
		all[i] = tp.fields(t, i)
	}
	assert.True(t, all[0]["id:"+string(sendID[:])], "a first connect names the pad")
	for i := 1; i < sessions; i++ {
		assert.False(t, all[i]["id:"+string(sendID[:])], "session %d shows the send pad id", i)
		assert.False(t, all[i]["id:"+string(recvID[:])], "session %d shows the recv pad id", i)
		for j := 0; j < i; j++ {
			for f := range all[i] {
				assert.False(t, all[j][f], "sessions %d and %d share the clear field %x", j, i, f)
			}
		}
	}
}

// A handle is good for one session: presented again, it is refused like any
// unknown id, and the client falls back to its pad id.
func TestSessionHandleIsOneTime(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("alice", 0)
	handle := bundle.Path(dir, bundle.HandleFile)
	c, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	request(t, c, wire.Msg{Op: wire.OpPing})
	c.Close()
	h, err := os.ReadFile(handle)
	require.NoError(t, err, "the first session left a handle")

	c, err = pcclient.Dial(d.addr, dir) // uses and consumes h
	require.NoError(t, err)
	request(t, c, wire.Msg{Op: wire.OpPing})
	c.Close()
	_, err = os.Stat(handle)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(handle, h, 0o600)) // the used one, replayed
	refusals := bytes.Count([]byte(d.logs.String()), []byte(`"reason":"authentication failed"`))
	c, err = pcclient.Dial(d.addr, dir)
	require.NoError(t, err, "refused on the used handle, then by pad id")
	request(t, c, wire.Msg{Op: wire.OpPing})
	c.Close()
	assert.Equal(t, refusals+1, bytes.Count([]byte(d.logs.String()), []byte(`"reason":"authentication failed"`)))

	// A lost handle file: the pad id, at once.
	require.NoError(t, os.Remove(handle))
	c, err = pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	request(t, c, wire.Msg{Op: wire.OpPing}) // reads past the next handle
	c.Close()

	// The handles survive a restart (they are durable before they are sent).
	waitFor(t, 10*time.Second, func() bool { _, err := os.Stat(handle); return err == nil }, "a handle")
	require.NoError(t, d.stop())
	d.start()
	c, err = pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	c.Close()
	assert.NotContains(t, d.logs.String(), `"reason":"authentication failed"`, "the handle held across the restart")
}

// The terminal client keeps the handle beside its bundle and presents it
// next time; a handle the server does not know costs one retry by pad id.
func TestClientSessionHandles(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("alice", 0)
	handle := bundle.Path(dir, bundle.HandleFile)
	for i := 0; i < 2; i++ {
		alice := startClient(t, d, "alice")
		alice.expect("-- joined lobby")
		waitFor(t, 10*time.Second, func() bool { _, err := os.Stat(handle); return err == nil }, "the client to keep its handle")
		alice.stdin.Close()
		require.NoError(t, alice.exit())
	}
	assert.NotContains(t, d.logs.String(), `"reason":"authentication failed"`, "the second session presented its handle")

	require.NoError(t, os.WriteFile(handle, bytes.Repeat([]byte{7}, otp.IDSize), 0o600)) // unknown to the server
	alice := startClient(t, d, "alice")
	alice.expect("-- joined lobby")
	alice.stdin.Close()
	require.NoError(t, alice.exit())
	d.waitLog(`"reason":"authentication failed"`)
}
