// padchatd's rooms protocol (docs/DIALECTS.md): JOIN user, ROOM name, MESSAGE text; members read "user: text".
package benchpeer

import (
	"bytes"
	"fmt"
)

type line struct{ *textConn }

func dialLine(addr, name string) (Conn, error) {
	t, err := dialText(addr)
	if err != nil {
		return nil, err
	}
	c := &line{t}
	if err := c.request("JOIN " + name + "\n"); err != nil {
		t.Close()
		return nil, fmt.Errorf("line join %s: %w", name, err)
	}
	t.ready()
	return c, nil
}

// request sends one command and reads its one-line answer; "ERROR…" fails.
func (c *line) request(cmd string) error {
	if err := c.send(cmd); err != nil {
		return err
	}
	l, err := c.line()
	if err != nil {
		return err
	}
	if bytes.HasPrefix(l, []byte("ERROR")) {
		return fmt.Errorf("server: %s", l)
	}
	return nil
}

func (c *line) Subscribe(room string) error { return c.request("ROOM " + room + "\n") }

func (c *line) Publish(_ string, payload []byte) error {
	c.wmu.Lock()
	c.w.WriteString("MESSAGE ")
	c.w.Write(payload)
	err := c.w.WriteByte('\n')
	c.wmu.Unlock()
	return err
}

func (c *line) DM(string, []byte) error { return fmt.Errorf("line dialect: %w", ErrUnsupported) }

// Next returns "user: text" lines as messages; anything else (notices) is other.
func (c *line) Next(ev *Event) error {
	l, err := c.line()
	if err != nil {
		return err
	}
	ev.Kind, ev.Payload = KindOther, nil
	if i := bytes.Index(l, []byte(": ")); i > 0 && bytes.IndexByte(l[:i], ' ') < 0 {
		ev.Kind, ev.Payload = KindMessage, l[i+2:]
	}
	return nil
}
