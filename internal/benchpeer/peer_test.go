package benchpeer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripted is a textConn reading in and writing into out.
func scripted(in string, out *bytes.Buffer) *textConn {
	return &textConn{r: bufio.NewReaderSize(strings.NewReader(in), 4096), w: bufio.NewWriter(out)}
}

func events(t *testing.T, next func(*Event) error) []Event {
	t.Helper()
	var evs []Event
	for {
		var ev Event
		err := next(&ev)
		if errors.Is(err, io.EOF) {
			return evs
		}
		require.NoError(t, err)
		ev.Payload = append([]byte(nil), ev.Payload...)
		evs = append(evs, ev)
	}
}

func TestParsers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		conn  func(*textConn) Conn
		want  []Event
		wrote string
	}{
		{"irc", ":p0!~p0@127.0.0.1 PRIVMSG #bench :hello: world\r\nPING :srv\r\n:srv 366 s0 #bench :End\r\n",
			func(t *textConn) Conn { return &irc{textConn: t} },
			[]Event{{KindMessage, []byte("hello: world")}, {KindOther, nil}}, "PONG :srv\r\n"},
		{"resp", "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$5\r\nhi\r\nx\r\n:3\r\n-ERR no\r\n+OK\r\n",
			func(t *textConn) Conn { return &resp{textConn: t} },
			[]Event{{KindMessage, []byte("hi\r\nx")}, {KindAck, nil}, {KindError, []byte("ERR no")}, {KindOther, nil}}, ""},
		{"nats", "MSG bench 1 5\r\nhello\r\nPING\r\nMSG _INBOX.p0.a 9 17\r\n{\"stream\":\"DM\"}  \r\n+OK\r\n",
			func(t *textConn) Conn { return &nats{textConn: t} },
			[]Event{{KindMessage, []byte("hello")}, {KindAck, []byte(`{"stream":"DM"}  `)}, {KindOther, nil}}, "PONG\r\n"},
		{"line", "s1 se ha unido a la sala.\np0: T00.x: y\n",
			func(t *textConn) Conn { return &line{t} },
			[]Event{{KindOther, nil}, {KindMessage, []byte("T00.x: y")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := tc.conn(scripted(tc.in, &out))
			assert.Equal(t, tc.want, events(t, c.Next))
			assert.Equal(t, tc.wrote, out.String())
		})
	}
}

func TestPublishEncodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		conn func(*textConn) Conn
		want string
	}{
		{"irc", func(t *textConn) Conn { return &irc{textConn: t} }, "PRIVMSG #bench :hi\r\n"},
		{"resp", func(t *textConn) Conn { return &resp{textConn: t} }, "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$2\r\nhi\r\n"},
		{"nats", func(t *textConn) Conn { return &nats{textConn: t} }, "PUB bench 2\r\nhi\r\n"},
		{"line", func(t *textConn) Conn { return &line{t} }, "MESSAGE hi\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := tc.conn(scripted("", &out))
			require.NoError(t, c.Publish("bench", []byte("hi")))
			require.NoError(t, c.Flush())
			assert.Equal(t, tc.want, out.String())
		})
	}
}

// TestNATSDM: the first DM subscribes to the ack inbox, every DM names it as the reply subject.
func TestNATSDM(t *testing.T) {
	var out bytes.Buffer
	c := &nats{textConn: scripted("", &out), name: "p0"}
	require.NoError(t, c.DM("r0", []byte("hi")))
	require.NoError(t, c.DM("r1", []byte("yo!")))
	require.NoError(t, c.Flush())
	assert.Equal(t, "SUB _INBOX.p0.* 999999\r\nPUB dm.r0 _INBOX.p0.a 2\r\nhi\r\nPUB dm.r1 _INBOX.p0.a 3\r\nyo!\r\n", out.String())
}

// TestRESPSubscribe runs the handshake against a scripted server on loopback.
func TestRESPSubscribe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		readCommand(r) // PING
		io.WriteString(c, "+PONG\r\n")
		readCommand(r) // SUBSCRIBE bench
		io.WriteString(c, "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$3\r\nabc\r\n")
	}()
	dial, err := New("redis", ln.Addr().String(), nil)
	require.NoError(t, err)
	c, err := dial("s0")
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Subscribe("bench"))
	var ev Event
	require.NoError(t, c.Next(&ev))
	assert.Equal(t, Event{KindMessage, []byte("abc")}, ev)
}

func readCommand(r *bufio.Reader) {
	hdr, _ := r.ReadString('\n')
	n := 0
	for _, ch := range strings.TrimSpace(hdr[1:]) {
		n = n*10 + int(ch-'0')
	}
	for range 2 * n {
		r.ReadString('\n')
	}
}
