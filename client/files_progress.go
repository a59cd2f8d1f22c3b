// How transfers look while they run (a bar on the terminal, a line per 10 % piped) and when a script may quit.
package client

import (
	"fmt"
	"strings"
	"time"

	"padchat/internal/bytesize"
)

// busy reports transfers a script's EOF must wait for: uploads the server
// does not hold yet, and downloads under way.
func (c *client) busy() bool {
	if c.files.unfinished() > 0 {
		return true
	}
	for _, in := range c.files.in {
		if in.f != nil {
			return true
		}
	}
	return false
}

// unfinished counts the uploads the server does not hold yet.
func (fs *files) unfinished() int {
	n := 0
	for _, o := range fs.out {
		if !o.uploaded {
			n++
		}
	}
	return n
}

// doneIfIdle runs when a transfer ends: its bar leaves the status line, and
// a quit that waited for the transfers goes ahead.
func (c *client) doneIfIdle() {
	c.statusChanged()
	if c.files.waitQuit && !c.busy() {
		c.files.waitQuit = false
		c.quit()
	}
}

// progress reports a transfer on the terminal's status line, or as a line
// per 10 % to a script.
type progress struct {
	total, from int64
	began       time.Time
	tenth       int64 // the last 10 % step reported
	bar         string
	drawn       time.Time
}

func (p *progress) start(total, from int64) {
	p.total, p.from, p.began, p.tenth = total, from, time.Now(), from*10/max(total, 1)
}

func (p *progress) rate(at int64) string {
	secs := time.Since(p.began).Seconds()
	if secs <= 0 {
		return "-"
	}
	return bytesize.Human(int64(float64(at-p.from)/secs)) + "/s"
}

// report shows how far a transfer (up: a sending one) has come.
func (c *client) report(p *progress, up bool, name string, at int64) {
	pct := at * 100 / max(p.total, 1)
	if c.tty != nil {
		if time.Since(p.drawn) < 100*time.Millisecond && at < p.total {
			return
		}
		p.drawn = time.Now()
		eta := "-"
		if secs := time.Since(p.began).Seconds(); at > p.from && secs > 0 {
			eta = (time.Duration(float64(p.total-at) / (float64(at-p.from) / secs) * float64(time.Second))).Round(time.Second).String()
		}
		arrow, n := "↓", int(pct/10)
		if up {
			arrow = "↑"
		}
		p.bar = fmt.Sprintf("%s %s [%s%s] %d%% %s ETA %s", arrow, name, strings.Repeat("#", n), strings.Repeat(".", 10-n), pct, p.rate(at), eta)
		c.statusChanged()
		return
	}
	if step := at * 10 / max(p.total, 1); step > p.tenth {
		p.tenth = step
		verb := "receiving"
		if up {
			verb = "sending"
		}
		c.scr.println(c.r.notice("%s %s: %d%% (%s of %s, %s)", verb, name, step*10, bytesize.Human(at), bytesize.Human(p.total), p.rate(at)))
	}
}

// bars is the status line's part for transfers under way.
func (c *client) bars() string {
	var b []string
	for _, o := range c.files.out {
		if !o.uploaded && o.bar != "" {
			b = append(b, o.bar)
		}
	}
	for _, in := range c.files.in {
		if in.f != nil && in.bar != "" {
			b = append(b, in.bar)
		}
	}
	return strings.Join(b, " | ")
}
