// Cluster mode's room history, history cursors, topics and /list: shared by
// the nodes through JetStream (cluster/history.go).
package server

import (
	"hash/maphash"
	"sort"
	"strconv"
	"time"

	"padchat/cluster"
	"padchat/wire"
)

// trailLen: room messages a node remembers having delivered in a room. A
// replay or a cursor move runs within milliseconds of the join or part it
// serves, far fewer messages than this in any room a person can read.
const trailLen = 256

// trail is what this node delivered lately in one room: a hash of each room
// message's record (the same bytes as the event between nodes and the
// history record), numbered from the room's first.
type trail struct {
	n    uint64
	ring [trailLen]uint64
}

func (t *trail) note(h uint64) {
	t.ring[t.n%trailLen] = h
	t.n++
}

// since is the set of hashes noted from number from on (as far back as the ring reaches).
func (t *trail) since(from uint64) map[uint64]bool {
	from = max(from, t.n-min(t.n, trailLen))
	set := make(map[uint64]bool, t.n-from)
	for i := from; i < t.n; i++ {
		set[t.ring[i%trailLen]] = true
	}
	return set
}

// sharedRooms is the loop's side of the rooms' shared state.
type sharedRooms struct {
	seed   maphash.Seed
	trails map[string]*trail // by room, for rooms with members here
	topics map[string]topic  // every room's topic, as the topic bucket has it
	seq    uint64            // history records published by this process
	start  int64             // start time, part of the records' message ids
}

func (l *Loop) startSharedRooms() error {
	l.shared = &sharedRooms{start: time.Now().UnixNano(), seed: maphash.MakeSeed(), trails: map[string]*trail{}, topics: map[string]topic{}}
	return l.node.WatchTopics(func(room string, rec []byte) { l.hub.onSharedTopic(room, rec) })
}

func (s *sharedRooms) hash(rec []byte) uint64 { return maphash.Bytes(s.seed, rec) }

func (s *sharedRooms) trail(room string) *trail {
	t := s.trails[room]
	if t == nil {
		t = &trail{}
		s.trails[room] = t
	}
	return t
}

// shareMessage notes a room message delivered here (rec: its encoding) and,
// when said here (local), stores it in the shared history.
func (h *Hub) shareMessage(room string, rec []byte, local bool) {
	sh := h.l.shared
	sh.trail(room).note(sh.hash(rec))
	if local && h.cfg.HistorySize > 0 {
		sh.seq++
		h.l.node.AppendHistory(room, rec, h.l.node.Name()+"-"+strconv.FormatInt(sh.start, 36)+"-h"+strconv.FormatUint(sh.seq, 36))
	}
}

// clusterJoined replays to n what its account has not had of r, from the
// shared history, wherever it was said. It arrives after the live messages
// said since the join, none of which it repeats.
func (h *Hub) clusterJoined(n *native, r *Room) {
	if !h.l.node.KeepsHistory() {
		return
	}
	t := h.l.shared.trail(r.name)
	from := t.n
	h.l.node.Replay(n.user.key(), r.name, h.cfg.HistorySize, func(recs []cluster.Record, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("room", r.name).Msg("cluster: history not replayed")
			return
		}
		if h.rooms[r.name] != r || !r.has(n) {
			return // gone meanwhile
		}
		h.replayRecords(n, recs, t.since(from))
	})
}

// clusterHistory is /history N from the shared history.
func (h *Hub) clusterHistory(n *native, r *Room, max int) {
	if max <= 0 || max > h.cfg.HistorySize {
		max = h.cfg.HistorySize
	}
	if !h.l.node.KeepsHistory() {
		return
	}
	h.l.node.History(r.name, max, func(recs []cluster.Record, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("room", r.name).Msg("cluster: history not read")
			return
		}
		if r.has(n) {
			h.replayRecords(n, recs, nil)
		}
	})
}

func (h *Hub) replayRecords(n *native, recs []cluster.Record, skip map[uint64]bool) {
	var msg wire.Msg
	for _, rec := range recs {
		if skip[h.l.shared.hash(rec.Data)] || wire.Decode(rec.Data, &msg) != nil {
			continue
		}
		msg.Flags |= wire.FlagHistory
		n.deliver(&msg, h.encode(&msg))
	}
}

// clusterSeen moves n's account's shared cursor in r past what this node
// delivered in r, as Hub.seen does locally.
func (h *Hub) clusterSeen(n *native, r *Room) {
	if !h.l.node.KeepsHistory() {
		return
	}
	sh := h.l.shared
	had := sh.trail(r.name).since(0)
	h.l.node.Seen(n.user.key(), r.name, func(rec []byte) bool { return had[sh.hash(rec)] })
}

// shareTopic gives every node the topic just set here.
func (h *Hub) shareTopic(room string, msg *wire.Msg) {
	if h.l.node != nil {
		h.l.node.PutTopic(room, wire.Append(nil, msg))
	}
}

// onSharedTopic takes a room's topic from the topic bucket: rooms created
// here later start with it, and a room with members here tells them when it
// changed (a topic set here is already theirs).
func (h *Hub) onSharedTopic(room string, rec []byte) {
	var m wire.Msg
	if wire.Decode(rec, &m) != nil || m.Op != wire.OpTopicIs {
		h.l.log.Warn().Str("room", room).Msg("cluster: bad topic record")
		return
	}
	t := topic{text: string(m.Text), by: string(m.User), at: m.Time}
	h.l.shared.topics[room] = t
	r := h.rooms[room]
	if r == nil || r.topic != nil && *r.topic == t {
		return
	}
	r.topic = &t
	h.notify(r, r.topicMsg(), nil, 0)
}

// clusterTopic gives a room created here the cluster's topic for it.
func (h *Hub) clusterTopic(r *Room) {
	if h.l.node == nil {
		return
	}
	if t, ok := h.l.shared.topics[r.name]; ok {
		r.topic = &t
	}
}

// forgetTrails drops the trails of rooms no longer here (housekeeping).
func (h *Hub) forgetTrails() {
	for name := range h.l.shared.trails {
		if h.rooms[name] == nil {
			delete(h.l.shared.trails, name)
		}
	}
}

// clusterMembers is every room of every live node with its members (one
// user on two nodes counted once), and which rooms a node says are plain.
func (h *Hub) clusterMembers() (members map[string]map[string]bool, plain map[string]bool) {
	members, plain = map[string]map[string]bool{}, map[string]bool{}
	add := func(room, user string) {
		if members[room] == nil {
			members[room] = map[string]bool{}
		}
		members[room][user] = true
	}
	for name, r := range h.rooms {
		members[name] = map[string]bool{}
		plain[name] = r.plain
		for _, m := range r.members {
			add(name, m.name())
		}
	}
	for _, rn := range h.l.remote {
		if h.l.now-rn.seen > int64(presenceTTL) {
			continue
		}
		for u, rooms := range rn.users {
			for room := range rooms {
				add(room, u)
			}
		}
		for room := range rn.plain {
			plain[room] = true
		}
	}
	return members, plain
}

// clusterRoomCounts is roomCounts over every live node.
func (h *Hub) clusterRoomCounts() []roomCount {
	members, plain := h.clusterMembers()
	rs := make([]roomCount, 0, len(members))
	for n, m := range members {
		r := h.rooms[n]
		rs = append(rs, roomCount{name: n, members: len(m), plain: plain[n] || n == h.cfg.PlainRoom, keep: r != nil && r.keep})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].name < rs[j].name })
	return rs
}
