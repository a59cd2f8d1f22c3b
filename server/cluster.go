// Cluster mode: the loop's side of package cluster, and the queue through which
// other goroutines hand the loop work.
package server

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"padchat/cluster"
	"padchat/otp"
	"padchat/wire"
)

// presenceTTL: a node not heard from for this long has its users dropped from
// /who (heartbeats come every housekeeping tick, a second).
const presenceTTL = 3 * time.Second

// remoteNode is what another node's heartbeats and room events say is online there.
type remoteNode struct {
	seen  int64                      // loop time of the last heartbeat
	users map[string]map[string]bool // user -> rooms joined
	plain map[string]bool            // its rooms open to plain-text members
}

// plainMark, before a room name in a heartbeat, says the room is plain (a
// room name never starts with it, wire.ValidName).
const plainMark = '+'

// posted is work other goroutines (nats.go's) hand the loop: queued under a
// mutex, run on the loop goroutine at its next wake-up.
type posted struct {
	mu  sync.Mutex
	fs  []func()
	run []func() // the loop's half of the double buffer
}

// post queues f for the loop goroutine and wakes the poller; safe from any
// goroutine.
func (l *Loop) post(f func()) {
	l.posted.mu.Lock()
	l.posted.fs = append(l.posted.fs, f)
	l.posted.mu.Unlock()
	l.p.Wake()
}

// runPosted runs what was posted since the last call, on the loop goroutine.
func (l *Loop) runPosted() {
	q := &l.posted
	q.mu.Lock()
	q.fs, q.run = q.run[:0], q.fs
	q.mu.Unlock()
	for i, f := range q.run {
		q.run[i] = nil
		f()
	}
}

// startCluster joins the cluster when cfg.Cluster.URL is set; otherwise
// nothing changes.
func (l *Loop) startCluster() error {
	if l.cfg.Cluster.URL == "" {
		return nil
	}
	opt := l.cfg.Cluster
	opt.History = l.cfg.HistorySize
	opt.Post = l.post
	opt.Log = func(what string, err error) { l.log.Error().Err(err).Msg(what) }
	n, err := cluster.Connect(opt)
	if err != nil {
		return err
	}
	l.node = n
	l.remote = map[string]*remoteNode{}
	// The callbacks run on the loop (post), after New returned: l.hub is set.
	err = n.Listen(func(from string, data []byte) { l.hub.onRemoteRoom(from, data) },
		func(from string, data []byte) { l.hub.onRemotePresence(from, data) })
	if err == nil {
		err = l.startSharedRooms()
	}
	if err == nil {
		err = l.startCopyWatch()
	}
	if err != nil {
		n.Close()
		l.node = nil
		return err
	}
	l.log.Info().Str("node", n.Name()).Str("nats", cluster.Redacted(opt.URL)).Msg("cluster node joined")
	return nil
}

// padClaim is the accounts' hook for a sending pad's shared reserve mark (nil
// when not clustered: the pad's state file alone holds it).
func (l *Loop) padClaim() func(otp.PadID) otp.Claimer {
	if l.node == nil {
		return nil
	}
	return l.node.PadClaim
}

func (l *Loop) stopCluster() {
	if l.node != nil {
		_ = l.node.PublishPresence(nil) // gone now, not in presenceTTL
		l.node.Close()
		l.node = nil
	}
}

// toNodes sends a room event said on this node to the other nodes: enc, the
// encoding its local members got (in the arena; the publish and the history
// record copy it).
func (h *Hub) toNodes(room string, op wire.Op, enc []byte) {
	n := h.l.node
	if n == nil {
		return
	}
	if err := n.PublishRoom(room, enc); err != nil {
		h.l.log.Warn().Err(err).Str("room", room).Msg("cluster: room event not shared")
	}
	if op == wire.OpMessage {
		h.shareMessage(room, enc, true)
	}
}

// onRemoteRoom delivers another node's room event to this node's members of
// the room, and keeps that node's presence in step with its joins and parts.
func (h *Hub) onRemoteRoom(from string, data []byte) {
	var m wire.Msg
	if err := wire.Decode(data, &m); err != nil {
		h.l.log.Warn().Err(err).Str("node", from).Msg("cluster: bad room event")
		return
	}
	room, user := string(m.Room), string(m.User)
	if rn := h.l.remote[from]; rn != nil {
		switch m.Op {
		case wire.OpJoined:
			if rn.users[user] == nil {
				rn.users[user] = map[string]bool{}
			}
			rn.users[user][room] = true
			if m.Flags&wire.FlagPlain != 0 {
				rn.plain[room] = true
			}
		case wire.OpParted:
			delete(rn.users[user], room)
		}
	}
	r := h.rooms[room]
	if r == nil {
		return // no member here
	}
	m.Flags &^= wire.FlagPlain
	h.notify(r, &m, nil, 0)
	if m.Op == wire.OpMessage {
		h.shareMessage(room, data, false)
	}
}

// heartbeat tells the other nodes who is online here and in which rooms:
// one line per user, the name then its rooms, tab-separated.
func (h *Hub) heartbeat() {
	n := h.l.node
	if n == nil {
		return
	}
	b := h.l.shareBuf[:0]
	h.members(func(name string, m member) {
		b = append(b, name...)
		for _, r := range *m.joined() {
			b = append(b, '\t')
			if r.plain {
				b = append(b, plainMark)
			}
			b = append(b, r.name...)
		}
		b = append(b, '\n')
	})
	h.l.shareBuf = b
	if err := n.PublishPresence(b); err != nil {
		h.l.log.Warn().Err(err).Msg("cluster: heartbeat not sent")
	}
	h.forgetTrails()
	h.retryLocks()
	h.shareRecvs()
	if lost := n.HistoryLost(); lost > 0 {
		h.l.log.Warn().Uint64("records", lost).Msg("cluster: room messages not stored in the shared history (JetStream slow or unreachable)")
	}
}

func (h *Hub) onRemotePresence(from string, data []byte) {
	if len(data) == 0 { // the node stopped
		delete(h.l.remote, from)
		return
	}
	rn := &remoteNode{seen: h.l.now, users: map[string]map[string]bool{}, plain: map[string]bool{}}
	for line := range bytes.Lines(data) {
		f := strings.Split(strings.TrimSuffix(string(line), "\n"), "\t")
		rooms := map[string]bool{}
		for _, r := range f[1:] {
			if r != "" && r[0] == plainMark {
				r = r[1:]
				rn.plain[r] = true
			}
			rooms[r] = true
		}
		rn.users[f[0]] = rooms
	}
	h.l.remote[from] = rn
}

// remoteWho adds the users online on other nodes (in room, when given) to
// names; found reports whether any other node has the room.
func (h *Hub) remoteWho(room string, names []string) (_ []string, found bool) {
	for _, rn := range h.l.remote {
		if h.l.now-rn.seen > int64(presenceTTL) {
			continue
		}
		for u, rooms := range rn.users {
			if room == "" || rooms[room] {
				names = append(names, u)
				found = true
			}
		}
	}
	return names, found
}
