// The line editor of TTY mode: raw key bytes in, an edited buffer and submitted lines out.
package client

import (
	"unicode"
	"unicode/utf8"
)

// keyAction is what one key byte asks of the client.
type keyAction uint8

const (
	keyNone     keyAction = iota // nothing visible changed (or the key is not complete yet)
	keyEdit                      // the buffer or cursor changed: redraw the prompt line
	keySubmit                    // enter: the line is handed back and the buffer cleared
	keyQuit                      // ctrl-C, or ctrl-D on an empty line
	keyRedraw                    // ctrl-L: clear the screen and draw the prompt again
	keyComplete                  // tab: the client completes the word before the cursor
	keySuspend                   // ctrl-Z: stop the process as a shell would
)

// escState tracks an escape sequence that may arrive split over reads.
type escState uint8

const (
	escNone escState = iota
	escStart
	escCSI // ESC [ params final
	escSS3 // ESC O final
)

// maxLineRunes bounds the buffer's memory; what may be sent is bounded by
// maxMessageBytes, checked on Enter with a visible counter before that.
const maxLineRunes = 64 << 10

// editor is a one-line editor fed one byte at a time, so a key split across
// reads (UTF-8, escape sequences) decodes the same as one read whole.
type editor struct {
	buf    []rune
	cur    int // cursor, in runes from the start of buf
	esc    escState
	params []byte   // CSI parameter bytes gathered so far
	utf    []byte   // a UTF-8 sequence gathered so far
	hist   *history // Up/Down; nil: none

	// Bracketed paste (ESC[200~ … ESC[201~): pasted bytes are text, never keys.
	pasting     bool
	pastedCR    bool // the last pasted byte was \r: a following \n is the same line end
	firstPasted bool // buf[0] came from a paste: the line is a message, not a command
	submitted   bool // with keySubmit: firstPasted of the line handed back
}

// key applies one byte. On keySubmit, line is the finished line.
func (e *editor) key(b byte) (act keyAction, line string) {
	switch e.esc {
	case escStart:
		switch b {
		case '[':
			e.esc, e.params = escCSI, e.params[:0]
		case 'O':
			e.esc = escSS3
		case '\r', '\n': // alt-enter: a newline inside the message
			e.esc = escNone
			return e.insert('\n'), ""
		default:
			e.esc = escNone // alt+key: ignored
		}
		return keyNone, ""
	case escCSI:
		if b >= 0x30 && b <= 0x3f { // parameter bytes
			if len(e.params) < 16 {
				e.params = append(e.params, b)
			}
			return keyNone, ""
		}
		if b >= 0x20 && b <= 0x2f { // intermediate bytes
			return keyNone, ""
		}
		e.esc = escNone
		return e.csi(b, string(e.params)), ""
	case escSS3:
		e.esc = escNone
		return e.csi(b, ""), ""
	}
	if len(e.utf) > 0 || b >= utf8.RuneSelf {
		return e.utf8Byte(b), ""
	}
	if e.pasting {
		return e.pasteByte(b), ""
	}
	switch b {
	case '\r', '\n':
		line = string(e.buf)
		e.submitted = e.firstPasted
		e.buf, e.cur, e.firstPasted = e.buf[:0], 0, false
		return keySubmit, line
	case 0x03: // ctrl-C
		return keyQuit, ""
	case 0x04: // ctrl-D: EOF on an empty line, delete under the cursor otherwise
		if len(e.buf) == 0 {
			return keyQuit, ""
		}
		return e.deleteRange(e.cur, e.cur+1), ""
	case 0x7f, 0x08: // backspace
		return e.deleteRange(e.cur-1, e.cur), ""
	case 0x15: // ctrl-U: kill to the start
		return e.deleteRange(0, e.cur), ""
	case 0x0b: // ctrl-K: kill to the end
		return e.deleteRange(e.cur, len(e.buf)), ""
	case 0x17: // ctrl-W: kill the word before the cursor
		return e.deleteRange(e.wordStart(), e.cur), ""
	case 0x01: // ctrl-A
		return e.move(0), ""
	case 0x05: // ctrl-E
		return e.move(len(e.buf)), ""
	case 0x02: // ctrl-B
		return e.move(e.cur - 1), ""
	case 0x06: // ctrl-F
		return e.move(e.cur + 1), ""
	case 0x0c: // ctrl-L: redraw
		return keyRedraw, ""
	case '\t':
		return keyComplete, ""
	case 0x1a: // ctrl-Z (raw mode delivers it as a byte, not as SIGTSTP)
		return keySuspend, ""
	case 0x1b:
		e.esc = escStart
		return keyNone, ""
	}
	if b < 0x20 {
		return keyNone, ""
	}
	return e.insert(rune(b)), ""
}

// csi handles the final byte of ESC [ … or ESC O ….
func (e *editor) csi(final byte, params string) keyAction {
	switch final {
	case 'A':
		return e.browse(-1)
	case 'B':
		return e.browse(+1)
	case 'C':
		return e.move(e.cur + 1)
	case 'D':
		return e.move(e.cur - 1)
	case 'H':
		return e.move(0)
	case 'F':
		return e.move(len(e.buf))
	case '~':
		switch params {
		case "1", "7":
			return e.move(0)
		case "4", "8":
			return e.move(len(e.buf))
		case "3":
			return e.deleteRange(e.cur, e.cur+1)
		case "200":
			e.pasting, e.pastedCR = true, false
			return keyNone
		case "201":
			e.pasting = false
			return keyEdit
		}
	}
	return keyNone
}

func (e *editor) utf8Byte(b byte) keyAction {
	e.utf = append(e.utf, b)
	if !utf8.FullRune(e.utf) {
		return keyNone
	}
	r, _ := utf8.DecodeRune(e.utf)
	e.utf = e.utf[:0]
	if r == utf8.RuneError || !(unicode.IsPrint(r) || r == '\u200d') {
		return keyNone
	}
	return e.insert(r)
}

// pasteByte takes one ASCII byte of a paste: line ends become newlines in
// the message, tabs spaces, other control bytes nothing.
func (e *editor) pasteByte(b byte) keyAction {
	cr := e.pastedCR
	e.pastedCR = b == '\r'
	switch {
	case b == 0x1b:
		e.esc = escStart // only ESC[201~ ends the paste; other sequences are dropped
		return keyNone
	case b == '\n' && cr:
		return keyNone
	case b == '\r' || b == '\n':
		return e.insert('\n')
	case b == '\t':
		return e.insert(' ')
	case b < 0x20 || b == 0x7f:
		return keyNone
	}
	return e.insert(rune(b))
}

// browse shows an older (-1) or newer (+1) history entry.
func (e *editor) browse(delta int) keyAction {
	if e.hist == nil {
		return keyNone
	}
	buf, ok := e.hist.move(delta, e.buf)
	if !ok {
		return keyNone
	}
	e.buf = append(e.buf[:0], buf...)
	e.cur, e.firstPasted = len(e.buf), false
	return keyEdit
}

// replaceWord replaces buf[from:cur] with s (tab completion).
func (e *editor) replaceWord(from int, s string) {
	rest := append([]rune(s), e.buf[e.cur:]...)
	e.buf = append(e.buf[:from], rest...)
	e.cur = from + len([]rune(s))
}

// restore puts a line that was not sent back into the buffer, cursor at the end.
func (e *editor) restore(line string, pasted bool) {
	e.buf = append(e.buf[:0], []rune(line)...)
	e.cur, e.firstPasted = len(e.buf), pasted
}

func (e *editor) insert(r rune) keyAction {
	if len(e.buf) >= maxLineRunes {
		return keyNone
	}
	if e.cur == 0 {
		e.firstPasted = e.pasting
	}
	e.buf = append(e.buf, 0)
	copy(e.buf[e.cur+1:], e.buf[e.cur:])
	e.buf[e.cur] = r
	e.cur++
	return keyEdit
}

// deleteRange removes buf[from:to] (clipped); the cursor lands at from.
func (e *editor) deleteRange(from, to int) keyAction {
	from, to = max(from, 0), min(to, len(e.buf))
	if from >= to {
		return keyNone
	}
	e.buf = append(e.buf[:from], e.buf[to:]...)
	e.cur = from
	return keyEdit
}

func (e *editor) move(to int) keyAction {
	to = min(max(to, 0), len(e.buf))
	if to == e.cur {
		return keyNone
	}
	e.cur = to
	return keyEdit
}

// wordStart is where ctrl-W stops: back over spaces, then over the word.
func (e *editor) wordStart() int {
	i := e.cur
	for i > 0 && e.buf[i-1] == ' ' {
		i--
	}
	for i > 0 && e.buf[i-1] != ' ' {
		i--
	}
	return i
}
