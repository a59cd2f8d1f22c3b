// padchat native: pcclient sessions, with sealed frames batched through one writer.
package benchpeer

import (
	"bufio"
	"fmt"
	"net"
	"sync"

	"padchat/internal/pcclient"
	"padchat/wire"
)

type native struct {
	c   *pcclient.Client
	wmu sync.Mutex // guards w and the client's sender (Seal)
	w   *bufio.Writer
	m   wire.Msg
	// Close may come while another goroutine is in Next: the pads (which
	// Recv reads) are released by whichever of the two finishes last.
	mu      sync.Mutex
	reading bool
	closed  bool
}

func dialNative(addr, bundle string) (Conn, error) {
	c, err := pcclient.Dial(addr, bundle)
	if err != nil {
		return nil, fmt.Errorf("native dial %s: %w", bundle, err)
	}
	return &native{c: c, w: bufio.NewWriterSize(c.Conn(), 32<<10)}, nil
}

// Subscribe joins the room and waits for the OK of that join.
func (n *native) Subscribe(room string) error {
	n.wmu.Lock()
	seq, err := n.c.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte(room)})
	n.wmu.Unlock()
	if err != nil {
		return err
	}
	for {
		if err := n.c.Recv(&n.m); err != nil {
			return err
		}
		switch {
		case n.m.Seq != seq:
		case n.m.Op == wire.OpOK:
			return nil
		case n.m.Op == wire.OpError:
			return fmt.Errorf("join %s: %s", room, n.m.Text)
		}
	}
}

// queue seals m straight into the write buffer's free room (no allocation
// while the frame fits, as the text protocols' peers write theirs).
func (n *native) queue(m *wire.Msg) error {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	f, err := n.c.AppendSeal(n.w.AvailableBuffer(), m)
	if err != nil {
		return err
	}
	_, err = n.w.Write(f)
	return err
}

func (n *native) Publish(room string, payload []byte) error {
	return n.queue(&wire.Msg{Op: wire.OpSay, Room: []byte(room), Text: payload})
}

func (n *native) DM(to string, payload []byte) error {
	return n.queue(&wire.Msg{Op: wire.OpDM, User: []byte(to), Text: payload})
}

func (n *native) Flush() error {
	n.wmu.Lock()
	defer n.wmu.Unlock()
	return n.w.Flush()
}

// Next returns room messages, OKs as acks and errors; server pings are answered.
func (n *native) Next(ev *Event) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return net.ErrClosed
	}
	n.reading = true
	n.mu.Unlock()
	err := n.next(ev)
	n.mu.Lock()
	n.reading = false
	closed := n.closed
	n.mu.Unlock()
	if closed {
		n.c.Close()
		return net.ErrClosed
	}
	return err
}

func (n *native) next(ev *Event) error {
	for {
		if err := n.c.Recv(&n.m); err != nil {
			return err
		}
		ev.Kind, ev.Payload = KindOther, nil
		switch n.m.Op {
		case wire.OpMessage:
			ev.Kind, ev.Payload = KindMessage, n.m.Text
		case wire.OpOK:
			ev.Kind = KindAck
		case wire.OpError:
			ev.Kind, ev.Payload = KindError, n.m.Text
		case wire.OpSrvPing:
			if err := n.queue(&wire.Msg{Op: wire.OpPong}); err != nil {
				return err
			}
			if err := n.Flush(); err != nil {
				return err
			}
			continue
		case wire.OpBye:
			return fmt.Errorf("server said bye: %s", n.m.Text)
		}
		return nil
	}
}

func (n *native) Close() error {
	n.mu.Lock()
	n.closed = true
	reading := n.reading
	n.mu.Unlock()
	if reading {
		return n.c.Conn().Close() // Next returns and releases the pads
	}
	return n.c.Close()
}
