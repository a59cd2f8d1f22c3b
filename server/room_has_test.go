package server

import (
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"padchat/wire"
)

// quietMember is a member that hears nothing (a stand-in for any dialect).
type quietMember struct {
	nick  string
	rooms []*Room
}

func (q *quietMember) name() string              { return q.nick }
func (q *quietMember) deliver(*wire.Msg, []byte) {}
func (q *quietMember) plain() bool               { return false }
func (q *quietMember) joined() *[]*Room          { return &q.rooms }

// TestRoomHasEitherSide: has answers from the shorter of the room's members
// and the member's rooms, so both sides must agree after any joins and parts,
// whichever list is shorter: a crowd in one room, and one member in many.
func TestRoomHasEitherSide(t *testing.T) {
	l, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer l.shutdown()
	h := l.hub
	crowd := make([]*quietMember, 30)
	for i := range crowd {
		crowd[i] = &quietMember{nick: fmt.Sprintf("m%d", i)}
		if _, err := h.join(crowd[i], []byte("big")); err != nil {
			t.Fatal(err)
		}
	}
	busy := crowd[0]
	for i := range 20 {
		if _, err := h.join(busy, fmt.Appendf(nil, "r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	loner := &quietMember{nick: "loner"}
	if _, err := h.join(loner, []byte("r3")); err != nil {
		t.Fatal(err)
	}
	// Part every other member of big, and busy from every third room.
	for i := 1; i < len(crowd); i += 2 {
		if err := h.part(crowd[i], []byte("big"), "left"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i += 3 {
		if err := h.part(busy, fmt.Appendf(nil, "r%d", i), "left"); err != nil {
			t.Fatal(err)
		}
	}
	big := h.rooms["big"]
	for i, m := range crowd {
		if got, want := big.has(m), i%2 == 0; got != want {
			t.Errorf("big.has(%s) = %v, want %v", m.nick, got, want)
		}
	}
	for i := range 20 {
		r := h.rooms[fmt.Sprintf("r%d", i)]
		if in := i%3 != 0; (r != nil && r.has(busy)) != in {
			t.Errorf("r%d.has(busy) = %v, want %v", i, r != nil && r.has(busy), in)
		}
		if r != nil && r.has(loner) != (i == 3) {
			t.Errorf("r%d.has(loner) = %v", i, r.has(loner))
		}
	}
	// Rooms busy is in but the loner is not, and the other way: both scans.
	if big.has(loner) || h.rooms["r4"].has(loner) || !h.rooms["r3"].has(loner) {
		t.Error("loner's rooms wrong")
	}
}
