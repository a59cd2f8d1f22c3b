// The resumable decoder of what a server sends: its greeting, then a clear refusal or OTP frames.
package client

import (
	"fmt"

	"padchat/otp"
	"padchat/wire"
)

// decState names what the decoder is gathering.
type decState uint8

const (
	decGreeting decState = iota // wire.GreetingSize bytes
	decFirst                    // 2 bytes: "PX" starts a refusal, anything else a frame
	decRefusal                  // "PX" code len text
	decHeader                   // otp.HeaderSize bytes of a frame
	decBody                     // the rest of a frame, its size known from the header
	decDone                     // a refusal ended the stream
)

// itemKind says what feed completed.
type itemKind uint8

const (
	itemNone itemKind = iota
	itemGreeting
	itemRefusal
	itemFrame
)

// item is one complete unit of the stream. frame aliases the decoder's buffer
// and is valid only until the next feed.
type item struct {
	kind  itemKind
	nonce [otp.NonceSize]byte
	code  byte
	text  string
	frame []byte
}

// decoder splits the server's byte stream into items, whatever the read sizes.
// A refusal may only stand where the first frame would: after that, "PX" is
// just a malformed frame header.
type decoder struct {
	state    decState
	buf      []byte // the unit gathered so far
	need     int    // bytes the current unit needs in total
	handed   bool   // buf was handed out in an item; start the next unit afresh
	maxFrame int
}

func newDecoder(maxFrame int) *decoder {
	return &decoder{state: decGreeting, need: wire.GreetingSize, maxFrame: maxFrame}
}

// feed consumes a prefix of p and returns its length and, if that prefix
// completed one, an item. Callers loop until p is used up, handling each item
// before the next call.
func (d *decoder) feed(p []byte) (int, item, error) {
	if d.state == decDone {
		return len(p), item{}, nil
	}
	if d.handed {
		d.buf, d.handed = d.buf[:0], false
	}
	take := min(d.need-len(d.buf), len(p))
	d.buf = append(d.buf, p[:take]...)
	if len(d.buf) < d.need {
		return take, item{}, nil
	}
	it, err := d.complete()
	return take, it, err
}

// complete acts on a unit that has reached d.need bytes.
func (d *decoder) complete() (item, error) {
	switch d.state {
	case decGreeting:
		nonce, err := wire.ParseGreeting(d.buf)
		if err != nil {
			return item{}, fmt.Errorf("greeting: %w", err)
		}
		d.buf = d.buf[:0]
		d.state, d.need = decFirst, 2
		return item{kind: itemGreeting, nonce: nonce}, nil
	case decFirst:
		if wire.IsRefusal(d.buf) {
			d.state, d.need = decRefusal, wire.RefusalMin
		} else {
			d.state, d.need = decHeader, otp.HeaderSize
		}
		return item{}, nil
	case decRefusal:
		code, text, ok := wire.ParseRefusal(d.buf)
		if !ok {
			d.need = wire.RefusalMin + int(d.buf[3])
			return item{}, nil
		}
		d.state = decDone
		return item{kind: itemRefusal, code: code, text: text}, nil
	case decHeader:
		// The size check comes before any buffer grows to the frame's length.
		n, err := otp.FrameLen(d.buf, d.maxFrame)
		if err != nil {
			return item{}, fmt.Errorf("frame header: %w", err)
		}
		if n < otp.Overhead {
			return item{}, fmt.Errorf("frame header: %w", otp.ErrBadFrame)
		}
		d.state, d.need = decBody, n
		return item{}, nil
	case decBody:
		d.state, d.need, d.handed = decHeader, otp.HeaderSize, true
		return item{kind: itemFrame, frame: d.buf}, nil
	}
	return item{}, nil
}
