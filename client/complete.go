// Tab completion of commands, nicks and rooms, from what the session has seen.
package client

import (
	"slices"
	"sort"
	"strings"
)

// commandNames are what /help lists, for completion.
var commandNames = []string{"/away", "/clear", "/dislike", "/help", "/history", "/join", "/like", "/list", "/love",
	"/me", "/msg", "/names", "/part", "/query", "/quit", "/topic", "/who"}

// noteNick remembers a user name seen in the session (joins, messages, who).
func (c *client) noteNick(name string) {
	if name != "" && name != c.user {
		c.nicks[name] = true
	}
}

// complete acts on Tab: the word before the cursor is completed when one
// candidate fits, extended to the common prefix when several do (and they
// are listed).
func (c *client) complete() {
	e := &c.ed
	start := e.cur
	for start > 0 && e.buf[start-1] != ' ' && e.buf[start-1] != '\n' {
		start--
	}
	word := string(e.buf[start:e.cur])
	var pool []string
	switch {
	case start == 0 && strings.HasPrefix(word, "/"):
		pool = commandNames
	default:
		for n := range c.nicks {
			pool = append(pool, n)
		}
		pool = append(pool, c.joined...)
		for r := range c.knownRooms {
			pool = append(pool, r)
		}
	}
	var hits []string
	for _, p := range pool {
		if strings.HasPrefix(strings.ToLower(p), strings.ToLower(word)) && !slices.Contains(hits, p) {
			hits = append(hits, p)
		}
	}
	sort.Strings(hits)
	switch len(hits) {
	case 0:
		c.bell()
	case 1:
		suffix := " "
		if start == 0 && !strings.HasPrefix(word, "/") {
			suffix = ": " // a nick at the start of a line addresses them
		}
		e.replaceWord(start, hits[0]+suffix)
	default:
		if p := commonPrefix(hits); len(p) > len(word) {
			e.replaceWord(start, p)
		} else {
			c.scr.println(c.r.notice("%s", strings.Join(hits, "  ")))
		}
	}
	c.tty.edited()
}

func commonPrefix(list []string) string {
	p := list[0]
	for _, s := range list[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p
}

// bell rings the terminal's bell, unless turned off.
func (c *client) bell() {
	if c.tty != nil && !c.cfg.NoBell {
		c.tty.w.WriteByte('\a')
	}
}
