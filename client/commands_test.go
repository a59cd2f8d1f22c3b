// Parsing of typed lines into commands.
package client

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	for _, tt := range []struct {
		line    string
		want    command
		wantErr string
	}{
		{"", command{}, ""},
		{"   ", command{}, ""},
		{"hello there", command{kind: cmdSay, text: "hello there"}, ""},
		{"  indented", command{kind: cmdSay, text: "  indented"}, ""},
		{"//etc/passwd is a path", command{kind: cmdSay, text: "/etc/passwd is a path"}, ""},
		{":q", command{kind: cmdQuit}, ""},
		{"/quit", command{kind: cmdQuit}, ""},
		{"/QUIT", command{kind: cmdQuit}, ""},
		{"/join dev", command{kind: cmdJoin, name: "dev"}, ""},
		{"/join", command{}, "usage: /join ROOM"},
		{"/join two words", command{}, "usage: /join ROOM"},
		{"/join bad/name", command{}, `bad room name "bad/name" (1-32 of A-Z a-z 0-9 _ . -)`},
		{"/part", command{kind: cmdPart}, ""},
		{"/part dev", command{kind: cmdPart, name: "dev"}, ""},
		{"/msg bob hi there", command{kind: cmdMsg, name: "bob", text: "hi there"}, ""},
		{"/msg bob", command{}, "usage: /msg USER TEXT"},
		{"/msg b@d hi", command{}, `bad user name "b@d" (1-32 of A-Z a-z 0-9 _ . -)`},
		{"/list", command{kind: cmdList}, ""},
		{"/list x", command{}, "usage: /list"},
		{"/who", command{kind: cmdWho}, ""},
		{"/who lobby", command{kind: cmdWho, name: "lobby"}, ""},
		{"/me waves", command{kind: cmdMe, text: "waves"}, ""},
		{"/send bob /tmp/a file.txt", command{kind: cmdSend, name: "bob", text: "/tmp/a file.txt"}, ""},
		{"/send #dev x", command{kind: cmdSend, name: "#dev", text: "x"}, ""},
		{"/send bob", command{}, "usage: /send USER|#ROOM PATH"},
		{"/send b@d x", command{}, `bad user or room name "b@d" (1-32 of A-Z a-z 0-9 _ . -)`},
		{"/accept 12", command{kind: cmdAccept, n: 12}, ""},
		{"/reject 7", command{kind: cmdReject, n: 7}, ""},
		{"/accept x", command{}, "usage: /accept ID (the number in the file offer)"},
		{"/me", command{}, "usage: /me ACTION"},
		{"/love", command{kind: cmdSay, text: "❤️"}, ""},
		{"/like", command{kind: cmdSay, text: "👍"}, ""},
		{"/dislike", command{kind: cmdSay, text: "👎"}, ""},
		{"/history", command{kind: cmdHistory, n: 20}, ""},
		{"/history 5", command{kind: cmdHistory, n: 5}, ""},
		{"/history 0", command{}, "usage: /history [N] (N a positive number)"},
		{"/history lots", command{}, "usage: /history [N] (N a positive number)"},
		{"/help", command{kind: cmdHelp}, ""},
		{"/names", command{kind: cmdNames}, ""},
		{"/clear", command{kind: cmdClear}, ""},
		{"/query bob", command{kind: cmdQuery, name: "bob"}, ""},
		{"/query", command{kind: cmdQuery}, ""},
		{"/query two words", command{}, "usage: /query [USER]"},
		{"/frobnicate", command{}, "unknown command /frobnicate (try /help)"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseCommand(tt.line)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHelpIsAnAlignedTable(t *testing.T) {
	lines := strings.Split(helpText(), "\n")
	require.Len(t, lines, len(helpRows)+2)
	col := -1
	for i, row := range helpRows {
		l := lines[i+1]
		at := strings.Index(l, row[1])
		require.GreaterOrEqual(t, at, 0, "row %q", l)
		c := len([]rune(l[:at])) // the description's column, in runes
		if col < 0 {
			col = c
		}
		assert.Equal(t, col, c, "row %q", l)
	}
}
