// Line chat (docs/DIALECTS.md): a nickname first, then every message to everyone as "<nick>: text".
package server

import (
	"bytes"
	"errors"
	"fmt"

	"padchat/wire"
)

func init() {
	registerDialect(dialect{Protocol{Name: "linechat",
		Help: "line-chat listener `address` (plain text, docs/DIALECTS.md), e.g. 127.0.0.1:9998"},
		startLines("linechat", newLineChat)})
}

// What a line-chat client reads besides other users' "<nick>: text" lines. The
// welcome is Config.Welcome with no newline: clients print it as received. The
// answer to a nickname is one bare word, no newline, because clients compare it
// whole: "no" (the name is not taken: you are in) or "yes" (taken, or not a valid
// name: send another).
const (
	lineChatNameFree  = "no"
	lineChatNameTaken = "yes"
	lineChatJoined    = "[SERVER] Client: %s connected!\n"
	lineChatParted    = "[SERVER] Client: %s disconnected!\n"
	lineChatTooLong   = "[SERVER] Message too long (max %d bytes).\n"
	lineChatLongLine  = "[SERVER] Line too long: closing.\n"
	lineChatBadText   = "[SERVER] Text must be UTF-8 without control characters: closing.\n"
	lineChatNoNick    = "[SERVER] No nickname received: closing.\n"
	lineChatIdle      = "[SERVER] Idle timeout: closing.\n"
	lineChatQuit      = ":q"
)

// lineChat is one line-chat connection; once it has a nickname, a member of the
// plain room.
type lineChat struct {
	plainUser
	h     *Hub
	c     *Conn
	split lineSplitter
	named bool
}

func newLineChat(h *Hub, c *Conn) handler {
	lc := &lineChat{h: h, c: c, split: lineSplitter{max: h.cfg.MaxMessage + 64}}
	c.queue([]byte(h.cfg.Welcome))
	return lc
}

func (lc *lineChat) onData(c *Conn, b []byte) int {
	return lc.split.feed(c, b, lc.message, lc.fail)
}

// message is one line from the client: its nickname, then chat.
func (lc *lineChat) message(msg []byte) {
	h, c := lc.h, lc.c
	if string(bytes.TrimSpace(msg)) == lineChatQuit {
		c.kill(ReasonClientQuit)
		return
	}
	if !lc.named {
		lc.login(bytes.TrimSpace(msg))
		return
	}
	if len(bytes.TrimSpace(msg)) == 0 {
		return
	}
	if _, err := h.say(lc, []byte(h.cfg.PlainRoom), msg, 0); err != nil {
		if errors.Is(err, ErrTooLong) {
			lc.printf(lineChatTooLong, h.cfg.MaxMessage)
		}
		return
	}
	// The protocol's server console shows every message; message text is
	// private, so only with --log-messages.
	if h.cfg.LogMessages {
		h.l.log.Info().Str("dialect", "linechat").Msg(lc.nick + ": " + string(msg))
	}
}

func (lc *lineChat) login(nick []byte) {
	h := lc.h
	if err := h.claimName(lc, nick); err != nil {
		// A client knows only "taken": an invalid name is one it cannot have either.
		replyAlone(lc.c, []byte(lineChatNameTaken))
		h.l.log.Info().Str("dialect", "linechat").Str("remote", lc.c.remote).Err(err).Msg("nickname refused")
		return
	}
	lc.nick, lc.named = string(nick), true
	replyAlone(lc.c, []byte(lineChatNameFree))
	h.join(lc, []byte(h.cfg.PlainRoom)) // a plain room: a plain member is always let in
	h.l.log.Info().Str("dialect", "linechat").Str("remote", lc.c.remote).Msg("[SERVER] Client: " + lc.nick + " connected!")
}

// lineChatFormat writes room events as the lines line-chat clients print.
var lineChatFormat = plainFormat{kind: sharedLineChat, eol: "\n",
	joined: lineChatJoined, left: lineChatParted, quit: lineChatParted}

func (lc *lineChat) deliver(m *wire.Msg, _ []byte) { lc.h.deliverPlain(lc.c, &lineChatFormat, m) }

func (lc *lineChat) printf(format string, args ...any) { lc.c.queue(fmt.Appendf(nil, format, args...)) }

// fail answers malformed input with a last line and closes.
func (lc *lineChat) fail(err error) {
	if errors.Is(err, errLineTooLong) {
		lc.printf(lineChatLongLine)
	} else {
		lc.printf(lineChatBadText)
	}
	lc.h.l.log.Warn().Str("dialect", "linechat").Str("remote", lc.c.remote).Err(err).Msg("closing connection")
	lc.c.kill(ReasonProtocol)
}

func (lc *lineChat) onDeadline(c *Conn, now int64) int64 {
	auth, idle, next := plainDeadlines(lc.h.cfg, c, now, lc.named)
	switch {
	case auth:
		lc.printf(lineChatNoNick)
		c.kill(ReasonAuthTimeout)
	case idle:
		lc.printf(lineChatIdle)
		c.kill(ReasonIdle)
	}
	return next
}

func (lc *lineChat) onClose(c *Conn) {
	if !lc.named {
		return
	}
	lc.h.leave(lc, "quit")
	lc.h.l.log.Info().Str("dialect", "linechat").Str("user", lc.nick).Str("remote", c.remote).
		Stringer("reason", c.reason).Msg("disconnected")
	lc.named = false
}
