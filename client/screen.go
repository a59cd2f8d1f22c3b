// Where lines go: straight to a pipe, or above the prompt on a TTY without garbling the line being typed.
package client

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/term"
)

// screen receives finished lines. Output is buffered and written by flush,
// which the loop calls once before it sleeps.
type screen interface {
	println(s string)
	flush()
}

// plainScreen writes one line per event, nothing else: scripts and tests read it.
type plainScreen struct{ w *bufio.Writer }

func (s *plainScreen) println(line string) {
	s.w.WriteString(line)
	s.w.WriteByte('\n')
}

// Errors writing stdout are ignored: there is no better place to report them,
// and the session itself is still sound.
func (s *plainScreen) flush() { _ = s.w.Flush() }

// ttyScreen keeps a prompt and the line being edited on the last row. A line
// clears that row, prints, and leaves the prompt to be redrawn once per loop
// iteration, so a burst of messages costs one redraw. Raw mode turns off the
// kernel's \n → \r\n, hence the explicit \r\n.
type ttyScreen struct {
	w           *bufio.Writer
	fd          int // the terminal, for its width
	ed          *editor
	prompt      string
	status      string // the status line, drawn on the row above the prompt; "" for none
	colour      bool   // the status line in reverse video
	active      bool   // a prompt is wanted (the session is up and reading keys)
	drawn       bool   // the prompt row (and status row) is on screen: clear before printing a line
	statusDrawn bool   // the row above the prompt is the status line
	stale       bool   // the prompt row on screen no longer matches prompt and buffer
}

// Bracketed paste: the terminal marks pasted text, so it is never taken for keys.
const (
	pasteOn  = "\x1b[?2004h"
	pasteOff = "\x1b[?2004l"
)

func (s *ttyScreen) println(line string) {
	s.clearRows()
	s.w.WriteString(strings.ReplaceAll(line, "\n", "\r\n"))
	s.w.WriteString("\r\n")
}

// clearRows erases the prompt row and the status row above it, leaving the
// cursor at the start of where the status row was.
func (s *ttyScreen) clearRows() {
	if !s.drawn {
		return
	}
	s.w.WriteString("\r\x1b[K")
	if s.statusDrawn {
		s.w.WriteString("\x1b[A\r\x1b[K")
	}
	s.drawn, s.statusDrawn = false, false
}

// edited marks the prompt row stale after a key or a room change.
func (s *ttyScreen) edited() { s.stale = true }

func (s *ttyScreen) flush() {
	if s.active && (!s.drawn || s.stale) {
		s.redraw()
	}
	_ = s.w.Flush()
}

// hide clears the prompt row for good, before the client exits.
func (s *ttyScreen) hide() {
	s.clearRows()
	if s.active {
		s.w.WriteString(pasteOff)
	}
	s.active, s.drawn = false, false
	_ = s.w.Flush()
}

// redraw writes prompt + buffer and puts the cursor back. A buffer wider than
// the terminal scrolls sideways so the cursor stays visible and the row never
// wraps (a wrapped row could not be cleared with one \r\x1b[K).
func (s *ttyScreen) redraw() {
	cols, _, err := term.GetSize(s.fd)
	if err != nil || cols <= 0 {
		cols = 80
	}
	// The limit is visible before it is reached, and red past it.
	counter, counterW := "", 0
	if n := len(string(s.ed.buf)); n > maxMessageBytes*3/4 {
		counter = fmt.Sprintf("(%d/%d) ", n, maxMessageBytes)
		counterW = len(counter)
		if n > maxMessageBytes {
			counter = "\x1b[1;31m" + counter + "\x1b[0m"
		}
	}
	avail := max(cols-textWidth([]rune(s.prompt))-counterW-1, 8)
	buf, cur := s.ed.buf, s.ed.cur
	start, w := 0, textWidth(buf[:cur])
	for w > avail {
		w -= runeWidth(buf[start])
		start++
	}
	end := cur
	for end < len(buf) && w+runeWidth(buf[end]) <= avail {
		w += runeWidth(buf[end])
		end++
	}
	s.clearRows()
	if s.status != "" {
		st := []rune(s.status)
		for textWidth(st) > cols-1 {
			st = st[:len(st)-1]
		}
		if s.colour {
			s.w.WriteString("\x1b[7m" + string(st) + "\x1b[0m")
		} else {
			s.w.WriteString(string(st))
		}
		s.w.WriteString("\r\n")
		s.statusDrawn = true
	}
	s.w.WriteString("\r\x1b[K")
	s.w.WriteString(s.prompt)
	s.w.WriteString(counter)
	// A newline in the message shows as ↵: the row must never wrap.
	s.w.WriteString(strings.ReplaceAll(string(buf[start:end]), "\n", "↵"))
	if back := textWidth(buf[cur:end]); back > 0 {
		s.w.WriteString("\x1b[" + strconv.Itoa(back) + "D")
	}
	s.drawn, s.stale = true, false
}

func textWidth(rs []rune) int {
	w := 0
	for _, r := range rs {
		w += runeWidth(r)
	}
	return w
}

// runeWidth is the number of terminal columns r takes: 0 for combining marks
// and joiners, 2 for East Asian wide characters and emoji, 1 otherwise. It is
// the common case, not the full Unicode width tables.
func runeWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), r == '\u200d', r == '\u200b':
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf, r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6, r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}
