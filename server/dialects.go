// Dialects: the contract every plain-text protocol implements, one file per protocol.
//
// A protocol (linechat.go, rooms.go, msgsvc*.go, udpchat.go; wire text in
// docs/DIALECTS.md) provides exactly this:
//
//   - init() calls registerDialect with its name (the log's "dialect" field),
//     the Config address that switches it on, and start. Nothing else in the
//     daemon names a protocol.
//   - start(l, addr) binds addr. A TCP protocol calls l.listen with a factory
//     returning a handler (conn.go) per connection; a datagram one registers its
//     socket on the loop itself (udpchat.go). Both run only on the loop goroutine.
//   - The handler's onData consumes what it can of the bytes read so far and
//     returns how many it used (decoders are resumable: lineSplitter in plain.go
//     for line protocols); onDeadline applies the auth and idle timeouts; onClose
//     leaves the hub. A reply is c.queue(b), or replyAlone(c, b) for clients that
//     read one reply per recv().
//   - A chat user embeds plainUser (plain.go) and adds deliver(m, enc) (room.go's
//     member): it writes room events in the protocol's words. Names come from
//     h.claimName, rooms from h.plainRoom or the shared plain room; h.say, h.join,
//     h.part and h.leave do the rest. Text from others goes through appendClean.
//   - Limits: cfg.MaxMessage per message, cfg.AuthTimeout to name oneself,
//     cfg.IdleTimeout of silence; checkText refuses control characters.
//
// Today a new protocol also needs its Config field (config.go) and its flag
// (cmd/padchatd/serve.go); the config file is keyed by those flag names.
package server

// dialect starts one optional protocol on the loop when its address is configured.
type dialect struct {
	name  string
	addr  func(*Config) string
	start func(l *Loop, addr string) error
}

var dialects []dialect

func registerDialect(d dialect) { dialects = append(dialects, d) }

// startDialects binds every configured dialect; the plain room they share is
// created first, marked plain, and opened to native members only if asked.
func (l *Loop) startDialects() error {
	for _, d := range dialects {
		addr := d.addr(&l.cfg)
		if addr == "" {
			continue
		}
		r, err := l.hub.room([]byte(l.cfg.PlainRoom), true)
		if err != nil {
			return err
		}
		r.plain, r.open, r.keep = true, l.cfg.OpenPlain, true
		if err := d.start(l, addr); err != nil {
			return err
		}
		l.log.Info().Str("dialect", d.name).Str("addr", addr).Str("room", r.name).Bool("open_to_native", r.open).Msg("plain-text listener")
	}
	return nil
}
