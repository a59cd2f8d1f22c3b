// Knowing which lines reached the server: a script's exit status says whether every one did.
package client

import "padchat/wire"

// sentLine is a message line the server has not confirmed yet.
type sentLine struct {
	seq  uint32
	dm   bool // confirmed by its own OK (the server replies after storing it)
	text string
}

// delivery tracks lines in flight. A room line gets no reply unless it fails,
// and the server answers requests in order, so any reply to a later request
// confirms it; when nothing later is under way, a Ping is sent as that request.
type delivery struct {
	sent      []sentLine
	pingSeq   uint32 // the last Ping sent for confirmation
	delivered int
	lost      int // failed, or unconfirmed when the connection dropped
}

func (c *client) track(seq uint32, dm bool, text string) {
	c.dlv.sent = append(c.dlv.sent, sentLine{seq: seq, dm: dm, text: text})
}

// confirmBefore marks room lines sent before seq as delivered; a reply to
// seq itself resolves seq (ok says how).
func (c *client) confirmBefore(seq uint32, ok bool) {
	out := c.dlv.sent[:0]
	for _, l := range c.dlv.sent {
		switch {
		case l.seq == seq:
			if ok {
				c.dlv.delivered++
			} else {
				c.dlv.lost++
			}
		case !l.dm && serialAfter(seq, l.seq):
			c.dlv.delivered++
		default:
			out = append(out, l)
		}
	}
	c.dlv.sent = out
}

// askConfirm sends a Ping when room lines wait for a confirmation that no
// request under way will bring.
func (c *client) askConfirm() {
	if !c.welcomed || c.quitting || len(c.dlv.sent) == 0 {
		return
	}
	last := c.dlv.sent[len(c.dlv.sent)-1]
	if last.dm || !serialAfter(last.seq, c.dlv.pingSeq) {
		return
	}
	if seq, ok := c.send(&wire.Msg{Op: wire.OpPing}); ok {
		c.dlv.pingSeq = seq
	}
}

// lostUnconfirmed counts the lines in flight when the connection dropped as
// not delivered: resending them could show a line twice, so they are reported.
func (c *client) lostUnconfirmed() {
	for _, l := range c.dlv.sent {
		c.dlv.lost++
		c.warn("line may not have been delivered (connection lost): %s", clean([]byte(l.text)))
	}
	c.dlv.sent = c.dlv.sent[:0]
}
