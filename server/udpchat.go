// UDP chat (docs/DIALECTS.md): one datagram is one message, the sender's address is who it is.
package server

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"

	"golang.org/x/sys/unix"

	"padchat/poller"
	"padchat/wire"
)

func init() {
	registerDialect(dialect{Protocol{Name: "udp", Help: "UDP chat `address` (plain text)"}, startUDPChat})
}

// What a UDP chat peer receives besides "<user>: text" datagrams.
const (
	udpChatBye     = "bye"
	udpChatWelcome = "%s You are %s; send bye to leave."
	udpChatTaken   = "error: the name %s is in use"
	udpChatTooLong = "error: message too long (max %d bytes)"
	udpChatBadText = "error: text must be UTF-8 without control characters"
	udpChatJoined  = "%s joined"
	udpChatParted  = "%s left"
)

const (
	// maxUDPPeers bounds the peer table: addresses are free to invent.
	maxUDPPeers = 4096
	// udpBatch bounds the datagrams read per readiness, so one busy socket
	// cannot starve the connections.
	udpBatch = 256
)

// udpChat is the UDP socket on the loop and the peers heard from lately.
type udpChat struct {
	l        *Loop
	h        *Hub
	sock     int
	addr     net.Addr
	self     unix.Sockaddr
	peers    map[string]*udpPeer
	sweeper  uint64 // the loop timer of sweep
	nextScan int64  // when sweeper is armed for; 0: not armed (no peers)
	cookies  *udpCookies
	dropped  uint64 // datagrams not sent: socket buffer full (UDP drops, so do we)
}

// udpPeer is one address that spoke: a plain member of the plain room.
type udpPeer struct {
	plainUser
	u    *udpChat
	sa   unix.Sockaddr
	key  string
	last int64 // unix nanos of its last datagram
}

func startUDPChat(l *Loop, addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	// As with TCP listeners: the loop, not Go's runtime poller, owns the socket.
	f, err := pc.(*net.UDPConn).File()
	bound := pc.LocalAddr()
	pc.Close()
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", addr, err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return err
	}
	cookies, err := newUDPCookies()
	if err != nil {
		unix.Close(fd)
		return err
	}
	u := &udpChat{l: l, h: l.hub, sock: fd, addr: bound, peers: map[string]*udpPeer{}, cookies: cookies}
	u.self, _ = unix.Getsockname(fd)
	if err := l.p.Add(fd, readable, listenerTag|uint64(fd)); err != nil {
		unix.Close(fd)
		return err
	}
	l.watchers[fd] = u
	u.sweeper = l.newTimer(u.sweep)
	l.log.Info().Str("dialect", "udp").Str("addr", bound.String()).Msg("dialect listening")
	return nil
}

func (u *udpChat) fd() int { return u.sock }

// open is false once the loop has shut the socket (shutdown empties watchers).
func (u *udpChat) open() bool { return u.l.watchers[u.sock] == u }

// ready reads a bounded batch of datagrams.
func (u *udpChat) ready(_ poller.Mask) {
	for i := 0; i < udpBatch; i++ {
		n, from, err := unix.Recvfrom(u.sock, u.l.rbuf, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil:
			// An ICMP error for an earlier sendto, on some systems: not fatal.
			u.l.log.Debug().Err(err).Str("dialect", "udp").Msg("recvfrom")
			continue
		}
		if from == nil || u.isSelf(from) {
			continue // a datagram from ourselves would loop forever
		}
		u.datagram(from, u.l.rbuf[:n])
	}
}

// datagram is one message from one address.
func (u *udpChat) datagram(from unix.Sockaddr, b []byte) {
	h := u.h
	key := udpKey(from)
	if key == "" {
		return
	}
	p := u.peers[key]
	if p == nil {
		u.stranger(from, key, b)
		return
	}
	// nc -u and friends end their lines; the course's clients do not.
	text := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
	if string(bytes.TrimSpace(text)) == udpChatBye {
		u.send(from, []byte(udpChatBye))
		u.forget(p, "quit")
		return
	}
	if u.cookies.valid(from, text, u.l.now) {
		p.last = u.l.now // a repeated join line: the first one was lost on its way back
		return
	}
	if err := checkText(text); err != nil {
		u.send(from, []byte(udpChatBadText))
		return
	}
	if len(text) > h.cfg.MaxMessage {
		u.send(from, fmt.Appendf(nil, udpChatTooLong, h.cfg.MaxMessage))
		return
	}
	p.last = u.l.now
	if len(bytes.TrimSpace(text)) == 0 {
		return
	}
	h.say(p, []byte(h.cfg.PlainRoom), text, 0)
}

// stranger answers an address that is not a member. It joins by echoing the
// cookie line of the server's challenge, which proves it receives what is
// sent to it; until then it gets one reply per datagram, at most
// udpAmplification× its size, and nothing of the room, so a spoofed source
// cannot turn the daemon into an amplifier.
func (u *udpChat) stranger(from unix.Sockaddr, key string, b []byte) {
	if u.cookies.valid(from, b, u.l.now) {
		u.admit(from, key)
		return
	}
	if string(bytes.TrimSpace(b)) == udpChatBye {
		u.send(from, []byte(udpChatBye)) // no longer than what came in
		return
	}
	if c := u.cookies.challenge(from, u.l.now, u.h.cfg.Welcome, len(b)); c != nil {
		u.send(from, c)
	}
}

// admit makes a new address a member of the plain room, named after itself.
func (u *udpChat) admit(from unix.Sockaddr, key string) *udpPeer {
	h := u.h
	if len(u.peers) >= maxUDPPeers {
		u.l.log.Debug().Str("dialect", "udp").Str("peer", key).Msg("peer table full: datagram dropped")
		return nil
	}
	p := &udpPeer{u: u, sa: from, key: key, last: u.l.now}
	name := udpName(from)
	if err := h.claimName(p, []byte(name)); err != nil {
		u.send(from, fmt.Appendf(nil, udpChatTaken, name))
		return nil
	}
	p.nick = name
	u.peers[key] = p
	if u.nextScan == 0 {
		u.armSweep(p.last + int64(h.cfg.IdleTimeout))
	}
	u.send(from, fmt.Appendf(nil, udpChatWelcome, h.cfg.Welcome, name))
	h.join(p, []byte(h.cfg.PlainRoom))
	u.l.log.Info().Str("dialect", "udp").Str("user", name).Str("remote", key).Msg("connected")
	return p
}

// forget takes a peer off the hub: it said bye, or went quiet.
func (u *udpChat) forget(p *udpPeer, how string) {
	delete(u.peers, p.key)
	u.h.leave(p, how)
	u.l.log.Info().Str("dialect", "udp").Str("user", p.nick).Str("how", how).Msg("udp peer forgotten")
}

// sweep forgets the peers silent for the idle timeout. UDP has no close:
// silence is the goodbye. It runs when the oldest silence it knew of could
// have run out (datagrams only update p.last), at most once a second, and
// not at all while there are no peers.
func (u *udpChat) sweep() {
	u.nextScan = 0
	if !u.open() {
		return
	}
	now, idle := u.l.now, int64(u.h.cfg.IdleTimeout)
	next := int64(0)
	for _, p := range u.peers {
		switch {
		case now-p.last >= idle:
			u.forget(p, "idle")
		case next == 0 || p.last+idle < next:
			next = p.last + idle
		}
	}
	if next > 0 {
		u.armSweep(max(next, now+int64(housekeeping)))
	}
}

func (u *udpChat) armSweep(at int64) {
	u.nextScan = at
	u.l.setTimer(u.sweeper, at)
}

// idleChanged sweeps at once: a shorter idle timeout may have run out already.
func (u *udpChat) idleChanged() {
	if u.nextScan != 0 {
		u.armSweep(u.l.now)
	}
}

// udpChatFormat writes room events as datagrams, one each.
var udpChatFormat = plainFormat{kind: sharedUDP, joined: udpChatJoined, left: udpChatParted, quit: udpChatParted}

func (p *udpPeer) deliver(m *wire.Msg, _ []byte) {
	if b, _, ok := p.u.h.plainEvent(&udpChatFormat, m); ok {
		p.u.send(p.sa, b)
	}
}

// send is a non-blocking sendto; a full socket buffer loses the datagram.
func (u *udpChat) send(to unix.Sockaddr, b []byte) {
	if !u.open() {
		return
	}
	for {
		err := unix.Sendto(u.sock, b, 0, to)
		switch {
		case err == nil:
			return
		case errors.Is(err, unix.EINTR):
			continue
		}
		u.dropped++
		if u.dropped == 1 || u.dropped%1000 == 0 {
			u.l.log.Warn().Err(err).Str("dialect", "udp").Uint64("dropped", u.dropped).Msg("udp datagram dropped")
		}
		return
	}
}

func (u *udpChat) isSelf(sa unix.Sockaddr) bool {
	port, ip := sockaddrPort(sa)
	myPort, myIP := sockaddrPort(u.self)
	return port == myPort && (ip.IsLoopback() || ip.Equal(myIP) || myIP.IsUnspecified())
}

func sockaddrPort(sa unix.Sockaddr) (int, net.IP) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port, net.IP(a.Addr[:])
	case *unix.SockaddrInet6:
		return a.Port, net.IP(a.Addr[:])
	}
	return -1, nil
}

// udpKey is a peer's identity: its address as "ip:port".
func udpKey(sa unix.Sockaddr) string {
	port, ip := sockaddrPort(sa)
	if ip == nil {
		return ""
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(port))
}

// udpName is the room name of an address: "udp-127.0.0.1-5000". IPv6 colons
// become '_'; an address too long for a name is replaced by a hash of it.
func udpName(sa unix.Sockaddr) string {
	port, ip := sockaddrPort(sa)
	host := ip.String()
	if ip.To4() == nil {
		host = strings.ReplaceAll(host, ":", "_")
	}
	name := fmt.Sprintf("udp-%s-%d", host, port)
	if len(name) > wire.MaxName {
		f := fnv.New32a()
		f.Write(ip)
		name = fmt.Sprintf("udp6-%08x-%d", f.Sum32(), port)
	}
	return name
}
