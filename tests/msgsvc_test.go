// End to end over the message service, with clients written from docs/DIALECTS.md.
package tests

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startMsgSvc runs padchatd with the message service and the web service on
// port 0 and returns the daemon and the message-service address.
func startMsgSvc(t *testing.T, args ...string) (*daemon, string) {
	t.Helper()
	d := startServer(t, append([]string{"--listen-msgsvc", "127.0.0.1:0", "--http", "127.0.0.1:0"}, args...)...)
	return d, logAddr(t, d, "s> init server ")
}

// logAddr returns the "addr" of the daemon's first log line whose message
// starts with prefix (the bound address, when it was asked for port 0).
func logAddr(t *testing.T, d *daemon, prefix string) string {
	t.Helper()
	var addr string
	waitFor(t, 10*time.Second, func() bool {
		sc := bufio.NewScanner(strings.NewReader(d.logs.String()))
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Message, prefix) && line.Addr != "" {
				addr = line.Addr
				return true
			}
		}
		return false
	}, "a log line %q with an addr\n%s", prefix, d.logs)
	return addr
}

// call is one operation: connect, send NUL-terminated strings, read the
// reply's strings to EOF (the server closes its side after answering).
func call(t *testing.T, addr string, fields ...string) []string {
	t.Helper()
	return callFrom(t, nil, addr, fields...)
}

// callFrom is call from a given local address (nil: any).
func callFrom(t *testing.T, from net.Addr, addr string, fields ...string) []string {
	t.Helper()
	c, err := (&net.Dialer{LocalAddr: from}).Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b []byte
	for _, f := range fields {
		b = append(append(b, f...), 0)
	}
	_, err = c.Write(b)
	require.NoError(t, err)
	reply, err := io.ReadAll(c)
	require.NoError(t, err, "reply to %q", fields[0])
	return splitFields(reply)
}

func canBind(a *net.TCPAddr) bool {
	ln, err := net.ListenTCP("tcp", a)
	if err == nil {
		ln.Close()
	}
	return err == nil
}

func splitFields(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// inbox is a client's listening thread : the server connects
// to it to push messages and delivery acks.
type inbox struct {
	ln  net.Listener
	got chan []string
}

func newInbox(t *testing.T) *inbox {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	in := &inbox{ln: ln, got: make(chan []string, 64)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			in.got <- splitFields(b)
		}
	}()
	return in
}

func (in *inbox) port() string { return strconv.Itoa(in.ln.Addr().(*net.TCPAddr).Port) }

func (in *inbox) expect(t *testing.T, want ...string) {
	t.Helper()
	select {
	case got := <-in.got:
		assert.Equal(t, want, got)
	case <-time.After(10 * time.Second):
		t.Fatalf("no push %q", want)
	}
}

func (in *inbox) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-in.got:
		t.Fatalf("unexpected push %q", got)
	case <-time.After(d):
	}
}

func TestMessageService(t *testing.T) {
	d, addr := startMsgSvc(t)
	ann, bob := newInbox(t), newInbox(t)

	// register: 0, 1 if the alias is taken.
	assert.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Ann Smith", "ann", "01/02/2000"))
	assert.Equal(t, []string{"1"}, call(t, addr, "REGISTER", "Ann Other", "ann", "03/04/2001"))
	assert.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Bob Jones", "bob", "05/06/1999"))
	assert.Equal(t, []string{"1"}, call(t, addr, "CONNECTEDUSERS"), "nobody connected from here yet")

	// connect: 0, 1 no such user, 2 already connected, 3 otherwise.
	assert.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "ann", ann.port()))
	assert.Equal(t, []string{"2"}, call(t, addr, "CONNECT", "ann", ann.port()))
	assert.Equal(t, []string{"1"}, call(t, addr, "CONNECT", "nobody", "1234"))
	assert.Equal(t, []string{"3"}, call(t, addr, "CONNECT", "bob", "not a port"))

	// send to a disconnected user: stored, ids from 1.
	assert.Equal(t, []string{"0", "1"}, call(t, addr, "SEND", "ann", "bob", "hello offline bob"))
	assert.Equal(t, []string{"0", "2"}, call(t, addr, "SEND", "ann", "bob", "second"))
	d.waitLog("s> MESSAGE 2 FROM ann TO bob STORED")
	bob.quiet(t, 200*time.Millisecond)

	// Connecting delivers the stored messages one by one, in order, and each
	// delivery is acknowledged to its sender.
	assert.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "bob", bob.port()))
	bob.expect(t, "SEND_MESSAGE", "ann", "1", "hello offline bob")
	bob.expect(t, "SEND_MESSAGE", "ann", "2", "second")
	ann.expect(t, "SEND_MESS_ACK", "1")
	ann.expect(t, "SEND_MESS_ACK", "2")
	d.waitLog("s> SEND MESSAGE 2 FROM ann TO bob")

	// Online: pushed at once, acked; ids are per sender.
	assert.Equal(t, []string{"0", "1"}, call(t, addr, "SEND", "bob", "ann", "hi  ann"))
	ann.expect(t, "SEND_MESSAGE", "bob", "1", "hi  ann")
	bob.expect(t, "SEND_MESS_ACK", "1")
	d.waitLog("s> SEND MESSAGE 1 FROM bob TO ann")

	// connected users: 0, the count, one string per user.
	assert.Equal(t, []string{"0", "2", "ann", "bob"}, call(t, addr, "CONNECTEDUSERS"))

	// SEND failures: 1 for an unknown user, 2 for a text over 255 bytes.
	assert.Equal(t, []string{"1"}, call(t, addr, "SEND", "ann", "nobody", "x"))
	assert.Equal(t, []string{"1"}, call(t, addr, "SEND", "nobody", "ann", "x"))
	assert.Equal(t, []string{"2"}, call(t, addr, "SEND", "ann", "bob", strings.Repeat("m", 300)))
	max := strings.Repeat("m", 255)
	assert.Equal(t, []string{"0", "3"}, call(t, addr, "SEND", "ann", "bob", max))
	bob.expect(t, "SEND_MESSAGE", "ann", "3", max)
	ann.expect(t, "SEND_MESS_ACK", "3")

	// Another IP is not connected, and may not disconnect someone else.
	if other := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}); canBind(other) {
		assert.Equal(t, []string{"1"}, callFrom(t, other, addr, "CONNECTEDUSERS"))
		assert.Equal(t, []string{"3"}, callFrom(t, other, addr, "DISCONNECT", "bob"))
	}

	// disconnect: 0, 1 no such user, 2 not connected.
	assert.Equal(t, []string{"0"}, call(t, addr, "DISCONNECT", "bob"))
	assert.Equal(t, []string{"2"}, call(t, addr, "DISCONNECT", "bob"))
	assert.Equal(t, []string{"1"}, call(t, addr, "DISCONNECT", "nobody"))
	assert.Equal(t, []string{"0", "1", "ann"}, call(t, addr, "CONNECTEDUSERS"))

	// unregister drops the user's undelivered mail: 0, then 1.
	assert.Equal(t, []string{"0", "4"}, call(t, addr, "SEND", "ann", "bob", "never delivered"))
	assert.Equal(t, []string{"0"}, call(t, addr, "UNREGISTER", "bob"))
	assert.Equal(t, []string{"1"}, call(t, addr, "UNREGISTER", "bob"))
	assert.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Bob Jones", "bob", "05/06/1999"))
	assert.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "bob", bob.port()))
	bob.quiet(t, 300*time.Millisecond)

	for _, line := range []string{"s> REGISTER ann OK", "s> REGISTER ann FAIL", "s> CONNECT ann OK",
		"s> CONNECT nobody FAIL", "s> DISCONNECT bob OK", "s> DISCONNECT bob FAIL", "s> UNREGISTER bob OK",
		"s> UNREGISTER bob FAIL", "s> CONNECTEDUSERS OK", "s> CONNECTEDUSERS FAIL",
		"s> SEND FROM ann TO nobody FAIL", "s> SEND FROM nobody TO ann FAIL", "s> SEND FROM ann TO bob FAIL"} {
		d.waitLog(`"message":"` + line + `"`)
	}
}

// A push that fails leaves the message stored and the user
// disconnected; it goes out when the user connects again. Users and mail
// survive a restart.
func TestMessageServicePushFailureAndRestart(t *testing.T) {
	d, addr := startMsgSvc(t)
	ann, bob := newInbox(t), newInbox(t)
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Bob", "bob", "01/01/2000"))
	require.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "ann", ann.port()))

	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadPort := strconv.Itoa(gone.Addr().(*net.TCPAddr).Port)
	gone.Close()
	require.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "bob", deadPort))
	require.Equal(t, []string{"0", "1"}, call(t, addr, "SEND", "ann", "bob", "are you there?"))
	d.waitLog("s> MESSAGE 1 FROM ann TO bob STORED")
	waitFor(t, 10*time.Second, func() bool {
		return strings.Join(call(t, addr, "CONNECTEDUSERS"), ",") == "0,1,ann"
	}, "bob marked disconnected")
	ann.quiet(t, 100*time.Millisecond) // no ack for an undelivered message

	require.NoError(t, d.stop())
	d.start()
	addr = logAddr(t, d, "s> init server ")
	require.Equal(t, []string{"1"}, call(t, addr, "REGISTER", "Bob", "bob", "01/01/2000"), "users survive a restart")
	require.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "bob", bob.port()))
	bob.expect(t, "SEND_MESSAGE", "ann", "1", "are you there?")
	ann.expect(t, "SEND_MESS_ACK", "1")
	require.Equal(t, []string{"0", "2"}, call(t, addr, "SEND", "ann", "bob", "ids survive too"))
	bob.expect(t, "SEND_MESSAGE", "ann", "2", "ids survive too")
}

// Malformed input costs only its own connection: junk and endless fields are
// closed at once, a stalled request after the timeout, and the service goes on.
func TestMessageServiceMalformedInput(t *testing.T) {
	d, addr := startMsgSvc(t, "--idle-timeout", "2s")

	closedWithoutReply := func(what string, payload []byte) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		go c.Write(payload) // may fail midway once the server closes
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			assert.NotContains(t, err.Error(), "timeout", what)
		}
		assert.Empty(t, b, what)
	}
	closedWithoutReply("binary junk", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xff\xfe\x00\x00"))
	closedWithoutReply("unknown operation", []byte("HELLO\x00world\x00"))
	closedWithoutReply("a 1 MB line", []byte(strings.Repeat("A", 1<<20)+"\n"))
	closedWithoutReply("a 1 MB field with no NUL", []byte("SEND\x00ann\x00bob\x00"+strings.Repeat("x", 1<<20)))

	// A half-open request stalls only itself.
	stalled, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stalled.Close()
	_, err = stalled.Write([]byte("REGISTER\x00Ann\x00an"))
	require.NoError(t, err)
	// One that closes in the middle of a field is simply gone.
	cut, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	cut.Write([]byte("SEND\x00ann\x00bo"))
	cut.Close()

	assert.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	assert.Equal(t, []string{"1"}, call(t, addr, "CONNECTEDUSERS"))

	start := time.Now()
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(stalled)
	assert.NoError(t, err, "closed by the server, not by our deadline")
	assert.Empty(t, b)
	assert.Less(t, time.Since(start), 5*time.Second)
	d.waitLog("request incomplete")
	assert.Equal(t, []string{"0"}, call(t, addr, "UNREGISTER", "ann"))
}
