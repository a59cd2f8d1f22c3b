// Rooms and the members in them, whatever dialect each member speaks.
package server

import (
	"slices"
	"unicode/utf8"

	"padchat/wire"
)

// member is anyone present on the hub: a native session or a plain-text one.
type member interface {
	name() string
	// deliver queues an event; enc is m already encoded for native sessions,
	// valid only during the call.
	deliver(m *wire.Msg, enc []byte)
	// plain reports a member that reads in clear text.
	plain() bool
	joined() *[]*Room
}

// Room is a named set of members. A plain room is one a plain-text dialect
// uses; native members may join it only if it was opened to plain text.
type Room struct {
	name    string
	nameB   []byte
	members []member
	plain   bool
	open    bool
	keep    bool   // configured by a dialect: stays when empty
	seq     uint32 // id of the last message
	hist    uint64 // seq of the last message stored in its history (Store.historySeq)
	topic   *topic // nil: none
}

// topic is a room's topic as set by a member; stored (Store.putTopic) and
// read back when the room is created again.
type topic struct {
	text, by string
	at       int64 // Unix nanoseconds
}

// validText reports UTF-8 text without control characters, safe to show on
// one line and to put in a tab-separated list.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// has reports whether m is a member of r. A member's own list of rooms is
// the other side of the same relation (join and part keep both), so has
// scans the shorter one: a Say to a 200-member room asked each member in
// turn, one interface compare apiece (about 1 % of a flood's CPU).
func (r *Room) has(m member) bool {
	if mine := *m.joined(); len(mine) < len(r.members) {
		return slices.Contains(mine, r)
	}
	return slices.Contains(r.members, m)
}

func (r *Room) remove(m member) bool {
	for i, x := range r.members {
		if x == m {
			last := len(r.members) - 1
			copy(r.members[i:], r.members[i+1:])
			r.members[last] = nil
			r.members = r.members[:last]
			return true
		}
	}
	return false
}

// nextID numbers room messages; like every padchat id it wraps to 1, not 0.
func nextID(id uint32) uint32 {
	id++
	if id == 0 {
		id = 1
	}
	return id
}

func dropRoom(list *[]*Room, r *Room) {
	rs := *list
	for i, x := range rs {
		if x == r {
			rs[i] = rs[len(rs)-1]
			rs[len(rs)-1] = nil
			*list = rs[:len(rs)-1]
			return
		}
	}
}
