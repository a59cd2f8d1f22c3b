// Redis RESP2: SUBSCRIBE, PUBLISH, RPUSH (the durable-DM stand-in) and their replies.
package benchpeer

import (
	"fmt"
	"io"
	"strconv"
)

type resp struct {
	*textConn
	// bulk holds the elements of the last array read as offsets into buf.
	bulk [3][2]int
	buf  []byte
}

func dialRESP(addr string) (Conn, error) {
	t, err := dialText(addr)
	if err != nil {
		return nil, err
	}
	c := &resp{textConn: t}
	// A PING answered means the server has taken the connection on.
	if err := c.send("*1\r\n$4\r\nPING\r\n"); err != nil {
		t.Close()
		return nil, err
	}
	var ev Event
	if err := c.Next(&ev); err != nil || ev.Kind == KindError {
		t.Close()
		return nil, fmt.Errorf("redis ping: %v %s", err, ev.Payload)
	}
	t.ready()
	return c, nil
}

func (c *resp) command(args ...[]byte) {
	c.w.WriteByte('*')
	c.w.WriteString(strconv.Itoa(len(args)))
	c.w.WriteString("\r\n")
	for _, a := range args {
		c.w.WriteByte('$')
		c.w.WriteString(strconv.Itoa(len(a)))
		c.w.WriteString("\r\n")
		c.w.Write(a)
		c.w.WriteString("\r\n")
	}
}

// Subscribe sends SUBSCRIBE and waits for its confirmation.
func (c *resp) Subscribe(room string) error {
	c.wmu.Lock()
	c.command([]byte("SUBSCRIBE"), []byte(room))
	err := c.w.Flush()
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	for {
		var ev Event
		if err := c.Next(&ev); err != nil {
			return err
		}
		if ev.Kind == KindError {
			return fmt.Errorf("redis subscribe: %s", ev.Payload)
		}
		if string(c.element(0)) == "subscribe" {
			return nil
		}
	}
}

func (c *resp) Publish(room string, payload []byte) error {
	c.wmu.Lock()
	c.command([]byte("PUBLISH"), []byte(room), payload)
	c.wmu.Unlock()
	return nil
}

// DM appends to the recipient's list; with appendfsync always Redis replies
// only after the AOF write is synced.
func (c *resp) DM(to string, payload []byte) error {
	c.wmu.Lock()
	c.command([]byte("RPUSH"), []byte("mbox:"+to), payload)
	c.wmu.Unlock()
	return nil
}

// Next reads one reply or push: ":n" is an ack (PUBLISH, RPUSH), "-ERR" an error,
// a "message" array a delivery.
func (c *resp) Next(ev *Event) error {
	l, err := c.line()
	if err != nil {
		return err
	}
	ev.Kind, ev.Payload = KindOther, nil
	if len(l) == 0 {
		return fmt.Errorf("redis: empty reply line")
	}
	switch l[0] {
	case ':':
		ev.Kind = KindAck
	case '-':
		ev.Kind, ev.Payload = KindError, append(c.buf[:0], l[1:]...)
	case '+':
	case '$':
		c.buf = c.buf[:0]
		err = c.readBulk(l, 0)
	case '*':
		n, err := strconv.Atoi(string(l[1:]))
		if err != nil {
			return fmt.Errorf("redis: bad array header %q", l)
		}
		c.buf = c.buf[:0]
		c.bulk = [3][2]int{}
		for i := 0; i < n; i++ {
			el, err := c.line()
			if err != nil {
				return err
			}
			switch {
			case len(el) > 0 && el[0] == '$':
				if err := c.readBulk(el, min(i, 2)); err != nil {
					return err
				}
			case len(el) > 0 && el[0] == ':':
			default:
				return fmt.Errorf("redis: unexpected array element %q", el)
			}
		}
		if n == 3 && string(c.element(0)) == "message" {
			ev.Kind, ev.Payload = KindMessage, c.element(2)
		}
	}
	return err
}

// readBulk reads the body of a bulk string whose header is hdr onto c.buf and
// notes it as element i of the current array.
func (c *resp) readBulk(hdr []byte, i int) error {
	n, err := strconv.Atoi(string(hdr[1:]))
	if err != nil {
		return fmt.Errorf("redis: bad bulk header %q", hdr)
	}
	if n < 0 {
		return nil
	}
	start := len(c.buf)
	c.buf = append(c.buf, make([]byte, n+2)...)
	if _, err := io.ReadFull(c.r, c.buf[start:]); err != nil {
		return err
	}
	c.bulk[i] = [2]int{start, start + n}
	return nil
}

func (c *resp) element(i int) []byte { return c.buf[c.bulk[i][0]:c.bulk[i][1]] }
