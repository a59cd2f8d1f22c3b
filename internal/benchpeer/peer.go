// Package benchpeer speaks just enough of each benchmarked server's protocol for
// padchat-bench: padchat native, IRC, Redis RESP and NATS, all written by hand.
package benchpeer

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Kind says what an Event is.
type Kind uint8

const (
	KindOther   Kind = iota // anything the benchmark does not count
	KindMessage             // a room, channel or subject message; Payload is its text
	KindAck                 // a request succeeded (a direct message is stored, a publish counted)
	KindError               // a request failed; Payload says why
)

// Event is one thing the server sent. Payload aliases the connection's buffer
// until the next call to Next.
type Event struct {
	Kind    Kind
	Payload []byte
}

// Conn is one client connection. Subscribe runs before Next is first called.
// Publish, DM and Flush belong to one goroutine and Next to another; answers
// to server pings, which Next writes, are serialised with them.
type Conn interface {
	// Subscribe joins room and returns once the server has confirmed it.
	Subscribe(room string) error
	// Publish queues a message to room; Flush sends what is queued.
	Publish(room string, payload []byte) error
	// DM queues a durable direct message for user to, acknowledged once stored.
	DM(to string, payload []byte) error
	Flush() error
	// Next blocks for the next event.
	Next(ev *Event) error
	Close() error
}

// Dialer opens a connection for the named benchmark user (an IRC nick, a padchat
// user, a NATS client name) and returns it authenticated and ready.
type Dialer func(name string) (Conn, error)

// Targets lists the protocols New knows.
var Targets = []string{"native", "irc", "redis", "nats", "line"}

// New returns a dialer for target at addr. bundleDir maps a user to its padchat
// bundle (native only).
func New(target, addr string, bundleDir func(user string) string) (Dialer, error) {
	switch target {
	case "native":
		return func(name string) (Conn, error) { return dialNative(addr, bundleDir(name)) }, nil
	case "irc":
		return func(name string) (Conn, error) { return dialIRC(addr, name) }, nil
	case "redis":
		return func(name string) (Conn, error) { return dialRESP(addr) }, nil
	case "nats":
		return func(name string) (Conn, error) { return dialNATS(addr, name) }, nil
	case "line":
		return func(name string) (Conn, error) { return dialLine(addr, name) }, nil
	}
	return nil, fmt.Errorf("unknown target %q (want one of %v)", target, Targets)
}

// dialTimeout bounds connecting and the handshake of every protocol.
const dialTimeout = 30 * time.Second

// textConn is the buffered socket under the text protocols.
type textConn struct {
	c   net.Conn
	r   *bufio.Reader
	wmu sync.Mutex
	w   *bufio.Writer
}

func dialText(addr string) (*textConn, error) {
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(dialTimeout))
	return &textConn{c: c, r: bufio.NewReaderSize(c, 32<<10), w: bufio.NewWriterSize(c, 32<<10)}, nil
}

// ready ends the handshake: no more deadline.
func (t *textConn) ready() { t.c.SetDeadline(time.Time{}) }

// line reads one line without its CR LF; it aliases the reader's buffer.
func (t *textConn) line() ([]byte, error) {
	b, err := t.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("line longer than %d bytes", t.r.Size())
		}
		return nil, err
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b, nil
}

// send writes parts at once under the write lock and flushes them.
func (t *textConn) send(parts ...string) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for _, p := range parts {
		t.w.WriteString(p)
	}
	return t.w.Flush()
}

func (t *textConn) Flush() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.w.Flush()
}

func (t *textConn) Close() error { return t.c.Close() }
