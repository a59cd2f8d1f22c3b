// Parsing what the user types: a message for the current room or a slash command.
package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"padchat/wire"
)

type cmdKind uint8

const (
	cmdNone cmdKind = iota // a blank line: nothing to do
	cmdSay
	cmdMe
	cmdJoin
	cmdPart
	cmdMsg
	cmdList
	cmdWho
	cmdHistory
	cmdHelp
	cmdQuit
	cmdNames  // who is in the current room
	cmdClear  // clear the screen
	cmdQuery  // plain lines go to a user as direct messages; no name: back to the room
	cmdTopic  // set the current room's topic; no text: show it
	cmdAway   // away with a message; no text: back
	cmdSend   // send a file to a user or #room
	cmdAccept // accept a file offer
	cmdReject // reject a file offer
)

// command is one parsed input line.
type command struct {
	kind cmdKind
	name string // room (join, part, who) or user (msg); empty means the default
	text string // say, me, msg
	n    uint32 // history: how many messages
}

const defaultHistory = 20

// The emoji shortcuts of the rooms protocol (LOVE, LIKE, DISLIKE).
var emoji = map[string]string{"/love": "❤️", "/like": "👍", "/dislike": "👎"}

// helpRows is /help's table: usage, what it does.
var helpRows = [][2]string{
	{"/join ROOM", "join ROOM (or switch to it) and make it current"},
	{"/part [ROOM]", "leave ROOM (default: the current one)"},
	{"/msg USER TEXT", "send USER a direct message (kept for them if offline)"},
	{"/query [USER]", "send plain lines to USER as direct messages; no USER: back to the room"},
	{"/list", "rooms and their member counts"},
	{"/who [ROOM]", "members of ROOM, or everyone online"},
	{"/names", "members of the current room"},
	{"/topic [TEXT]", "set the current room's topic; alone: show it"},
	{"/away [TEXT]", "mark yourself away (shown by /who); alone: back"},
	{"/send USER|#ROOM PATH", "send a file (its size, sha256 and pad cost are shown first)"},
	{"/accept ID, /reject ID", "take or refuse a file offered to you"},
	{"/me ACTION", "an action: * you ACTION"},
	{"/love /like /dislike", "send ❤️ 👍 👎"},
	{"/history [N]", "the last N messages of the current room (default 20)"},
	{"/clear", "clear the screen"},
	{"/help", "this table"},
	{"/quit, :q", "leave padchat"},
	{"//text", "send a line that starts with /"},
}

// helpText is helpRows aligned in two columns.
func helpText() string {
	w := 0
	for _, r := range helpRows {
		w = max(w, len([]rune(r[0])))
	}
	var b strings.Builder
	b.WriteString("commands (other lines go to the current room or /query user):")
	for _, r := range helpRows {
		fmt.Fprintf(&b, "\n  %s%s  %s", r[0], strings.Repeat(" ", w-len([]rune(r[0]))), r[1])
	}
	b.WriteString("\nkeys: Up/Down history, Tab completes, Alt-Enter newline, Ctrl-L redraw, Ctrl-Z suspend, Ctrl-D quit")
	return b.String()
}

// parseCommand turns one input line into a command. Errors are meant for the
// user, as they are: nothing is sent for a line that does not parse.
func parseCommand(line string) (command, error) {
	trimmed := strings.TrimSpace(line)
	switch {
	case trimmed == "":
		return command{}, nil
	case trimmed == ":q":
		return command{kind: cmdQuit}, nil
	case strings.HasPrefix(trimmed, "//"):
		return command{kind: cmdSay, text: line[strings.Index(line, "/")+1:]}, nil
	case !strings.HasPrefix(trimmed, "/"):
		return command{kind: cmdSay, text: line}, nil
	}
	word, rest, _ := strings.Cut(trimmed, " ")
	word = strings.ToLower(word)
	rest = strings.TrimSpace(rest)
	if e, ok := emoji[word]; ok {
		return noArgs(word, rest, command{kind: cmdSay, text: e})
	}
	switch word {
	case "/join":
		name, err := oneName(word, "ROOM", rest, true)
		return command{kind: cmdJoin, name: name}, err
	case "/part":
		name, err := oneName(word, "[ROOM]", rest, false)
		return command{kind: cmdPart, name: name}, err
	case "/who":
		name, err := oneName(word, "[ROOM]", rest, false)
		return command{kind: cmdWho, name: name}, err
	case "/msg":
		user, text, _ := strings.Cut(rest, " ")
		text = strings.TrimSpace(text)
		if user == "" || text == "" {
			return command{}, errors.New("usage: /msg USER TEXT")
		}
		if err := wire.CheckName(user); err != nil {
			return command{}, fmt.Errorf("bad user name %q (1-32 of A-Z a-z 0-9 _ . -)", user)
		}
		return command{kind: cmdMsg, name: user, text: text}, nil
	case "/me":
		if rest == "" {
			return command{}, errors.New("usage: /me ACTION")
		}
		return command{kind: cmdMe, text: rest}, nil
	case "/history":
		return parseHistory(rest)
	case "/list":
		return noArgs(word, rest, command{kind: cmdList})
	case "/help":
		return noArgs(word, rest, command{kind: cmdHelp})
	case "/names":
		return noArgs(word, rest, command{kind: cmdNames})
	case "/clear":
		return noArgs(word, rest, command{kind: cmdClear})
	case "/query":
		if rest == "" {
			return command{kind: cmdQuery}, nil
		}
		if strings.ContainsAny(rest, " \t") || wire.CheckName(rest) != nil {
			return command{}, errors.New("usage: /query [USER]")
		}
		return command{kind: cmdQuery, name: rest}, nil
	case "/topic":
		return command{kind: cmdTopic, text: rest}, nil
	case "/away":
		return command{kind: cmdAway, text: rest}, nil
	case "/quit":
		return command{kind: cmdQuit}, nil
	case "/send":
		return parseSend(rest)
	case "/accept", "/reject":
		id, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || id == 0 {
			return command{}, fmt.Errorf("usage: %s ID (the number in the file offer)", word)
		}
		kind := cmdAccept
		if word == "/reject" {
			kind = cmdReject
		}
		return command{kind: kind, n: uint32(id)}, nil
	}
	return command{}, fmt.Errorf("unknown command %s (try /help)", word)
}

func noArgs(word, rest string, c command) (command, error) {
	if rest != "" {
		return command{}, fmt.Errorf("usage: %s", word)
	}
	return c, nil
}

// oneName reads a single room name argument, required or optional.
func oneName(word, usage, rest string, required bool) (string, error) {
	if rest == "" && !required {
		return "", nil
	}
	if rest == "" || strings.ContainsAny(rest, " \t") {
		return "", fmt.Errorf("usage: %s %s", word, usage)
	}
	if err := wire.CheckName(rest); err != nil {
		return "", fmt.Errorf("bad room name %q (1-32 of A-Z a-z 0-9 _ . -)", rest)
	}
	return rest, nil
}

func parseHistory(rest string) (command, error) {
	if rest == "" {
		return command{kind: cmdHistory, n: defaultHistory}, nil
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	if err != nil || n == 0 {
		return command{}, errors.New("usage: /history [N] (N a positive number)")
	}
	return command{kind: cmdHistory, n: uint32(n)}, nil
}

// parseSend reads "/send USER PATH" or "/send #ROOM PATH"; the path is the
// rest of the line, spaces and all.
func parseSend(rest string) (command, error) {
	to, path, _ := strings.Cut(rest, " ")
	path = strings.TrimSpace(path)
	if to == "" || path == "" {
		return command{}, errors.New("usage: /send USER|#ROOM PATH")
	}
	if wire.CheckName(strings.TrimPrefix(to, "#")) != nil {
		return command{}, fmt.Errorf("bad user or room name %q (1-32 of A-Z a-z 0-9 _ . -)", to)
	}
	return command{kind: cmdSend, name: to, text: path}, nil
}
