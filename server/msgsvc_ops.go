// The message service's operations: each answers with its result code once the batch committed.
package server

import (
	"net/netip"
	"sort"
	"strconv"
)

// handle runs a complete request. Every answer waits for this iteration's
// commit, so no client hears of a state the disk does not hold; an operation
// that wrote answers its "any other case" code if the commit failed.
func (v *svc) handle(c *Conn, d *svcDecoder) {
	a := d.args
	switch d.op {
	case opRegister:
		v.register(c, a[0], a[1], a[2], d.tooLong)
	case opUnregister:
		v.unregister(c, a[0], d.tooLong)
	case opConnect:
		v.connect(c, a[0], a[1], d.tooLong)
	case opDisconnect:
		v.disconnect(c, a[0], d.tooLong)
	case opSend:
		v.send(c, a[0], a[1], a[2], d.tooLong)
	case opConnectedUsers:
		v.connectedUsers(c)
	}
}

// answer sends code after the commit; code "0" becomes failCode if the
// commit failed. done, if set, runs with the code that was sent.
func (v *svc) answer(c *Conn, code, failCode string, done func(code string)) {
	v.s.after(func(err error) {
		if err != nil && code == "0" {
			code = failCode
		}
		v.reply(c, code)
		if done != nil {
			done(code)
		}
	})
}

func okFail(code string) string {
	if code == "0" {
		return "OK"
	}
	return "FAIL"
}

// register: 0 done, 1 the alias is taken, 2 anything else.
func (v *svc) register(c *Conn, name, alias, date string, tooLong bool) {
	code := "0"
	switch {
	case tooLong || alias == "" || v.s.usable() != nil || svcControl(alias) || svcControl(name):
		code = "2" // the alias is pushed as a sender: no line breaks in it either
	case v.users[alias] != nil:
		code = "1"
	default:
		u := &svcUser{alias: alias, svcRecord: svcRecord{Name: name, Date: date}}
		v.users[alias] = u
		v.save(u)
	}
	v.answer(c, code, "2", func(code string) { v.say("REGISTER %s %s", alias, okFail(code)) })
}

// unregister: 0 done, 1 no such user, 2 anything else. The user's
// undelivered mail goes with it.
func (v *svc) unregister(c *Conn, alias string, tooLong bool) {
	code := "0"
	switch {
	case tooLong || v.s.usable() != nil:
		code = "2"
	case v.users[alias] == nil:
		code = "1"
	default:
		delete(v.users, alias)
		v.s.dropSvcUser(alias)
	}
	v.answer(c, code, "2", func(code string) { v.say("UNREGISTER %s %s", alias, okFail(code)) })
}

// connect: 0 done, 1 no such user, 2 already connected, 3 anything
// else. The listening thread is at the request's IP and the given port; the
// user's stored mail then goes out, one message at a time.
func (v *svc) connect(c *Conn, alias, port string, tooLong bool) {
	u := v.users[alias]
	p, perr := strconv.ParseUint(port, 10, 16)
	ip := remoteIP(c)
	code := "0"
	switch {
	case tooLong || v.s.usable() != nil:
		code = "3"
	case u == nil:
		code = "1"
	case u.online():
		code = "2"
	case perr != nil || p == 0 || int(p) < v.l.cfg.option(svcMinPushPort) || !ip.IsValid():
		code = "3" // a low port is a local service the push must not be aimed at
	default:
		u.addr = netip.AddrPortFrom(ip, uint16(p))
		u.epoch++
		v.save(u)
	}
	v.answer(c, code, "3", func(code string) {
		v.say("CONNECT %s %s", alias, okFail(code))
		if code == "0" && v.users[alias] == u {
			v.pump(u)
		}
	})
}

// disconnect: 0 done, 1 no such user, 2 not connected, 3 anything
// else, which includes a request from another IP than the user's.
func (v *svc) disconnect(c *Conn, alias string, tooLong bool) {
	u := v.users[alias]
	code := "0"
	switch {
	case tooLong || v.s.usable() != nil:
		code = "3"
	case u == nil:
		code = "1"
	case !u.online():
		code = "2"
	case u.addr.Addr() != remoteIP(c):
		code = "3"
	default:
		v.setOffline(u)
	}
	v.answer(c, code, "3", func(code string) { v.say("DISCONNECT %s %s", alias, okFail(code)) })
}

// setOffline forgets u's listening address; acks waiting for it are dropped
// (a sender that is not connected gets none).
func (v *svc) setOffline(u *svcUser) {
	u.addr = netip.AddrPort{}
	u.epoch++
	u.acks = nil
	v.save(u)
}

// msgSvcSendFail is the console line for a SEND that stored nothing: the
// course gives no line for it, so it follows the "<OP> ... FAIL" of the others.
const msgSvcSendFail = "SEND FROM %s TO %s FAIL"

// send: 0 and the message's id, 1 if either user does not exist, 2
// anything else (a text over 255 bytes included). The message is stored
// first; if the recipient is connected it is pushed after the commit.
func (v *svc) send(c *Conn, from, to, text string, tooLong bool) {
	s, r := v.users[from], v.users[to]
	switch {
	case tooLong || v.s.usable() != nil || svcControl(text):
		// A push carries text verbatim to a listening port: CR/LF in it
		// would be commands to whatever line protocol answers there.
		v.answer(c, "2", "2", nil)
		v.say(msgSvcSendFail, from, to)
		return
	case s == nil || r == nil:
		v.answer(c, "1", "1", nil)
		v.say(msgSvcSendFail, from, to)
		return
	}
	s.LastID = nextID(s.LastID)
	id := s.LastID
	v.save(s)
	rec := encodeSvcMail(from, id, text)
	v.s.svcMail.put(to, rec)
	v.s.after(func(err error) {
		if err != nil {
			v.reply(c, "2")
			v.say(msgSvcSendFail, from, to)
			return
		}
		v.reply(c, "0", strconv.FormatUint(uint64(id), 10))
		if v.users[to] != r {
			return
		}
		if !r.online() {
			v.say("MESSAGE %d FROM %s TO %s STORED", id, from, to)
		}
		v.pump(r)
	})
}

// connectedUsers: 0, the count and the aliases; 1 if the caller is
// not connected; 2 anything else. The request names no user, so the caller
// counts as connected if some user is connected from its IP.
func (v *svc) connectedUsers(c *Conn) {
	ip := remoteIP(c)
	v.s.after(func(error) {
		var names []string
		caller := false
		for alias, u := range v.users {
			if u.online() {
				names = append(names, alias)
				caller = caller || u.addr.Addr() == ip
			}
		}
		if !caller {
			v.reply(c, "1")
			v.say("CONNECTEDUSERS FAIL")
			return
		}
		sort.Strings(names)
		v.reply(c, append([]string{"0", strconv.Itoa(len(names))}, names...)...)
		v.say("CONNECTEDUSERS OK")
	})
}

// svcControl reports a C0 control character other than tab.
func svcControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 && s[i] != '\t' {
			return true
		}
	}
	return false
}
