// Dialects register here: each plain-text protocol file adds itself in init, so they stay apart.
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
