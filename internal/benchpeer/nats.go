// NATS client protocol: CONNECT, SUB, PUB, MSG, PING/PONG; JetStream publish acks for DMs.
package benchpeer

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"
)

type nats struct {
	*textConn
	name    string
	nextSID int
	inbox   bool   // subscribed to this client's JetStream ack inbox
	ackTo   string // the reply subject of DMs, in that inbox
	buf     []byte
}

func dialNATS(addr, name string) (Conn, error) {
	t, err := dialText(addr)
	if err != nil {
		return nil, err
	}
	c := &nats{textConn: t, name: name}
	l, err := c.line()
	if err != nil || !bytes.HasPrefix(l, []byte("INFO ")) {
		t.Close()
		return nil, fmt.Errorf("nats: expected INFO, got %q (%v)", l, err)
	}
	connect := `CONNECT {"verbose":false,"pedantic":false,"echo":false,"lang":"go","version":"padchat-bench","protocol":1,"name":"` + name + `"}` + "\r\n"
	if err := c.sync(connect); err != nil {
		t.Close()
		return nil, err
	}
	t.ready()
	return c, nil
}

// sync sends cmd and a PING and waits for the PONG: the server has processed cmd.
func (c *nats) sync(cmd string) error {
	if err := c.send(cmd, "PING\r\n"); err != nil {
		return err
	}
	for {
		l, _, err := c.next()
		if err != nil {
			return err
		}
		if bytes.Equal(l, []byte("PONG")) {
			return nil
		}
	}
}

// next reads up to the server's next line that is not a PING (answered here);
// -ERR is an error. For a MSG, l is its subject and body its payload; any other
// line comes back as l with a nil body.
func (c *nats) next() (l, body []byte, err error) {
	for {
		l, err := c.line()
		if err != nil {
			return nil, nil, err
		}
		switch {
		case bytes.HasPrefix(l, []byte("MSG ")):
			return c.body(l)
		case bytes.Equal(l, []byte("PING")):
			if err := c.send("PONG\r\n"); err != nil {
				return nil, nil, err
			}
		case bytes.HasPrefix(l, []byte("-ERR")):
			return nil, nil, fmt.Errorf("nats: %s", l)
		default:
			return l, nil, nil
		}
	}
}

func (c *nats) Subscribe(room string) error {
	c.nextSID++
	return c.sync("SUB " + room + " " + strconv.Itoa(c.nextSID) + "\r\n")
}

func (c *nats) Publish(room string, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.pub("", room, "", payload)
}

// DM publishes to the JetStream subject dm.<to> with a reply inbox; the stream
// (see CreateStream) answers on it once the message is stored.
func (c *nats) DM(to string, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.inbox {
		// Next runs in another goroutine by now: no PING round trip here. The
		// server handles the SUB before the PUB that follows it.
		c.inbox = true
		c.w.WriteString("SUB _INBOX." + c.name + ".* 999999\r\n")
		c.ackTo = "_INBOX." + c.name + ".a"
	}
	return c.pub("dm.", to, c.ackTo, payload)
}

// pub queues "PUB prefix+subject [reply] size" and the payload; the caller holds wmu.
func (c *nats) pub(prefix, subject, reply string, payload []byte) error {
	c.w.WriteString("PUB ")
	c.w.WriteString(prefix)
	c.w.WriteString(subject)
	if reply != "" {
		c.w.WriteByte(' ')
		c.w.WriteString(reply)
	}
	c.w.WriteByte(' ')
	c.w.WriteString(strconv.Itoa(len(payload)))
	c.w.WriteString("\r\n")
	c.w.Write(payload)
	_, err := c.w.WriteString("\r\n")
	return err
}

// Next returns MSG deliveries; JetStream acks on the inbox are KindAck (or
// KindError when they carry an error). PINGs are answered here.
func (c *nats) Next(ev *Event) error {
	subj, body, err := c.next()
	switch {
	case err != nil:
		return err
	case body == nil:
		ev.Kind, ev.Payload = KindOther, nil
	case bytes.HasPrefix(subj, []byte("_INBOX.")):
		ev.Kind, ev.Payload = KindAck, body
		if bytes.Contains(body, []byte(`"error"`)) {
			ev.Kind = KindError
		}
	default:
		ev.Kind, ev.Payload = KindMessage, body
	}
	return nil
}

// body reads the payload of "MSG subject sid [reply] size" and returns the subject.
func (c *nats) body(hdr []byte) (subj, body []byte, err error) {
	f := bytes.Fields(hdr)
	if len(f) < 4 || len(f) > 5 {
		return nil, nil, fmt.Errorf("nats: bad MSG line %q", hdr)
	}
	n, err := strconv.Atoi(string(f[len(f)-1]))
	if err != nil || n < 0 {
		return nil, nil, fmt.Errorf("nats: bad MSG size in %q", hdr)
	}
	c.buf = append(append(c.buf[:0], f[1]...), make([]byte, n+2)...)
	s := len(f[1])
	if _, err := io.ReadFull(c.r, c.buf[s:]); err != nil {
		return nil, nil, err
	}
	return c.buf[:s], c.buf[s : s+n], nil
}

// CreateStream asks JetStream for a file-backed stream named name over
// subjects, on a connection of its own, and waits for the answer.
func CreateStream(addr, name, subjects string) error {
	cn, err := dialNATS(addr, "setup")
	if err != nil {
		return err
	}
	defer cn.Close()
	c := cn.(*nats)
	cfg := `{"name":"` + name + `","subjects":["` + subjects + `"],"storage":"file","retention":"limits"}`
	err = c.send("SUB _INBOX.setup 1\r\nPUB $JS.API.STREAM.CREATE." + name + " _INBOX.setup " +
		strconv.Itoa(len(cfg)) + "\r\n" + cfg + "\r\n")
	if err != nil {
		return err
	}
	c.c.SetDeadline(time.Now().Add(dialTimeout))
	var ev Event
	for {
		if err := c.Next(&ev); err != nil {
			return err
		}
		if ev.Kind == KindError {
			return fmt.Errorf("nats stream create: %s", ev.Payload)
		}
		if ev.Kind == KindAck {
			return nil
		}
	}
}
