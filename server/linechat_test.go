// Line chat by hand: the line splitter, a session over socketpairs, malformed input, and its fuzz target.
package server

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// plainLoop is a daemon loop that never runs: tests drive its dialects by
// hand, reading and flushing the way one iteration would. Its log is kept.
func plainLoop(tb testing.TB, cfg Config) (*Loop, *bytes.Buffer) {
	tb.Helper()
	cfg.DataDir = tb.TempDir()
	cfg.Listen = "127.0.0.1:0"
	l, err := New(cfg, zerolog.Nop())
	require.NoError(tb, err)
	logs := &bytes.Buffer{}
	l.log = zerolog.New(logs)
	tb.Cleanup(l.shutdown)
	return l, logs
}

// plainPeer is the client end of a socketpair whose server end is a Conn on
// the loop with the handler mk builds.
type plainPeer struct {
	tb testing.TB
	l  *Loop
	c  *Conn
	fd int
}

func attach(tb testing.TB, l *Loop, typ int, mk func(*Conn) handler) *plainPeer {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err != nil && typ == unix.SOCK_SEQPACKET {
		tb.Fatalf("no SOCK_SEQPACKET socketpair here: %v", err)
	}
	require.NoError(tb, err)
	return attachFds(tb, l, fds, mk)
}

// attachFds puts fds[0] on the loop as a Conn and gives the test fds[1].
func attachFds(tb testing.TB, l *Loop, fds [2]int, mk func(*Conn) handler) *plainPeer {
	tb.Helper()
	for _, fd := range fds {
		require.NoError(tb, unix.SetNonblock(fd, true))
		unix.CloseOnExec(fd)
	}
	l.addConn(fds[0], "test", mk)
	p := &plainPeer{tb: tb, l: l, c: l.conns[fds[0]], fd: fds[1]}
	require.NotNil(tb, p.c)
	tb.Cleanup(func() { unix.Close(p.fd) })
	return p
}

// awaitInput waits, up to a second, until fd has input to read: over a
// socketpair it has at once, over loopback TCP once the segment is through.
func awaitInput(fd int) {
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 1000)
}

func attachLineChat(tb testing.TB, l *Loop) *plainPeer {
	return attach(tb, l, unix.SOCK_STREAM, func(c *Conn) handler { return newLineChat(l.hub, c) })
}

// send writes s as one read's worth and lets the server read it, then runs
// the end of the iteration.
func (p *plainPeer) send(s string) {
	p.tb.Helper()
	_, err := unix.Write(p.fd, []byte(s))
	require.NoError(p.tb, err)
	if !p.c.closed && !p.c.dying {
		p.c.read()
	}
	p.l.beforeSleep()
}

// recv returns everything the server has written so far.
func (p *plainPeer) recv() string {
	var out []byte
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Read(p.fd, buf)
		if n <= 0 || err != nil {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

// records returns what the server wrote, one element per write (SOCK_SEQPACKET).
func (p *plainPeer) records() []string {
	var out []string
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(p.fd, buf)
		if n <= 0 || err != nil {
			return out
		}
		out = append(out, string(buf[:n]))
	}
}

func TestLineSplitter(t *testing.T) {
	type step struct {
		in   string
		msgs []string
		err  error
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"unframed read is one message", []step{{"alice", []string{"alice"}, nil}, {"hi all", []string{"hi all"}, nil}}},
		{"newline frames from then on", []step{{"alice\nhi", []string{"alice"}, nil}, {" there\r\n", []string{"hi there"}, nil}}},
		{"crlf and empty lines", []step{{"a\r\n\nb\n", []string{"a", "", "b"}, nil}}},
		{"max is accepted", []step{{strings.Repeat("x", 8) + "\n", []string{strings.Repeat("x", 8)}, nil}}},
		{"unframed too long", []step{{strings.Repeat("x", 10), nil, errLineTooLong}}},
		{"framed too long", []step{{"a\n" + strings.Repeat("x", 10), []string{"a"}, errLineTooLong}}},
		{"too long with newline", []step{{strings.Repeat("x", 9) + "\n", nil, errLineTooLong}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lineSplitter{max: 8}
			var pending []byte
			for _, st := range tc.steps {
				pending = append(pending, st.in...)
				var got []string
				var err error
				for {
					var msg []byte
					var n int
					msg, n, err = s.next(pending)
					if err != nil || n == 0 {
						break
					}
					got = append(got, string(msg))
					pending = pending[n:]
				}
				assert.Equal(t, st.msgs, got)
				assert.Equal(t, st.err, err)
			}
		})
	}
}

// Framed input split at every byte gives the same messages as in one piece.
func TestLineSplitterByteAtATime(t *testing.T) {
	input := "first\nsecond line\r\nthird é ünïcode\n\nlast\n"
	whole := lineSplitter{max: 64}
	var want []string
	for b := []byte(input); ; {
		msg, n, err := whole.next(b)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		want = append(want, string(msg))
		b = b[n:]
	}
	s := lineSplitter{st: lineFramed, max: 64}
	var got []string
	var pending []byte
	for i := 0; i < len(input); i++ {
		pending = append(pending, input[i])
		for {
			msg, n, err := s.next(pending)
			require.NoError(t, err)
			if n == 0 {
				break
			}
			got = append(got, string(msg))
			pending = pending[n:]
		}
	}
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"first", "second line", "third é ünïcode", "", "last"}, got)
}

func TestLineChatSession(t *testing.T) {
	l, logs := plainLoop(t, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}, LogMessages: true})
	provision(t, l, "carol", 64<<10) // a provisioned native user

	a := attachLineChat(t, l)
	l.beforeSleep()
	assert.Equal(t, "Welcome to the best chat in the universe!", a.recv(), "no trailing newline: clients print it as received")
	a.send("alice") // line-chat clients send without a newline
	assert.Equal(t, "no", a.recv(), "the name is free")

	b := attachLineChat(t, l)
	l.beforeSleep()
	b.recv()
	b.send("alice\n")
	assert.Equal(t, "yes", b.recv(), "alice is taken")
	b.send("carol\n")
	assert.Equal(t, "yes", b.recv(), "a native user's name")
	b.send("no spaces please\n")
	assert.Equal(t, "yes", b.recv(), "an invalid name cannot be had either")
	b.send("bob\n")
	assert.Equal(t, "no", b.recv(), "a second name after a taken one")
	assert.Equal(t, "[SERVER] Client: bob connected!\n", a.recv())

	b.send("hello everyone\n")
	assert.Equal(t, "bob: hello everyone\n", a.recv())
	assert.Empty(t, b.recv(), "no echo to the sender")
	a.send("hi bob")
	assert.Equal(t, "alice: hi bob\n", b.recv())
	b.send("\n")
	assert.Empty(t, a.recv(), "an empty line is not a message")

	// Byte at a time, once framed: one message.
	for _, ch := range []byte("split up\n") {
		b.send(string(ch))
	}
	assert.Equal(t, "bob: split up\n", a.recv())

	b.send(strings.Repeat("x", l.cfg.MaxMessage+1) + "\n")
	assert.Equal(t, "[SERVER] Message too long (max 4096 bytes).\n", b.recv())
	assert.False(t, b.c.dying)

	assert.Contains(t, logs.String(), `"message":"bob: hello everyone"`)
	assert.Contains(t, logs.String(), `"message":"[SERVER] Client: bob connected!"`)

	a.send(":q")
	assert.True(t, a.c.closed)
	assert.Equal(t, "[SERVER] Client: alice disconnected!\n", b.recv())
	assert.Nil(t, l.hub.online["alice"])
	assert.Len(t, l.hub.rooms["lobby"].members, 1)
}

func TestLineChatMalformed(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}})
	bystander := attachLineChat(t, l)
	bystander.send("watcher\n")
	bystander.recv()
	for _, tc := range []struct {
		name, input, last string
	}{
		{"binary junk", "\x00\x01\xff\xfe junk\n", "[SERVER] Text must be UTF-8 without control characters: closing.\n"},
		{"invalid utf-8", "nick\n\xc3\x28\n", "[SERVER] Text must be UTF-8 without control characters: closing.\n"},
		{"escape sequence", "nick\n\x1b[2Jgotcha\n", "[SERVER] Text must be UTF-8 without control characters: closing.\n"},
		{"long line", strings.Repeat("y", 60000), "[SERVER] Line too long: closing.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := attachLineChat(t, l)
			p.send(tc.input)
			assert.True(t, p.c.closed, "closed")
			assert.True(t, strings.HasSuffix(p.recv(), tc.last))
			assert.Nil(t, l.hub.online["nick"])
			bystander.recv()
		})
	}
	assert.False(t, bystander.c.closed)
}

func TestLineChatTimeouts(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}, AuthTimeout: time.Second, IdleTimeout: time.Minute})
	silent := attachLineChat(t, l)
	talker := attachLineChat(t, l)
	talker.send("talker\n")
	l.now += int64(2 * time.Second)
	l.expire()
	l.beforeSleep()
	assert.True(t, silent.c.closed)
	assert.Contains(t, silent.recv(), "[SERVER] No nickname received: closing.\n")
	assert.False(t, talker.c.closed)
	l.now += int64(2 * time.Minute)
	l.expire()
	l.beforeSleep()
	assert.True(t, talker.c.closed)
	assert.Nil(t, l.hub.online["talker"])
}

// checkPlainOutput is what every plain-text client may rely on: UTF-8, and no
// control character but the newline that ends each line.
func checkPlainOutput(t *testing.T, out string) {
	require.True(t, strings.ToValidUTF8(out, "\ufffd") == out, "invalid UTF-8 sent: %q", out)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		require.NoError(t, checkText([]byte(line)), "line %q", line)
	}
}

func FuzzLineChat(f *testing.F) {
	f.Add([]byte("alice"), []byte(":q"), uint8(0))
	f.Add([]byte("bob\nhello\r\nworld"), []byte("\n"), uint8(3))
	f.Add([]byte("watcher\n"), []byte("x"), uint8(1))
	f.Add([]byte("\x00\xff\n"), []byte("y\n"), uint8(7))
	f.Add([]byte("n\n"+strings.Repeat("z", 5000)), []byte("\n"), uint8(200))
	l, _ := plainLoop(f, Config{Listeners: map[string]string{"linechat": "127.0.0.1:0"}})
	l.hub.store.histN = 0 // keeps beforeSleep from committing (and fsyncing) per input
	l.log = zerolog.Nop()
	w := attachLineChat(f, l)
	w.send("watcher\n")
	w.recv()
	f.Fuzz(func(t *testing.T, first, second []byte, cut uint8) {
		p := attachLineChat(t, l)
		// The first input arrives in reads of cut+1 bytes (64 reads at most), the second whole.
		for step := max(int(cut)+1, len(first)/64); len(first) > 0 && !p.c.closed && !p.c.dying; {
			n := min(step, len(first))
			unix.Write(p.fd, first[:n])
			p.c.read()
			first = first[n:]
		}
		if !p.c.closed && !p.c.dying && len(second) > 0 {
			unix.Write(p.fd, second)
			p.c.read()
		}
		l.beforeSleep()
		checkPlainOutput(t, w.recv())
		out := p.recv()
		require.True(t, strings.HasPrefix(out, l.cfg.Welcome))
		checkPlainOutput(t, out)
		if !p.c.closed {
			l.closeConn(p.c, ReasonPeerClosed, nil)
		}
		l.beforeSleep()
		checkPlainOutput(t, w.recv())
		require.False(t, w.c.closed, "the bystander keeps its connection")
		require.Len(t, l.hub.online, 1, "only the bystander is online")
		require.Len(t, l.hub.rooms, 1)
		require.Len(t, l.hub.rooms["lobby"].members, 1)
	})
}
