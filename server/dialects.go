// Dialects: the contract every plain-text protocol implements, one file per protocol.
//
// A protocol (linechat.go, rooms.go, msgsvc*.go, udpchat.go; wire text in
// docs/DIALECTS.md) provides exactly this:
//
//   - init() calls registerDialect with its Protocol (a name, the help line of
//     its listener, its own settings if it has any) and start. The name is the
//     log's "dialect" field, the key of Config.Listeners, and so the flag
//     --listen-NAME and the config key listen-NAME; an Option is a flag and
//     config key of its own, read with cfg.option. cmd/padchatd makes the flags,
//     -h lines, config keys and check-config output from this registry: nothing
//     else in the daemon names a protocol.
//   - start(l, addr) binds addr. A TCP protocol calls l.listen with a factory
//     returning a handler (conn.go) per connection (a line protocol's start is
//     startLines in plain.go); a datagram one registers its
//     socket on the loop itself (udpchat.go). Both run only on the loop goroutine.
//   - The handler's onData consumes what it can of the bytes read so far and
//     returns how many it used (decoders are resumable: lineSplitter in plain.go
//     for line protocols); onDeadline applies the auth and idle timeouts; onClose
//     leaves the hub. A reply is c.queue(b), or replyAlone(c, b) for clients that
//     read one reply per recv().
//   - A chat user embeds plainUser (plain.go) and adds deliver(m, enc) (room.go's
//     member): it writes room events in the protocol's words, a plainFormat
//     given to h.deliverPlain (plain.go), which formats each event once for
//     all members of the protocol and queues the same bytes. Names come from
//     h.claimName, rooms from h.plainRoom or the shared plain room; h.say, h.join,
//     h.part and h.leave do the rest. Text from others goes through appendClean.
//   - Limits: cfg.MaxMessage per message, cfg.AuthTimeout to name oneself,
//     cfg.IdleTimeout of silence; checkText refuses control characters.
//
// So a newcomer opens this file, one protocol file to copy from (linechat.go
// is the smallest), plain.go for the shared plain-text helpers, and
// docs/DIALECTS.md to describe the wire text; a new protocol is one new file
// plus a section there.
package server

import (
	"errors"
	"fmt"
	"slices"
)

// Protocol is a plain-text protocol as the command line shows it.
type Protocol struct {
	Name    string   // "linechat": --listen-linechat, Config.Listeners["linechat"]
	Help    string   // the help line of --listen-NAME; a `word` in it names the value
	Options []Option // the protocol's own settings, if any
}

// Option is one integer setting of one protocol, e.g. the message service's
// lowest push port. Its Name is its flag and config key, and starts with the
// protocol's name.
type Option struct {
	Name     string
	Help     string
	Default  int // when Config.ProtocolOptions does not set it
	Min, Max int // the values allowed
}

// Check says why v is not a value of o, if it is not.
func (o Option) Check(v int) error {
	if v < o.Min || v > o.Max {
		return fmt.Errorf("%d is outside %d..%d", v, o.Min, o.Max)
	}
	return nil
}

// dialect starts one optional protocol on the loop when its address is configured.
type dialect struct {
	Protocol
	start func(l *Loop, addr string) error
}

var dialects []dialect

func registerDialect(d dialect) { dialects = append(dialects, d) }

// Protocols lists the registered plain-text protocols, in registration order.
func Protocols() []Protocol {
	ps := make([]Protocol, len(dialects))
	for i, d := range dialects {
		ps[i] = d.Protocol
	}
	return ps
}

// findOption is the registered option called name.
func findOption(name string) (Option, bool) {
	for _, d := range dialects {
		if i := slices.IndexFunc(d.Options, func(o Option) bool { return o.Name == name }); i >= 0 {
			return d.Options[i], true
		}
	}
	return Option{}, false
}

// option is the value of the protocol option called name: the configured one,
// else its default. checkProtocols has refused unknown names and bad values.
func (c *Config) option(name string) int {
	if v, ok := c.ProtocolOptions[name]; ok {
		return v
	}
	o, _ := findOption(name)
	return o.Default
}

// checkProtocols refuses listeners and options no protocol registered, and
// option values out of range.
func (c *Config) checkProtocols() error {
	var errs []error
	for name := range c.Listeners {
		if !slices.ContainsFunc(dialects, func(d dialect) bool { return d.Name == name }) {
			errs = append(errs, fmt.Errorf("listener for %q: no such plain-text protocol", name))
		}
	}
	for name, v := range c.ProtocolOptions {
		o, ok := findOption(name)
		if !ok {
			errs = append(errs, fmt.Errorf("%q: no plain-text protocol has this option", name))
		} else if err := o.Check(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// startDialects binds every configured dialect; the plain room they share is
// created first, marked plain, and opened to native members only if asked.
func (l *Loop) startDialects() error {
	if err := l.cfg.checkProtocols(); err != nil {
		return err
	}
	for _, d := range dialects {
		addr := l.cfg.Listeners[d.Name]
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
		l.log.Info().Str("dialect", d.Name).Str("addr", addr).Str("room", r.name).Bool("open_to_native", r.open).Msg("plain-text listener")
	}
	return nil
}
