// Setup shared by the scenarios: opening many connections at once, and the progress line.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"padchat/internal/benchpeer"
)

// dialAll opens one connection per name, `workers` at a time, subscribing each
// to room when room is not empty. On error every opened connection is closed.
func dialAll(ctx context.Context, dial benchpeer.Dialer, names []string, room string, workers int) ([]benchpeer.Conn, error) {
	conns := make([]benchpeer.Conn, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Go(func() {
			for i := range next {
				c, err := dial(names[i])
				if err == nil && room != "" {
					if err = c.Subscribe(room); err != nil {
						c.Close()
					}
				}
				conns[i], errs[i] = c, err
			}
		})
	}
	for i := range names {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return conns, nil
}

func closeAll(conns []benchpeer.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// progress prints a status line now and then on runs longer than a few seconds:
// rewritten in place on a terminal, one line every few seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	start time.Time
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(format string, args ...any) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 500 * time.Millisecond
	}
	if p.quiet || now.Sub(p.start) < 2*time.Second || now.Sub(p.last) < every {
		return
	}
	p.last, p.shown = now, true
	line := fmt.Sprintf("%5.1fs "+format, append([]any{now.Sub(p.start).Seconds()}, args...)...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.shown && p.tty {
		fmt.Fprintln(p.w)
	}
}
