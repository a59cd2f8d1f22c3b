// Hub: who is online, the rooms, and what each chat command does, for every dialect.
package server

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"padchat/otp"
	"padchat/wire"
)

// Hub holds the chat state. It runs on the loop goroutine only.
type Hub struct {
	l     *Loop
	cfg   *Config
	acct  *Accounts
	store *Store
	mail  mailbox // where DMs wait: the store, or JetStream (mail.go)
	// online holds the plain-text members by name. A native session is
	// found through its account (User.session, Hub.session), and the
	// accounts with one are listed in sessions: an idle native connection
	// costs a slot in a list, not a map entry by name.
	online   map[string]member
	sessions []*User // the accounts with a session, each at User.at
	rooms    map[string]*Room
	// arena holds every message encoded since it was last emptied; native
	// sessions queue references into it (span) and their seal reads it, so a
	// room event is copied once, not once per member (native.go, push).
	arena []byte
	solo  []byte // the same for messages to one session (replies, acks), kept
	// apart so that a member's room events stay back to back in arena
	enc     []byte    // scratch for a message to one recipient
	holders []*native // sessions that may hold spans of arena
	parts   [][]byte  // scratch for seal's view of one frame's plaintext
	plain   []byte    // scratch for the plaintext of the frame being handled
	msg     wire.Msg  // scratch for the event of a say
	// event numbers the notify in progress (0: none), so a plain-text dialect
	// formats it once for all its members (plain.go, plainEvent).
	event, events uint64
	run           roomRun  // Says of one read queued per member at once (fanrun.go)
	walking       []member // copies of member lists being fanned out to (walk)
	fanning       int      // fan-outs walking, or deliveries holding, an event in the arena
	formatted     plainShared
	name          []byte  // scratch for the sender's name in msg
	reserve       []*User // senders sealed past their durable mark this iteration
	hot           []*User // users whose pad pages may be resident (touch, coolPads)
	coolTimer     uint64  // fires coolPads when the first of them can have gone idle
	coolAt        int64   // when it is armed for; 0: not armed
	commitTimer   uint64  // wakes the loop when a batch of writes that may wait is due (commit)
	commitAt      int64   // when it is armed for
	senders       []*otp.Sender
	parked        int             // sessions parked since memory was last handed back (coolPads)
	returnedAt    int64           // when it was
	giveBack      func()          // hands freed memory and idle threads back to the system (a background handBack)
	handles       *sessionHandles // one-time session labels (handles.go)
	files         *files          // offered files (files.go)
}

func newHub(l *Loop) (*Hub, error) {
	h := &Hub{l: l, cfg: &l.cfg, online: map[string]member{}, rooms: map[string]*Room{}}
	h.coolTimer = l.newTimer(h.coolPads)
	keep := threadsToKeep()
	h.giveBack = func() { go handBack(keep) }
	h.commitTimer = l.newTimer(func() {}) // the wake-up is the point: beforeSleep commits
	var err error
	if h.acct, err = openAccounts(l.cfg.DataDir, &l.cfg); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	h.acct.claim = l.padClaim()
	h.acct.used = h.opened
	if h.store, err = openStore(l.cfg.DataDir, l.cfg.HistorySize); err != nil {
		return nil, err
	}
	if n := h.store.log.torn; n > 0 {
		l.log.Warn().Int64("bytes", n).Msg("mail log: unfinished batch zeroed")
	}
	keys := map[string]bool{}
	for _, u := range h.acct.byName {
		keys[u.key()] = true
	}
	h.mail = newMailbox(h)
	err = h.store.purgeOrphans(func(key string) bool { return keys[key] })
	if err == nil {
		h.handles, err = newSessionHandles(h.store, h.acct)
	}
	if err == nil {
		h.files, err = openFiles(h, l.cfg.DataDir)
	}
	h.acct.evicted = h.evicted
	if err != nil {
		h.store.close()
		return nil, err
	}
	return h, nil
}

// evicted drops what the store keeps for a gone account: its session
// handles always, its mailbox unless renewed (a renewed account is the same
// account with new pads). Mailboxes are keyed by account (User.key), so a
// re-added name never finds the old mail even before this runs.
func (h *Hub) evicted(u *User, r wire.ByeReason) {
	h.handles.forget(h.store, u)
	if r != wire.ByeRenewed {
		h.store.forgetMailbox(u.key())
		h.clusterForget(u.key())
		if h.files != nil {
			h.files.forget(u.Name)
		}
	}
}

func (h *Hub) close() {
	h.acct.closeAll()
	h.store.close()
}

// room finds a room by name, creating it when create is set.
func (h *Hub) room(name []byte, create bool) (*Room, error) {
	if r := h.rooms[string(name)]; r != nil {
		return r, nil
	}
	if !create {
		return nil, ErrNoSuchRoom
	}
	if !wire.ValidName(name) {
		return nil, ErrBadName
	}
	r := &Room{name: string(name), nameB: append([]byte(nil), name...)}
	r.hist = h.store.historySeq(r.name)
	var t wire.Msg
	if h.store.topic(r.name, &t) {
		r.topic = &topic{text: string(t.Text), by: string(t.User), at: t.Time}
	}
	h.clusterTopic(r)
	h.rooms[r.name] = r
	return r, nil
}

// setTopic sets a room's topic (m must be a member), tells every member and
// stores it; an empty text only reads it. It returns the topic.
func (h *Hub) setTopic(m member, name, text []byte) (string, error) {
	r := h.rooms[string(name)]
	if r == nil {
		return "", ErrNoSuchRoom
	}
	if !r.has(m) {
		return "", ErrNotInRoom
	}
	if len(text) == 0 {
		if r.topic == nil {
			return "", nil
		}
		return r.topic.text, nil
	}
	if len(text) > h.cfg.MaxMessage {
		return "", ErrTooLong
	}
	if !validText(text) {
		return "", ErrBadText
	}
	if err := h.store.usable(); err != nil {
		return "", ErrUnavailable
	}
	r.topic = &topic{text: string(text), by: m.name(), at: h.l.now}
	msg := r.topicMsg()
	h.notify(r, msg, nil, 0)
	h.store.putTopic(r.name, msg)
	h.shareTopic(r.name, msg)
	h.l.log.Info().Str("user", m.name()).Str("room", r.name).Msg("topic set")
	return r.topic.text, nil
}

// topicMsg is the room's OpTopicIs event; r.topic must be set.
func (r *Room) topicMsg() *wire.Msg {
	return &wire.Msg{Op: wire.OpTopicIs, Room: r.nameB, User: []byte(r.topic.by), Text: []byte(r.topic.text), Time: r.topic.at}
}

// join adds m to the room (creating it) and tells the members already there.
func (h *Hub) join(m member, name []byte) (*Room, error) {
	r, err := h.room(name, true)
	if err != nil {
		return nil, err
	}
	if r.plain && !r.open && !m.plain() {
		return nil, ErrPlainRoom
	}
	if r.has(m) {
		return r, nil
	}
	joined := &wire.Msg{Op: wire.OpJoined, Room: r.nameB, User: []byte(m.name())}
	h.notify(r, joined, m, wire.OpJoined)
	r.members = append(r.members, m)
	*m.joined() = append(*m.joined(), r)
	h.l.log.Info().Str("user", m.name()).Str("room", r.name).Int("members", len(r.members)).Msg("joined")
	return r, nil
}

// part removes m from a room; how ("left", "quit") goes to the others.
func (h *Hub) part(m member, name []byte, how string) error {
	r := h.rooms[string(name)]
	if r == nil {
		return ErrNoSuchRoom
	}
	if !r.remove(m) {
		return ErrNotInRoom
	}
	dropRoom(m.joined(), r)
	h.seen(m, r)
	parted := &wire.Msg{Op: wire.OpParted, Room: r.nameB, User: []byte(m.name()), Text: []byte(how)}
	h.notify(r, parted, nil, wire.OpParted)
	if len(r.members) == 0 && !r.keep {
		delete(h.rooms, r.name)
	}
	return nil
}

// seen moves a native account's history cursor in r to the room's last
// message: a member had everything said while it was there. A session cut
// off as a slow consumer, or whose write failed (in the middle of a run, say),
// did not, so its cursor stays where it was: the next join replays from there
// and the client drops what it had shown.
func (h *Hub) seen(m member, r *Room) {
	n, ok := m.(*native)
	if !ok || n.user == nil || n.user.gone || n.c.reason == ReasonSlowConsumer || n.c.reason == ReasonWriteError || h.cfg.HistorySize <= 0 {
		return
	}
	if h.l.node != nil {
		h.clusterSeen(n, r)
		return
	}
	h.store.putCursor(n.user.key(), r.name, r.hist)
}

// leave takes m off the hub: out of every room, no longer online.
func (h *Hub) leave(m member, how string) {
	rooms := append([]*Room(nil), *m.joined()...)
	for _, r := range rooms {
		h.part(m, r.nameB, how)
	}
	if h.online[m.name()] == m {
		delete(h.online, m.name())
	}
}

// startSession makes n the session of u, which has none or is replacing it.
func (h *Hub) startSession(u *User, n *native) {
	if u.session == nil {
		u.at = int32(len(h.sessions))
		h.sessions = append(h.sessions, u)
	}
	n.user, u.session = u, n
}

// endSession drops u's session from the list: the last account takes its place.
func (h *Hub) endSession(u *User) {
	var moved *User
	if h.sessions, moved = swapOut(h.sessions, u.at); moved != nil {
		moved.at = u.at
	}
	u.session = nil
}

// online reports whether n is online: its account's session, not quit
// (OpQuit leaves, then kills), replaced or closing.
func (n *native) online() bool {
	return n.user != nil && n.user.session == n && !n.c.dying && !n.c.closed
}

// session is the online native session named name, or nil.
func (h *Hub) session(name string) *native {
	if u := h.acct.user(name); u != nil && u.session != nil && u.session.online() {
		return u.session
	}
	return nil
}

// members calls fn for everyone online: plain-text members, then native
// sessions. fn must not end a session (it would change h.sessions as it is
// walked): its callers only collect.
func (h *Hub) members(fn func(name string, m member)) {
	for name, m := range h.online {
		fn(name, m)
	}
	for _, u := range h.sessions {
		if u.session.online() {
			fn(u.Name, u.session)
		}
	}
}

// notify sends an event to every member of r except skip. With share (the
// event's op), what keeps the event takes it first: a room message's history
// here, and the other nodes (toNodes). Taken after the fan-out, the encoding
// could already be gone: a delivery can move the arena (an early write past
// the output limit compacts it) or write over it (a member closed by a
// failed write fans its part out, encoded in the same arena).
func (h *Hub) notify(r *Room, msg *wire.Msg, skip member, share wire.Op) {
	h.stamp(r, msg)
	if !h.run.extends(r, skip, len(h.arena)) {
		h.flushRun() // before the encode: a flush's early write may compact the arena
	}
	enc := h.encode(msg)
	if share == wire.OpMessage && h.cfg.HistorySize > 0 && h.l.node == nil { // clustered: history is shared by toNodes
		r.hist++
		h.store.appendHistory(r.name, enc, r.hist) // a copy: the arena is reused
	}
	if share != 0 {
		h.toNodes(r.name, share, enc)
	}
	h.fanout(r, msg, enc, skip)
}

// stamp sets what the room adds to every event it sends.
func (h *Hub) stamp(r *Room, msg *wire.Msg) {
	msg.Time = h.l.now
	if r.plain {
		msg.Flags |= wire.FlagPlain
	}
}

// fanout delivers msg, encoded as enc, to every member of r except skip.
func (h *Hub) fanout(r *Room, msg *wire.Msg, enc []byte, skip member) {
	h.events++
	if h.addRun(r, enc, skip) {
		return
	}
	h.event = h.events
	h.fanning++ // enc stays where it is until the last member has it (recycleArena)
	members, walk := h.walk(r)
	// Against a native skip, each member is compared with a concrete
	// pointer (its type word and data word); member against member would be
	// a runtime.ifaceeq call per member, 3% of a 10-subscriber fan-out.
	if s, ok := skip.(*native); ok {
		for _, x := range members {
			if x != s {
				x.deliver(msg, enc)
			}
		}
	} else {
		for _, x := range members {
			if x != skip {
				x.deliver(msg, enc)
			}
		}
	}
	h.walked(walk)
	h.fanning--
	// A deliver can close a connection and so notify again: that inner
	// notify ends with event 0, and the rest of this one formats each time.
	h.event = 0
}

// walk returns a copy of r's members for one fan-out to walk. A delivery can
// close a member (an early write that fails), and its part takes it out of
// r.members under the walk, which moved the next member into its place and
// skipped it; a closed member in the copy takes nothing (deliver checks).
// Copies nest on one stack (a close inside a fan-out fans out again);
// walked(mark) drops the copy.
func (h *Hub) walk(r *Room) (members []member, mark int) {
	mark = len(h.walking)
	h.walking = append(h.walking, r.members...)
	return h.walking[mark:], mark
}

func (h *Hub) walked(mark int) {
	clear(h.walking[mark:])
	h.walking = h.walking[:mark]
}

// encode appends m to the arena, where a native deliver finds it without a
// copy. The result is valid until the next encode, so deliver must not keep it
// (a span, an offset into the arena, is what a session keeps).
func (h *Hub) encode(m *wire.Msg) []byte {
	start := len(h.arena)
	h.arena = wire.Append(h.arena, m)
	return h.arena[start:len(h.arena):len(h.arena)]
}

// encodeOne encodes m for one recipient, into scratch valid until the next call.
func (h *Hub) encodeOne(m *wire.Msg) []byte {
	h.enc = wire.Append(h.enc[:0], m)
	return h.enc
}

// arenaSpan returns where msg lies in the arena, or copies it into solo when
// it lies elsewhere (a message for one recipient keeps one copy, as before).
func (h *Hub) arenaSpan(msg []byte) span {
	if len(msg) > 0 && len(h.arena) > 0 {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(h.arena)))
		at := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
		if at >= base && at-base+uintptr(len(msg)) <= uintptr(len(h.arena)) {
			return span{off: int(at - base), n: len(msg)}
		}
	}
	start := len(h.solo)
	h.solo = append(h.solo, msg...)
	return span{off: start, n: len(msg), solo: true}
}

// arenaMax is the capacity above which an emptied arena is let go.
const arenaMax = 4 << 20

// recycleArena empties the arena once no session holds a span of it: after
// every seal of the iteration (the reserve hook), a closed or sealed session
// lets go of its spans; one still holding some (a backlog, or a seal that
// waits) keeps the arena, which is then only compacted. Under a fan-out
// (an early write of one of its members) it waits for the next reserve: the
// members after would get the event from where it lay, emptied and written
// over by the part of a member whose write failed, or moved by compaction.
func (h *Hub) recycleArena() {
	if h.fanning > 0 {
		return
	}
	keep := h.holders[:0]
	for _, n := range h.holders {
		if len(n.spans) > 0 && !n.c.closed && !n.broken {
			keep = append(keep, n)
			continue
		}
		n.spans, n.spanAt, n.holding = n.spans[:0], 0, false
		n.dropLater()
	}
	clear(h.holders[len(keep):])
	h.holders = keep
	if len(keep) > 0 || h.run.r != nil { // a run's bytes are held too
		h.compactArena()
		return
	}
	h.arena, h.solo = h.arena[:0], h.solo[:0]
	if cap(h.arena) > arenaMax {
		h.arena = nil
	}
	if cap(h.solo) > arenaMax {
		h.solo = nil
	}
}

// compactArena drops the front of the arena (and of solo) that no held span
// reaches any more, once that is most of it: a session whose backlog waits
// for its socket (native.later) keeps the arena from emptying, and in a
// steady flood some session always does. A session's spans lie in the order
// they were appended, so its first unsealed one is its lowest.
func (h *Hub) compactArena() {
	if len(h.arena) < arenaCompact && len(h.solo) < arenaCompact {
		return
	}
	lowA, lowS := len(h.arena), len(h.solo)
	for _, n := range h.holders {
		a, s := false, false
		for _, sp := range n.spans[n.spanAt:] {
			if sp.solo && !s {
				lowS, s = min(lowS, sp.off), true
			} else if !sp.solo && !a {
				lowA, a = min(lowA, sp.off), true
			}
			if a && s {
				break
			}
		}
	}
	if h.run.r != nil {
		lowA = min(lowA, h.run.from)
	}
	shiftA := lowA >= arenaCompact/2 && lowA >= len(h.arena)/2
	shiftS := lowS >= arenaCompact/2 && lowS >= len(h.solo)/2
	if !shiftA && !shiftS {
		return
	}
	for _, n := range h.holders {
		for i := range n.spans[n.spanAt:] {
			sp := &n.spans[n.spanAt+i]
			switch {
			case sp.solo && shiftS:
				sp.off -= lowS
			case !sp.solo && shiftA:
				sp.off -= lowA
			}
		}
	}
	if shiftA {
		h.run.shift(lowA)
		h.arena = h.arena[:copy(h.arena, h.arena[lowA:])]
	}
	if shiftS {
		h.solo = h.solo[:copy(h.solo, h.solo[lowS:])]
	}
}

// arenaCompact is the arena length from which compactArena looks.
const arenaCompact = 1 << 20

// say sends text from m to every other member of the room and returns its id.
func (h *Hub) say(m member, name, text []byte, flags uint8) (uint32, error) {
	if len(text) == 0 {
		return 0, ErrEmpty
	}
	if len(text) > h.cfg.MaxMessage {
		return 0, ErrTooLong
	}
	r := h.rooms[string(name)]
	if r == nil {
		return 0, ErrNoSuchRoom
	}
	if !r.has(m) {
		return 0, ErrNotInRoom
	}
	r.seq = nextID(r.seq)
	// The event and the sender's name live in hub scratch: deliveries go
	// through an interface, so a local Msg would move to the heap every time.
	h.name = append(h.name[:0], m.name()...)
	msg := &h.msg
	*msg = wire.Msg{Op: wire.OpMessage, Flags: flags & wire.FlagMe, ID: r.seq, Room: r.nameB,
		User: h.name, Text: text}
	h.run.say = true
	h.notify(r, msg, m, wire.OpMessage)
	h.run.say = false
	if h.cfg.LogMessages {
		h.l.log.Info().Str("room", r.name).Msgf("<%s>: %s", m.name(), text)
	}
	return r.seq, nil
}

// roomCount is one room of a listing (/list, LIST_ROOMS).
type roomCount struct {
	name    string
	members int  // on every node in cluster mode, a user on two counted once
	plain   bool // open to plain-text members
	keep    bool // kept open here while empty (the shared plain room)
}

// roomCounts is every room with its members, sorted by name: this node's,
// or every live node's in cluster mode.
func (h *Hub) roomCounts() []roomCount {
	if h.l.node != nil {
		return h.clusterRoomCounts()
	}
	rs := make([]roomCount, 0, len(h.rooms))
	for n, r := range h.rooms {
		rs = append(rs, roomCount{name: n, members: len(r.members), plain: r.plain, keep: r.keep})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].name < rs[j].name })
	return rs
}

// listRooms is "room\tmembers[\tplain]" per line, sorted by name.
func (h *Hub) listRooms() string {
	var b strings.Builder
	for _, r := range h.roomCounts() {
		fmt.Fprintf(&b, "%s\t%d", r.name, r.members)
		if r.plain {
			b.WriteString("\tplain")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// who lists a room's members, or everyone online when room is empty.
func (h *Hub) who(room []byte) (string, error) {
	var names []string
	if len(room) == 0 {
		h.members(func(name string, _ member) { names = append(names, name) })
	} else if r := h.rooms[string(room)]; r != nil {
		for _, x := range r.members {
			names = append(names, x.name())
		}
	}
	names, remote := h.remoteWho(string(room), names)
	if len(room) > 0 && h.rooms[string(room)] == nil && !remote {
		return "", ErrNoSuchRoom
	}
	sort.Strings(names)
	names = slices.Compact(names) // one user on two nodes
	for i, n := range names {
		if s := h.session(n); s != nil {
			if away := s.some().away; away != "" {
				names[i] = n + "\taway: " + away
			}
		}
	}
	return strings.Join(names, "\n"), nil
}

// goodbye tells every native session the server is going away. It walks a
// copy of the list: a Bye can close its connection at once (an early write
// past the output limit that fails), which takes it off h.sessions.
func (h *Hub) goodbye() {
	for _, u := range slices.Clone(h.sessions) {
		if n := u.session; n != nil && n.online() {
			n.bye(wire.ByeShutdown, "server shutting down")
		}
	}
}

// queueReserve notes a user whose sender sealed past its durable mark.
func (h *Hub) queueReserve(u *User) {
	if !u.reserve {
		u.reserve = true
		h.reserve = append(h.reserve, u)
	}
}

// reservePads is the loop's reserve hook: it makes this iteration's pad use
// durable, the state writes of all pads running at once (otp.ReserveAll). A
// user whose reservation fails loses the session, not the pad: the gate
// (Conn.flush) never lets the frames sealed past the old mark out.
func (h *Hub) reservePads() {
	h.recycleArena()
	if len(h.reserve) == 0 {
		return
	}
	senders := h.senders[:0]
	for _, u := range h.reserve {
		if u.sender != nil { // nil: evicted (removed) since it sealed
			senders = append(senders, u.sender)
		}
	}
	err := otp.ReserveAll(senders)
	clear(senders)
	for i, u := range h.reserve {
		h.reserve[i] = nil
		u.reserve = false
		if err == nil || u.sender == nil || !u.sender.Pending() {
			continue
		}
		h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot reserve pad: closing session")
		if s := u.session; s != nil {
			s.c.kill(ReasonStoreError)
		}
	}
	h.reserve, h.senders = h.reserve[:0], senders[:0]
}

// Pad state of users idle leaves the process: an idle connection should
// cost its socket and a few hundred bytes, not its pad state. After padIdle
// unused a user's pad pages are released; after parkAfter (padIdle, or
// longer for a user woken often) its pads close where nothing is held for
// the session (park, reopened on its next frame or delivery), else it is
// looked at again a second later. Only users whose pads were used since
// (h.hot) are looked at, when the cool timer says the first of them can be
// due; with none, no timer is armed at all.

// touch records a use of u's pads (every frame in or out: keep it small).
func (h *Hub) touch(u *User) {
	u.active = h.l.now
	if !u.hot {
		h.heat(u)
	}
}

// heat marks u's pages resident and lists u for the cool timer, armed for
// its pages unless armed sooner.
func (h *Hub) heat(u *User) {
	u.hot = true
	if !u.cooling {
		u.cooling = true
		h.hot = append(h.hot, u)
	}
	if at := u.active + int64(padIdle); h.coolAt == 0 || at < h.coolAt {
		h.coolAt = at
		h.l.setTimer(h.coolTimer, at)
	}
}

// opened is the accounts' word that u's pads opened: a use. A reopen of
// parked pads soon after their last use (a member of a room whose messages
// come a few seconds apart, a client pinging often) doubles how long they
// then stay open unused, up to stayMax; after a long quiet they park after
// padIdle again. So a sparse room's members stop closing and reopening
// their pads at every message, and a session woken once parks as before.
func (h *Hub) opened(u *User, reopened bool) {
	if reopened {
		if h.l.now-u.active < int64(padIdle)<<stayMax {
			u.stay = min(u.stay+1, stayMax)
		} else {
			u.stay = 0
		}
	}
	h.touch(u)
}

// stayMax bounds the doublings of parkAfter: 64 s.
const stayMax = 5

// coolPads releases the pages of the listed users idle for padIdle and parks
// those idle for their parkAfter (at most parkPerTick parks a call, so a
// crowd going idle at once does not stall the loop), keeps listed those
// still open that may park later, and arms the timer for the next one due.
func (h *Hub) coolPads() {
	now := h.l.now
	next, parked := int64(0), 0
	h.coolAt = 0
	kept := h.hot[:0]
	for _, u := range h.hot {
		at := u.active + int64(padIdle)
		if at <= now {
			idleSince := now - u.parkAfter()
			switch {
			case u.active > idleSince: // pages only: it parks later
				at = u.active + u.parkAfter()
				if u.hot {
					u.releasePages()
				}
			case parked < parkPerTick && u.canPark(h.acct, idleSince):
				parked++
				if err := u.park(); err != nil {
					h.l.log.Warn().Err(err).Str("user", u.Name).Msg("closing idle pads")
				} else {
					h.l.log.Debug().Str("user", u.Name).Msg("idle pads closed")
				}
			default:
				// Open but held (output, a reservation) or over this call's
				// parks: look again a little later.
				if u.hot {
					u.releasePages()
				}
				at = now + int64(time.Second)
			}
		}
		if !u.hot && (u.sender == nil || h.acct.claim != nil) {
			u.cooling = false // closed, or released where it never parks (cluster)
			continue
		}
		kept = append(kept, u)
		if next == 0 || at < next {
			next = at
		}
	}
	clear(h.hot[len(kept):])
	h.hot = kept
	if next != 0 {
		h.coolAt = next
		h.l.setTimer(h.coolTimer, next)
	}
	// What parking freed stays in the process until a GC runs and the
	// runtime returns it, which for a quiet daemon may be minutes away. Once
	// a crowd went idle (a call that parked all it found, after many), one
	// background hand-back (handBack: the idle threads the burst left end,
	// then a GC) returns it now; if one ran less than returnEvery ago,
	// the timer comes back for it then, so the last of a long crowd (logins
	// arriving while the first park) is handed back too. When nothing is
	// left to park within returnEvery (settled: the crowd has parked, the
	// rest is in use), waiting would only keep the crowd's garbage longer:
	// it goes once returnSettled has passed since the last (each is a
	// forced GC: churn must not make them back to back).
	h.parked += parked
	if parked < parkPerTick && h.parked >= parkReturn {
		wait := returnEvery
		if next == 0 || next-now >= int64(returnEvery) {
			wait = returnSettled
		}
		if at := h.returnedAt + int64(wait); now < at {
			if h.coolAt == 0 || at < h.coolAt {
				h.coolAt = at
				h.l.setTimer(h.coolTimer, at)
			}
		} else {
			h.parked, h.returnedAt = 0, now
			h.giveBack()
		}
	}
}

// hold opens the pads of name's session if they closed while it idled, and
// keeps them from closing for holdFor: the admin command "hold", sent by
// `padchatd user remove` and `renew` before they remove or replace the files,
// so that the sync that follows seals the session's Bye with the old pads
// (Accounts.evict). It says what it did.
func (h *Hub) hold(name string) string {
	u := h.acct.user(name)
	if u == nil || u.session == nil {
		return "no session"
	}
	// The pads' files go next: the Bye must then lie under the durable mark,
	// which a park left at the next frame's start.
	if err := u.open(h.acct); err != nil {
		return "cannot open: " + err.Error()
	}
	if err := u.sender.ReserveAhead(); err != nil {
		return "cannot reserve: " + err.Error()
	}
	h.touch(u)
	u.active = h.l.now + int64(holdFor) // a use to come: coolPads leaves it open until then
	return "held"
}

// holdFor bounds how long a hold keeps a session's pads open with no sync
// after it (a user command that died between the two).
const holdFor = 30 * time.Second

// parkReturn sessions parked make coolPads hand the memory back to the
// system: at most once per returnEvery while more may park, once per
// returnSettled when none is due to.
const (
	parkReturn    = 256
	returnEvery   = 10 * time.Second
	returnSettled = time.Second
)

// parkPerTick bounds the pads parked per coolPads call: each costs two
// state writes (no syncs) and a few syscalls, some tens of µs.
const parkPerTick = 1024
