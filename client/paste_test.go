// Bracketed paste and alt-enter in the line editor, and how multi-line messages render.
package client

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"padchat/wire"
)

// feedKeys runs keys through e and returns the lines submitted and, for each, whether it starts pasted.
func feedKeys(e *editor, keys string) (lines []string, pasted []bool) {
	for i := range len(keys) {
		if act, line := e.key(keys[i]); act == keySubmit {
			lines = append(lines, line)
			pasted = append(pasted, e.submitted)
		}
	}
	return lines, pasted
}

func TestEditorPaste(t *testing.T) {
	for _, tt := range []struct {
		name   string
		keys   string
		lines  []string
		pasted []bool
		buf    string
	}{
		{"paste block is one line", "\x1b[200~one\r\n/part\rthree\x1b[201~\r", []string{"one\n/part\nthree"}, []bool{true}, ""},
		{"paste waits for enter", "\x1b[200~a\nb\x1b[201~", nil, nil, "a\nb"},
		{"pasted command is text", "\x1b[200~/part\x1b[201~\r", []string{"/part"}, []bool{true}, ""},
		{"typed command, pasted argument", "/msg bob \x1b[200~hi\x1b[201~\r", []string{"/msg bob hi"}, []bool{false}, ""},
		{"typed before paste at start", "\x1b[200~x\x1b[201~\x01/\r", []string{"/x"}, []bool{false}, ""},
		{"controls in paste dropped, tab a space", "\x1b[200~a\x07\tb\x1b[201~", nil, nil, "a b"},
		{"alt-enter inserts newline", "one\x1b\rtwo\r", []string{"one\ntwo"}, []bool{false}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e editor
			lines, pasted := feedKeys(&e, tt.keys)
			assert.Equal(t, tt.lines, lines)
			assert.Equal(t, tt.pasted, pasted)
			assert.Equal(t, tt.buf, string(e.buf))
		})
	}
}

func TestEditorLongLineIsKept(t *testing.T) {
	var e editor
	long := make([]byte, 10_000)
	for i := range long {
		long[i] = 'x'
	}
	feedKeys(&e, "\x1b[200~"+string(long)+"\x1b[201~")
	assert.Len(t, e.buf, 10_000, "a paste past the message limit is kept whole, not cut")
}

func TestRenderMultiLine(t *testing.T) {
	r := renderer{}
	m := wire.Msg{Room: []byte("lobby"), User: []byte("bob"), Text: []byte("one\r\ntwo\x1b[2J\nthree\n")}
	assert.Equal(t, "[lobby] bob: one\n    two?[2J\n    three", r.roomMessage(&m))
}
