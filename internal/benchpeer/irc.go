// IRC (RFC 2812) as ngircd speaks it: register, JOIN, PRIVMSG, answer PING.
package benchpeer

import (
	"bytes"
	"fmt"
)

type irc struct {
	*textConn
	nick string
}

func dialIRC(addr, nick string) (Conn, error) {
	t, err := dialText(addr)
	if err != nil {
		return nil, err
	}
	c := &irc{textConn: t, nick: nick}
	if err := c.send("NICK ", nick, "\r\nUSER ", nick, " 0 * :", nick, "\r\n"); err != nil {
		t.Close()
		return nil, err
	}
	// 001 RPL_WELCOME: registered.
	if err := c.await(func(cmd []byte) bool { return string(cmd) == "001" }); err != nil {
		t.Close()
		return nil, fmt.Errorf("irc register %s: %w", nick, err)
	}
	t.ready()
	return c, nil
}

// await reads lines, answering pings, until done accepts a command (a numeric
// or a word); an ERROR line or a numeric error fails.
func (c *irc) await(done func(cmd []byte) bool) error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		cmd, _ := ircCommand(l)
		switch {
		case done(cmd):
			return nil
		case string(cmd) == "PING":
			if err := c.pong(l); err != nil {
				return err
			}
		case string(cmd) == "ERROR" || (len(cmd) == 3 && cmd[0] >= '4' && cmd[0] <= '5'):
			return fmt.Errorf("server: %s", l)
		}
	}
}

func (c *irc) pong(ping []byte) error {
	return c.send("PONG", string(bytes.TrimPrefix(ping, []byte("PING"))), "\r\n")
}

// Subscribe joins #room and waits for the end of its names list (366).
func (c *irc) Subscribe(room string) error {
	if err := c.send("JOIN #", room, "\r\n"); err != nil {
		return err
	}
	return c.await(func(cmd []byte) bool { return string(cmd) == "366" })
}

func (c *irc) Publish(room string, payload []byte) error {
	c.wmu.Lock()
	c.w.WriteString("PRIVMSG #")
	c.w.WriteString(room)
	c.w.WriteString(" :")
	c.w.Write(payload)
	_, err := c.w.WriteString("\r\n")
	c.wmu.Unlock()
	return err
}

func (c *irc) DM(string, []byte) error {
	return fmt.Errorf("irc direct messages: %w (no offline store)", ErrUnsupported)
}

func (c *irc) Next(ev *Event) error {
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		cmd, rest := ircCommand(l)
		switch string(cmd) {
		case "PRIVMSG":
			ev.Kind = KindMessage
			if i := bytes.Index(rest, []byte(" :")); i >= 0 {
				ev.Payload = rest[i+2:]
			} else {
				ev.Payload = nil
			}
			return nil
		case "PING":
			if err := c.pong(l); err != nil {
				return err
			}
		case "ERROR":
			return fmt.Errorf("irc server: %s", l)
		default:
			ev.Kind, ev.Payload = KindOther, nil
			return nil
		}
	}
}

// ircCommand splits a line into its command (after any :prefix) and the rest.
func ircCommand(l []byte) (cmd, rest []byte) {
	if len(l) > 0 && l[0] == ':' {
		i := bytes.IndexByte(l, ' ')
		if i < 0 {
			return nil, nil
		}
		l = l[i+1:]
	}
	if i := bytes.IndexByte(l, ' '); i >= 0 {
		return l[:i], l[i:]
	}
	return l, nil
}
