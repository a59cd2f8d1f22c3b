// The TTY line editor, keys fed one byte at a time.
package client

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEditorKeys(t *testing.T) {
	for _, tt := range []struct {
		name  string
		keys  string
		buf   string
		cur   int
		lines []string
		quit  bool
	}{
		{"typing", "hello", "hello", 5, nil, false},
		{"backspace", "hello\x7f", "hell", 4, nil, false},
		{"ctrl-H", "hello\x08", "hell", 4, nil, false},
		{"backspace at start", "\x7f", "", 0, nil, false},
		{"left and insert", "hello\x1b[D\x1b[D!", "hel!lo", 4, nil, false},
		{"right stops at end", "ab\x1b[D\x1b[C\x1b[C", "ab", 2, nil, false},
		{"home", "ab\x1b[H<", "<ab", 1, nil, false},
		{"end", "ab\x1b[Hx\x1b[F", "xab", 3, nil, false},
		{"home ~", "ab\x1b[1~c", "cab", 1, nil, false},
		{"end ~", "ab\x1b[1~\x1b[4~c", "abc", 3, nil, false},
		{"SS3 home", "ab\x1bOHc", "cab", 1, nil, false},
		{"ctrl-A ctrl-E", "ab\x01c\x05d", "cabd", 4, nil, false},
		{"delete", "abc\x1b[D\x1b[D\x1b[3~", "ac", 1, nil, false},
		{"ctrl-D deletes on a line", "abc\x1b[D\x1b[D\x04", "ac", 1, nil, false},
		{"ctrl-U", "abc\x1b[D\x15", "c", 0, nil, false},
		{"ctrl-K", "abc\x1b[D\x1b[D\x0b", "a", 1, nil, false},
		{"ctrl-W", "foo bar\x17", "foo ", 4, nil, false},
		{"ctrl-W over spaces", "foo bar  \x17", "foo ", 4, nil, false},
		{"UTF-8", "héllo 👍", "héllo 👍", 7, nil, false},
		{"UTF-8 backspace", "é👍\x7f", "é", 1, nil, false},
		{"invalid UTF-8 dropped", "a\xff\xfeb", "ab", 2, nil, false},
		{"control chars dropped", "a\x07\tb", "ab", 2, nil, false},
		{"unknown CSI ignored", "a\x1b[1;5Ab", "ab", 2, nil, false},
		{"enter", "hi\rthere", "there", 5, []string{"hi"}, false},
		{"ctrl-J", "hi\n", "", 0, []string{"hi"}, false},
		{"ctrl-D on empty line", "\x04", "", 0, nil, true},
		{"ctrl-C", "abc\x03", "abc", 3, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e editor
			var lines []string
			quit := false
			for i := 0; i < len(tt.keys); i++ { // one byte at a time, as a slow terminal sends them
				act, line := e.key(tt.keys[i])
				switch act {
				case keySubmit:
					lines = append(lines, line)
				case keyQuit:
					quit = true
				}
			}
			assert.Equal(t, tt.buf, string(e.buf))
			assert.Equal(t, tt.cur, e.cur)
			assert.Equal(t, tt.lines, lines)
			assert.Equal(t, tt.quit, quit)
		})
	}
}
