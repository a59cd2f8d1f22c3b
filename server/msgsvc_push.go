// The message service's pushes: the server connects back to a user's listening thread, one message at a time.
package server

import (
	"errors"
	"strconv"
)

// svcPush is one server-to-client connection: a stored message for its
// recipient, or a delivery ack for a sender. A user has at most one in
// flight, so messages arrive in the order they were sent ("uno a uno"): the
// next connection starts only after the previous one wrote everything and,
// for a message, its removal from the store committed.
type svcPush struct {
	v     *svc
	u     *svcUser // whose listening thread this goes to
	epoch uint32   // u.epoch when it started: a reconnect makes it stale
	ack   bool
	key   uint64 // mailbox key of the message
	from  string
	id    uint32
	text  string
	done  bool
}

// pump starts u's next push: acks first (they are not stored and go stale),
// then the oldest stored message.
func (v *svc) pump(u *svcUser) {
	if u.push != nil || !u.online() || v.users[u.alias] != u || v.s.usable() != nil {
		return
	}
	p := &svcPush{v: v, u: u, epoch: u.epoch}
	if len(u.acks) > 0 {
		p.ack, p.id = true, u.acks[0]
		u.acks = u.acks[1:]
	} else if !v.oldestMail(u, p) {
		return
	}
	u.push = p
	if int(u.addr.Port()) < v.l.cfg.option(svcMinPushPort) {
		p.failed(errors.New("push port below --msgsvc-min-push-port"), true) // stored before the limit was set
		return
	}
	if _, err := v.l.dial(u.addr, p); err != nil {
		p.failed(err, true)
	}
}

// oldestMail fills p with u's oldest stored message, if there is one.
func (v *svc) oldestMail(u *svcUser, p *svcPush) bool {
	found := false
	v.s.svcMail.scan(u.alias, 0, func(key uint64, val []byte) bool {
		from, id, text, ok := decodeSvcMail(val)
		if !ok {
			v.l.log.Error().Str("dialect", "msgsvc").Str("user", u.alias).Msg("corrupt stored message dropped")
			v.s.svcMail.delete(u.alias, key)
			return true
		}
		p.key, p.from, p.id, p.text = key, from, id, text
		found = true
		return false
	})
	return found
}

// connected writes the push (SEND_MESSAGE, sender, id, text; or
// SEND_MESS_ACK, id) and closes once the kernel has all of it.
func (p *svcPush) connected(c *Conn, err error) {
	if err != nil {
		p.failed(err, true)
		return
	}
	id := strconv.FormatUint(uint64(p.id), 10)
	var b []byte
	if p.ack {
		b = append(append(b, "SEND_MESS_ACK\x00"...), id...)
	} else {
		b = append(append(b, "SEND_MESSAGE\x00"...), p.from...)
		b = append(append(append(append(b, 0), id...), 0), p.text...)
	}
	c.queue(append(b, 0))
	p.v.whenFlushed(c, func() {
		p.delivered()
		c.kill(ReasonNone)
	})
}

// delivered ends a push that went out: a message leaves the store, and once
// that committed its sender hears of it (SEND_MESS_ACK) and the next goes.
func (p *svcPush) delivered() {
	if p.done {
		return
	}
	p.done = true
	v, u := p.v, p.u
	if p.ack || v.users[u.alias] != u {
		if u.push == p {
			u.push = nil
		}
		v.pump(u)
		return
	}
	// u.push stays set until the removal committed, so no pump in between
	// pushes this message again.
	v.s.svcMail.delete(u.alias, p.key)
	v.s.after(func(err error) {
		if u.push == p {
			u.push = nil
		}
		if err != nil {
			return
		}
		v.say("SEND MESSAGE %d FROM %s TO %s", p.id, p.from, u.alias)
		if s := v.users[p.from]; s != nil && s.online() && len(s.acks) < svcAckMax {
			s.acks = append(s.acks, p.id)
			v.pump(s)
		}
		v.pump(u)
	})
}

// failed ends a push that did not go out. The message stays stored and the
// user, unless it reconnected meanwhile, is marked disconnected.
// offline is false at shutdown, when a push is cut rather than failed.
func (p *svcPush) failed(err error, offline bool) {
	if p.done {
		return
	}
	p.done = true
	v, u := p.v, p.u
	if u.push == p {
		u.push = nil
	}
	ev := v.l.log.Warn().Str("dialect", "msgsvc").Str("user", u.alias).Str("addr", u.addr.String()).Err(err)
	if p.ack {
		ev.Uint32("ack", p.id).Msg("delivery ack not sent")
	} else {
		ev.Uint32("id", p.id).Str("from", p.from).Msg("push failed: message kept")
		v.say("MESSAGE %d FROM %s TO %s STORED", p.id, p.from, u.alias)
	}
	if !offline {
		return
	}
	if v.users[u.alias] == u && u.epoch == p.epoch && u.online() {
		v.setOffline(u)
	}
	v.pump(u) // goes on only if u connected again meanwhile
}

func (p *svcPush) onData(_ *Conn, b []byte) int { return len(b) }

// onDeadline: the connect and the delivery share one timeout.
func (p *svcPush) onDeadline(c *Conn, now int64) int64 {
	if at := c.created + p.v.timeout; now < at {
		return at
	}
	p.failed(errPushTimeout, true)
	c.kill(ReasonIdle)
	return 0
}

func (p *svcPush) onClose(c *Conn) {
	if c.reason == ReasonShutdown {
		p.failed(errors.New("server shutting down"), false)
		return
	}
	p.failed(errors.New(c.reason.String()), true)
}
