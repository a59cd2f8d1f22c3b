// How events become lines: one plain format for pipes and tests, timestamps and colours on a TTY.
package client

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode"

	"padchat/wire"
)

// renderer formats lines without their line ending. With tty false the output
// is exactly the documented plain format: no timestamps, no escape codes.
type renderer struct {
	tty    bool
	colour bool // escape codes for colour: a TTY, and neither NO_COLOR nor TERM=dumb
	now    func() time.Time
}

// highlight marks a line that concerns the user (a DM, a mention).
func (r *renderer) highlight(line string) string {
	if !r.colour {
		if r.tty {
			return "** " + line
		}
		return line
	}
	return "\x1b[1;7m" + line + "\x1b[0m"
}

// nameColours are the ANSI foreground colours a name hashes onto; black,
// white and the greys are left out so every name stays readable.
var nameColours = [...]string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

// name colours a user name on a TTY, the same colour for the same name.
func (r *renderer) name(b []byte) string {
	s := clean(b)
	if !r.colour {
		return s
	}
	h := fnv.New32a()
	h.Write(b)
	return "\x1b[" + nameColours[h.Sum32()%uint32(len(nameColours))] + "m" + s + "\x1b[0m"
}

// stamp is the TTY's "HH:MM " prefix; ns is the server's time, or 0 for now.
func (r *renderer) stamp(ns int64) string {
	if !r.tty {
		return ""
	}
	now := r.now().Local()
	t := now
	if ns != 0 {
		t = time.Unix(0, ns).Local()
	}
	if y, m, d := t.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
		return t.Format("2006-01-02 15:04") + " " // history from another day says which
	}
	return t.Format("15:04") + " "
}

// roomMessage: "[lobby] alice: hi", "[lobby] * alice waves", "[lobby] (history) alice: hi".
func (r *renderer) roomMessage(m *wire.Msg) string {
	var b strings.Builder
	b.WriteString(r.stamp(m.Time))
	b.WriteString("[" + clean(m.Room) + "] ")
	if m.Flags&wire.FlagHistory != 0 {
		b.WriteString("(history) ")
	}
	if m.Flags&wire.FlagMe != 0 {
		b.WriteString("* " + r.name(m.User) + " " + body(m.Text))
	} else {
		b.WriteString(r.name(m.User) + ": " + body(m.Text))
	}
	return b.String()
}

// direct: "[dm] alice: hi".
func (r *renderer) direct(m *wire.Msg) string {
	return r.stamp(m.Time) + "[dm] " + r.name(m.User) + ": " + body(m.Text)
}

// sentDirect echoes, on a TTY only, a direct message the user just typed.
func (r *renderer) sentDirect(me, to, text string) string {
	return r.stamp(0) + "[dm to " + r.name([]byte(to)) + "] " + r.name([]byte(me)) + ": " + body([]byte(text))
}

// notice: "-- …". Arguments are cleaned by the caller (names via r.name).
func (r *renderer) notice(format string, args ...any) string {
	return r.stamp(0) + "-- " + fmt.Sprintf(format, args...)
}

// alert: "!! …", for server errors, local errors and warnings.
func (r *renderer) alert(format string, args ...any) string {
	s := r.stamp(0) + "!! " + fmt.Sprintf(format, args...)
	if r.colour {
		return "\x1b[1;31m" + s + "\x1b[0m"
	}
	return s
}

// rooms renders a List reply, lines "room\tcount[\tplain]":
// "-- rooms: lobby (2), dev (1, plain)" or "-- no rooms".
func (r *renderer) rooms(text []byte) string {
	var parts []string
	for line := range strings.SplitSeq(string(text), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		extra := ""
		if len(f) > 2 && f[2] == "plain" {
			extra = ", plain"
		}
		parts = append(parts, fmt.Sprintf("%s (%s%s)", clean([]byte(f[0])), clean([]byte(f[1])), extra))
	}
	if len(parts) == 0 {
		return r.notice("no rooms")
	}
	return r.notice("rooms: %s", strings.Join(parts, ", "))
}

// users renders a Who reply: "-- in lobby: alice, bob" or, for everyone, "-- online: alice, bob".
func (r *renderer) users(room, text []byte) string {
	var names []string
	for line := range strings.SplitSeq(string(text), "\n") {
		n, away, isAway := strings.Cut(line, "\t")
		if n == "" {
			continue
		}
		s := r.name([]byte(n))
		if isAway {
			s += " (" + clean([]byte(away)) + ")"
		}
		names = append(names, s)
	}
	list := strings.Join(names, ", ")
	if len(names) == 0 {
		list = "nobody"
	}
	if len(room) == 0 {
		return r.notice("online: %s", list)
	}
	return r.notice("in %s: %s", clean(room), list)
}

// topic is "topic of ROOM: TEXT (set by USER)"; no user: without the part in brackets.
func (r *renderer) topic(room, text, by []byte) string {
	s := "topic of " + clean(room) + ": " + clean(text)
	if len(by) > 0 {
		s += " (set by " + r.name(by) + ")"
	}
	return s
}

// continuation starts each further line of a multi-line message.
const continuation = "\n    "

// body is a message's text made safe to print; a multi-line message (a
// paste, or alt-enter) continues on lines indented by four spaces.
func body(b []byte) string {
	if !bytes.ContainsRune(b, '\n') {
		return clean(b)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte{'\n'})
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = clean(bytes.TrimSuffix(l, []byte{'\r'}))
	}
	return strings.Join(out, continuation)
}

// clean makes text from the network safe to print: control characters (which
// could move the cursor or recolour the terminal) and bidi overrides (which
// could make text read as something else) become '?', tabs a space, invalid
// UTF-8 the replacement character.
func clean(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r), r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return '?'
		}
		return r
	}, s)
}
