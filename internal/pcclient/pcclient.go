// Package pcclient is a small blocking native client for tests and padchat-bench, not for people.
//
// It takes no lock on the bundle's state files (one descriptor per client, so
// a load generator can hold thousands): never point two clients at one bundle.
package pcclient

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// Client is one authenticated native session. Send and Recv may run in two
// goroutines; neither is safe for concurrent use with itself.
type Client struct {
	User  string
	dir   string // the bundle: the next session's handle is kept there
	conn  net.Conn
	br    *bufio.Reader
	sess  otp.Session
	snd   *otp.Sender
	rcv   *otp.Receiver
	pads  []*otp.Pad
	seq   uint32
	wbuf  []byte
	enc   []byte
	frame []byte
	rest  []byte // messages of the last frame not yet returned by Recv
	// OnFrame, when set, sees the pad range of every frame sent or received:
	// tests use it to prove no pad byte is ever used twice.
	OnFrame func(dir otp.Direction, offset int64, length int)
}

// ErrRefused: the server answered the first frame with a clear refusal.
var ErrRefused = errors.New("server refused the session")

// Dial connects to addr (the bundle's server when empty) as the bundle's user
// and waits for the welcome.
func Dial(addr, dir string) (*Client, error) { return dial(addr, dir, nil) }

func dial(addr, dir string, onFrame func(otp.Direction, int64, int)) (*Client, error) {
	p, err := bundle.Load(dir)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = p.Server
	}
	c := &Client{User: p.User, OnFrame: onFrame}
	if err := c.openPads(dir); err != nil {
		return nil, err
	}
	c.dir = dir
	// A handle from the last session names us instead of the pad id; if the
	// server does not know it (lost, or the server's copy was replaced), one
	// retry by pad id.
	label, retry := bundle.TakeHandle(dir)
	for {
		c.sess.Label = label
		if c.conn, err = net.Dial("tcp", addr); err != nil {
			c.closePads()
			return nil, err
		}
		// Small, so one test process can hold 10,000 clients; frames are read past it.
		c.br = bufio.NewReaderSize(c.conn, 4<<10)
		err = c.handshake()
		if err == nil {
			return c, nil
		}
		if retry && errors.Is(err, errClearRefusal) {
			c.conn.Close()
			label, retry = otp.PadID{}, false
			continue
		}
		c.Close()
		return nil, err
	}
}

// errClearRefusal marks a refusal in clear (ErrRefused before a verified frame).
var errClearRefusal = errors.New("refused before authentication")

func (c *Client) openPads(dir string) error {
	sp, err := otp.OpenPad(bundle.Path(dir, bundle.SendPad))
	if err != nil {
		return err
	}
	rp, err := otp.OpenPad(bundle.Path(dir, bundle.RecvPad))
	if err != nil {
		sp.Close()
		return err
	}
	c.pads = []*otp.Pad{sp, rp}
	if c.snd, err = otp.OpenSender(sp, sp.Path()+bundle.StateSuffix, otp.SenderOptions{ReserveStep: 64 << 10, NoLock: true}); err != nil {
		c.closePads()
		return err
	}
	if c.rcv, err = otp.OpenReceiver(rp, rp.Path()+bundle.StateSuffix, otp.ReceiverOptions{Contiguous: true, NoLock: true}); err != nil {
		c.closePads()
		return err
	}
	return nil
}

func (c *Client) handshake() error {
	rand.Read(c.sess.Client[:])
	if _, err := c.conn.Write(wire.AppendGreeting(nil, c.sess.Client)); err != nil {
		return err
	}
	g := make([]byte, wire.GreetingSize)
	if _, err := io.ReadFull(c.br, g); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if c.sess.Server, _ = wire.ParseGreeting(g); c.sess.Server == [16]byte{} {
		return wire.ErrNotPadchat
	}
	if _, err := c.Send(&wire.Msg{Op: wire.OpHello, Text: []byte("pcclient/1")}); err != nil {
		return err
	}
	var m wire.Msg
	if err := c.Recv(&m); err != nil {
		return err
	}
	if m.Op == wire.OpBye { // authenticated, then turned away (locked): the reason comes sealed
		return fmt.Errorf("%w: bye %d: %s", ErrRefused, m.ID, m.Text)
	}
	if m.Op != wire.OpWelcome {
		return fmt.Errorf("expected welcome, got op %d", m.Op)
	}
	return nil
}

// Send seals m (with the next Seq unless m.Seq is set) and writes it.
func (c *Client) Send(m *wire.Msg) (uint32, error) {
	if m.Seq == 0 {
		c.seq++
		m.Seq = c.seq
	}
	c.enc = wire.Append(c.enc[:0], m)
	var err error
	if c.wbuf, err = c.snd.Seal(c.wbuf[:0], c.enc, otp.ToServer, &c.sess); err != nil {
		return 0, err
	}
	if c.snd.Pending() {
		if err := c.snd.Reserve(); err != nil {
			return 0, err
		}
	}
	c.record(otp.ToServer, c.wbuf)
	_, err = c.conn.Write(c.wbuf)
	return m.Seq, err
}

// SendRaw writes bytes as they are: for tests of forged and broken frames.
func (c *Client) SendRaw(b []byte) error { _, err := c.conn.Write(b); return err }

// Seal returns a sealed frame of m without sending it.
func (c *Client) Seal(m *wire.Msg) ([]byte, error) { return c.AppendSeal(nil, m) }

// AppendSeal appends a sealed frame of m to dst without sending it, and
// allocates nothing when dst has the room: a writer that batches frames (a
// bufio.Writer's AvailableBuffer) seals straight into its buffer. A paced
// publisher that allocated two buffers per message ran the garbage collector
// in the middle of the latency benchmark, which no other client did. Like
// Send, it is not safe for concurrent use with Send.
func (c *Client) AppendSeal(dst []byte, m *wire.Msg) ([]byte, error) {
	c.enc = wire.Append(c.enc[:0], m)
	f, err := c.snd.Seal(dst, c.enc, otp.ToServer, &c.sess)
	if err == nil && c.snd.Pending() {
		err = c.snd.Reserve()
	}
	return f, err
}

// Recv returns the next message, reading and opening a frame when the last
// one's messages are used up (a frame carries one or more: protocol v2); m
// aliases an internal buffer until the next Recv. A session handle for the
// next connect is stored in the bundle and not returned.
func (c *Client) Recv(m *wire.Msg) error {
	for {
		if err := c.next(m); err != nil {
			return err
		}
		if m.Op != wire.OpHandle {
			return nil
		}
		if err := bundle.SaveHandle(c.dir, m.Text); err != nil {
			return fmt.Errorf("saving the session handle: %w", err)
		}
	}
}

// next is the next message of the current frame, or of a new one.
func (c *Client) next(m *wire.Msg) error {
	if len(c.rest) > 0 {
		var err error
		if c.rest, err = wire.DecodeNext(c.rest, m); err != nil {
			c.rest = nil
			return err
		}
		return nil
	}
	hdr, err := c.br.Peek(2)
	if err != nil {
		return err
	}
	if wire.IsRefusal(hdr) {
		b, _ := c.br.Peek(wire.RefusalMin)
		if len(b) == wire.RefusalMin {
			b, _ = c.br.Peek(wire.RefusalMin + int(b[3]))
		}
		_, text, _ := wire.ParseRefusal(b)
		return fmt.Errorf("%w: %s%.0w", ErrRefused, text, errClearRefusal)
	}
	h, err := c.br.Peek(otp.HeaderSize)
	if err != nil {
		return err
	}
	n, err := otp.FrameLen(h, otp.DefaultMaxFrame)
	if err != nil {
		return err
	}
	var frame []byte
	if n <= c.br.Size() {
		// A frame that fits the reader's buffer is read where it lies.
		if frame, err = c.br.Peek(n); err == io.EOF {
			err = io.ErrUnexpectedEOF // a frame cut short, as ReadFull says
		}
		if err != nil {
			return err
		}
		c.br.Discard(n)
	} else {
		// A bigger one is read into the client's own buffer, kept for the next.
		if cap(c.frame) < n {
			c.frame = make([]byte, n)
		}
		frame = c.frame[:n]
		if _, err := io.ReadFull(c.br, frame); err != nil {
			return err
		}
	}
	// Either way it is opened in place, with no copy: its plaintext stays
	// there until the next frame is read, which comes only once its messages
	// are used up (c.rest).
	plain, err := c.rcv.Open(frame[otp.HeaderSize:otp.HeaderSize], frame, otp.ToClient, &c.sess)
	if err != nil {
		return err
	}
	c.record(otp.ToClient, frame)
	c.rest, err = wire.DecodeNext(plain, m)
	if err != nil {
		c.rest = nil
	}
	return err
}

func (c *Client) record(dir otp.Direction, frame []byte) {
	if c.OnFrame != nil {
		c.OnFrame(dir, int64(binary.BigEndian.Uint64(frame[20:])), int(binary.BigEndian.Uint32(frame[28:])))
	}
}

// DialWith is Dial with OnFrame set before the handshake's first frame.
func DialWith(addr, dir string, onFrame func(otp.Direction, int64, int)) (*Client, error) {
	return dial(addr, dir, onFrame)
}

// Left is the pad this client has left: to send (its send pad) and to
// receive (its receive pad), as its own state counts them.
func (c *Client) Left() (send, recv int64) { return c.snd.Remaining(), c.rcv.Remaining() }

// SetReadDeadline bounds the next Recv.
func (c *Client) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// Conn is the underlying connection (tests close it half-way, stop reading…).
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the socket and saves the pad state.
func (c *Client) Close() error {
	var err error
	if c.conn != nil {
		err = c.conn.Close()
	}
	c.closePads()
	return err
}

func (c *Client) closePads() {
	if c.snd != nil {
		c.snd.Close()
		c.snd = nil
	}
	if c.rcv != nil {
		c.rcv.Close()
		c.rcv = nil
	}
	for _, p := range c.pads {
		p.Close()
	}
	c.pads = nil
}
