// --json: one JSON object per event on stdout, for scripts that parse what happens.
package client

import (
	"bufio"
	"encoding/json"
	"strings"
	"time"

	"padchat/wire"
)

// jsonEvent is one line of --json output; empty fields are left out.
type jsonEvent struct {
	Event   string            `json:"event"` // message, direct, joined, parted, delivered, sent, users, rooms, topic, notice, error
	Room    string            `json:"room,omitempty"`
	User    string            `json:"user,omitempty"`
	Text    string            `json:"text,omitempty"`
	ID      uint32            `json:"id,omitempty"`
	Time    string            `json:"time,omitempty"` // RFC 3339, the server's clock
	Me      bool              `json:"me,omitempty"`
	History bool              `json:"history,omitempty"`
	Users   []string          `json:"users,omitempty"`
	Away    map[string]string `json:"away,omitempty"` // users: name → away message
}

// jsonScreen turns the client's own lines (notices, errors) into events too,
// so stdout is JSON and nothing else.
type jsonScreen struct{ w *bufio.Writer }

func (s *jsonScreen) println(line string) {
	ev := jsonEvent{Event: "notice", Text: strings.TrimPrefix(line, "-- ")}
	if rest, ok := strings.CutPrefix(line, "!! "); ok {
		ev = jsonEvent{Event: "error", Text: rest}
	}
	s.write(&ev)
}

func (s *jsonScreen) write(ev *jsonEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		return // cannot happen: strings and numbers only
	}
	s.w.Write(b)
	s.w.WriteByte('\n')
}

func (s *jsonScreen) flush() { _ = s.w.Flush() }

// emit writes m as an event when --json is on and reports whether it did;
// otherwise the caller prints its line.
func (c *client) emit(event string, m *wire.Msg) bool {
	js, ok := c.scr.(*jsonScreen)
	if !ok {
		return false
	}
	ev := jsonEvent{Event: event, Room: string(m.Room), User: string(m.User), Text: strings.ToValidUTF8(string(m.Text), "\uFFFD"), ID: m.ID,
		Me: m.Flags&wire.FlagMe != 0, History: m.Flags&wire.FlagHistory != 0}
	if m.Time != 0 {
		ev.Time = time.Unix(0, m.Time).UTC().Format(time.RFC3339Nano)
	}
	if event == "users" {
		for n := range strings.SplitSeq(ev.Text, "\n") {
			n, away, isAway := strings.Cut(n, "\t")
			if n != "" {
				ev.Users = append(ev.Users, n)
			}
			if isAway {
				if ev.Away == nil {
					ev.Away = map[string]string{}
				}
				ev.Away[n] = strings.TrimPrefix(away, "away: ")
			}
		}
		ev.Text = ""
	}
	js.write(&ev)
	return true
}
