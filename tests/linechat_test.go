// Line chat, end to end: a client as the protocol describes it, plus the helpers the plain-text tests share.
package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialectAddr is the address a dialect bound, from its "dialect listening" log line.
func dialectAddr(t *testing.T, d *daemon, dialect string) string {
	t.Helper()
	var addr string
	waitFor(t, 10*time.Second, func() bool {
		sc := bufio.NewScanner(strings.NewReader(d.logs.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct{ Message, Dialect, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "dialect listening" && line.Dialect == dialect {
				addr = line.Addr
				return true
			}
		}
		return false
	}, "dialect %s to listen\n%s", dialect, d.logs)
	return addr
}

// lineClient is a plain-text TCP client. line reads newline-terminated lines;
// recv1024 is one recv of up to 1024 bytes, as the rooms client reads a reply.
type lineClient struct {
	t       *testing.T
	c       net.Conn
	pending []byte
}

func dialLine(t *testing.T, addr string) *lineClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &lineClient{t: t, c: c}
}

func (lc *lineClient) send(s string) {
	lc.t.Helper()
	_, err := lc.c.Write([]byte(s))
	require.NoError(lc.t, err)
}

func (lc *lineClient) line() string {
	lc.t.Helper()
	lc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		if i := bytes.IndexByte(lc.pending, '\n'); i >= 0 {
			s := string(lc.pending[:i])
			lc.pending = lc.pending[i+1:]
			return s
		}
		n, err := lc.c.Read(buf)
		if err != nil {
			lc.t.Fatalf("reading a line: %v (have %q)", err, lc.pending)
		}
		lc.pending = append(lc.pending, buf[:n]...)
	}
}

// lineUntil skips lines (notices of others) until want arrives.
func (lc *lineClient) lineUntil(want string) {
	lc.t.Helper()
	var seen []string
	for {
		s := lc.line()
		if s == want {
			return
		}
		seen = append(seen, s)
		if len(seen) > 20 {
			lc.t.Fatalf("no line %q among %q", want, seen)
		}
	}
}

// take reads exactly n bytes: for the line-chat welcome and name answers, which
// end in no newline.
func (lc *lineClient) take(n int) string {
	lc.t.Helper()
	lc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for len(lc.pending) < n {
		k, err := lc.c.Read(buf)
		if err != nil {
			lc.t.Fatalf("reading %d bytes: %v (have %q)", n, err, lc.pending)
		}
		lc.pending = append(lc.pending, buf[:k]...)
	}
	s := string(lc.pending[:n])
	lc.pending = lc.pending[n:]
	return s
}

const lineChatWelcome = "Welcome to the best chat in the universe!"

// welcome reads the line-chat welcome, which has no trailing newline.
func (lc *lineClient) welcome() {
	lc.t.Helper()
	require.Equal(lc.t, lineChatWelcome, lc.take(len(lineChatWelcome)))
}

// answer reads the server's answer to a nickname: "no" (free) or "yes" (taken).
func (lc *lineClient) answer() string {
	lc.t.Helper()
	s := lc.take(2)
	if s == "ye" {
		s += lc.take(1)
	}
	return s
}

func (lc *lineClient) recv1024() string {
	lc.t.Helper()
	require.Empty(lc.t, lc.pending, "unread lines before a reply")
	lc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1024)
	n, err := lc.c.Read(buf)
	require.NoError(lc.t, err)
	return string(buf[:n])
}

// quiet asserts that nothing arrives within d.
func (lc *lineClient) quiet(d time.Duration) {
	lc.t.Helper()
	require.Empty(lc.t, lc.pending)
	lc.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	n, err := lc.c.Read(buf)
	assert.Zero(lc.t, n, "unexpected %q", buf[:n])
	var ne net.Error
	assert.True(lc.t, errors.As(err, &ne) && ne.Timeout(), "want silence, got %v", err)
}

// closedByServer reads until the server closes (EOF or reset) and returns what came.
func (lc *lineClient) closedByServer(within time.Duration) string {
	lc.t.Helper()
	lc.c.SetReadDeadline(time.Now().Add(within))
	out := lc.pending
	buf := make([]byte, 64<<10)
	for {
		n, err := lc.c.Read(buf)
		out = append(out, buf[:n]...)
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			lc.t.Fatalf("want the server to close the connection, got %v after %q", err, out)
		}
		return string(out)
	}
}

// loginLineChat connects to the line-chat listener and takes a nickname.
func loginLineChat(t *testing.T, addr, nick string) *lineClient {
	t.Helper()
	lc := dialLine(t, addr)
	lc.welcome()
	lc.send(nick + "\n")
	require.Equal(t, "no", lc.answer())
	return lc
}

func TestLineChatSession(t *testing.T) {
	// --log-messages: the server console lines are checked below.
	d := startServer(t, "--listen-linechat", "127.0.0.1:0", "--log-messages")
	d.addUser("carol", 0) // a native user: no plain client may take the name
	addr := dialectAddr(t, d, "linechat")

	// The course's client: every send is a message, with no newline.
	alice := dialLine(t, addr)
	// One recv, as the client does: the welcome alone, with no blank line after it.
	assert.Equal(t, lineChatWelcome, alice.recv1024())
	alice.send("alice")
	assert.Equal(t, "no", alice.recv1024(), "a free name")
	d.waitLog(`"message":"[SERVER] Client: alice connected!"`)

	bob := dialLine(t, addr)
	bob.welcome()
	bob.send("alice\n")
	assert.Equal(t, "yes", bob.answer(), "a taken name")
	bob.send("carol\n")
	assert.Equal(t, "yes", bob.answer(), "a native user's name")
	bob.send("bob smith\n")
	assert.Equal(t, "yes", bob.answer(), "an invalid name")
	bob.send("bob\n")
	assert.Equal(t, "no", bob.answer(), "the second name")
	assert.Equal(t, "[SERVER] Client: bob connected!", alice.line())

	bob.send("hello everyone\n")
	assert.Equal(t, "bob: hello everyone", alice.line())
	alice.send("hi bob")
	assert.Equal(t, "alice: hi bob", bob.line())
	bob.send("¿qué tal? ünïcode ok\r\n")
	assert.Equal(t, "bob: ¿qué tal? ünïcode ok", alice.line())
	bob.quiet(200 * time.Millisecond) // nothing echoed to the sender

	// The server console, as the protocol shows it.
	d.waitLog(`"message":"[SERVER] Client: bob connected!"`)
	d.waitLog(`"message":"bob: hello everyone"`)
	d.waitLog(`"message":"alice: hi bob"`)

	// Six clients at once, as the course asks.
	var more []*lineClient
	for _, n := range []string{"c3", "c4", "c5", "c6"} {
		more = append(more, loginLineChat(t, addr, n))
	}
	alice.send("to all six")
	for _, c := range append(more, bob) {
		c.lineUntil("alice: to all six")
	}

	alice.send(":q")
	assert.NotContains(t, alice.closedByServer(5*time.Second), "[SERVER] Client: alice", "no goodbye to itself")
	bob.lineUntil("[SERVER] Client: alice disconnected!")
}

func TestLineChatMalformedInput(t *testing.T) {
	d := startServer(t, "--listen-linechat", "127.0.0.1:0", "--auth-timeout", "1s")
	addr := dialectAddr(t, d, "linechat")
	a, b := loginLineChat(t, addr, "steady_a"), loginLineChat(t, addr, "steady_b")
	chat := func(what string) {
		t.Helper()
		a.send("still here after " + what + "\n")
		b.lineUntil("steady_a: still here after " + what)
	}

	junk := dialLine(t, addr)
	junk.welcome()
	junk.send("\x00\x01\x02\xff\xfe\x80binary\n")
	assert.Contains(t, junk.closedByServer(5*time.Second), "[SERVER] Text must be UTF-8 without control characters: closing.")
	chat("junk")

	big := dialLine(t, addr)
	big.welcome()
	go big.c.Write(bytes.Repeat([]byte("A"), 1<<20)) // may fail once the server closes
	out := big.closedByServer(5 * time.Second)
	assert.True(t, out == "" || strings.Contains(out, "[SERVER] Line too long: closing."), "%q", out)
	chat("a 1 MB line")

	half := dialLine(t, addr) // connects, never names itself
	half.welcome()
	assert.Contains(t, half.closedByServer(5*time.Second), "[SERVER] No nickname received: closing.")
	chat("a half-open connection")
}
