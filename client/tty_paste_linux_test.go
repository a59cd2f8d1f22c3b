//go:build linux

// Pasting on a real terminal: a block is one message and never runs a command.
package client

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestTTYPasteBlockIsOneMessage(t *testing.T) {
	s := startTTY(t, nil)
	s.waitShown("[lobby]> ")
	assert.Contains(t, s.screen.String(), pasteOn, "bracketed paste turned on")

	s.typeKeys("\x1b[200~first line\r/part\rlast line\x1b[201~")
	s.waitShown("[lobby]> first line↵/part↵last line")
	s.typeKeys("\r")
	s.srv.expect(wire.OpSay, "lobby", "", "first line\n/part\nlast line") // one Say, no Part
	s.waitShown("carol: first line\r\n    /part\r\n    last line\r\n")
	s.quit()
	assert.Contains(t, s.screen.String(), pasteOff, "bracketed paste turned off on exit")
}

func TestTTYLongPasteAsksFirst(t *testing.T) {
	s := startTTY(t, nil)
	s.typeKeys("\x1b[200~1\n2\n3\n4\n5\n/quit\x1b[201~\r")
	s.waitShown("-- send these 6 lines as one message? y: send, any other key: keep editing")
	s.typeKeys("n")
	s.waitShown("-- not sent")
	s.waitShown("[lobby]> 1↵2↵3↵4↵5↵/quit")
	s.typeKeys("\ry")
	s.srv.expect(wire.OpSay, "lobby", "", "1\n2\n3\n4\n5\n/quit")
	s.quit()
}

func TestTTYOverLongLineIsRefusedNotCut(t *testing.T) {
	s := startTTY(t, nil)
	s.typeKeys("\x1b[200~" + strings.Repeat("y", 5000) + "\x1b[201~")
	s.waitShown("(5000/4096) ")
	s.typeKeys("\r")
	s.waitShown("!! message too long: 5000 bytes, the limit is 4096; not sent (still in the input line)")
	// Trim it (ctrl-W removes the one long word, then a short line): only that is sent.
	s.typeKeys("\x17short\r")
	m := s.srv.expect(wire.OpSay, "lobby", "", "short")
	require.NotZero(t, m.Seq)
	s.quit()
}
