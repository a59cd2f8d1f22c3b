// The dm scenario: senders pipeline durable direct messages to offline users; acks come after the store.
package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"padchat/internal/benchpeer"
	"padchat/otp"
	"padchat/wire"
)

// sender sends direct messages with at most cap(inflight) unacknowledged; acks
// arrive in order on each connection, so the send times queue up in inflight.
type sender struct {
	id       int
	conn     benchpeer.Conn
	inflight chan int64
	acks     atomic.Int64
	errors   atomic.Int64
	last     atomic.Int64
	err      error
	hist     histogram
	done     chan struct{}
}

func (s *sender) read(clk clock, closing *atomic.Bool) {
	defer close(s.done)
	var ev benchpeer.Event
	for {
		if err := s.conn.Next(&ev); err != nil {
			if !closing.Load() {
				s.err = err
			}
			return
		}
		if ev.Kind != benchpeer.KindAck && ev.Kind != benchpeer.KindError {
			continue
		}
		now := clk.now()
		select {
		case sent := <-s.inflight:
			s.hist.record(now - sent)
		default:
		}
		if ev.Kind == benchpeer.KindError {
			if s.errors.Add(1) == 1 {
				s.err = fmt.Errorf("error reply: %s", ev.Payload)
			}
			continue
		}
		s.last.Store(now)
		s.acks.Add(1)
	}
}

func (s *sender) send(o *options, clk clock, recipients []string, stop *atomic.Bool) error {
	payload := newPayload(o.size)
	for i := 1; i <= o.msgs && !stop.Load(); i++ {
		now := clk.now()
		select {
		case s.inflight <- now:
		default:
			if err := s.conn.Flush(); err != nil {
				return err
			}
			for queued := false; !queued; {
				if stop.Load() {
					return nil
				}
				select {
				case s.inflight <- clk.now():
					queued = true
				case <-time.After(10 * time.Millisecond):
				}
			}
			now = clk.now()
		}
		stamp(payload, now, uint32(i), s.id)
		if err := s.conn.DM(recipients[(i+s.id)%len(recipients)], payload); err != nil {
			return err
		}
	}
	return s.conn.Flush()
}

func runDM(ctx context.Context, o *options, stderr io.Writer) (*Result, error) {
	if o.target == "irc" || o.target == "line" {
		return nil, fmt.Errorf("dm: %s has no durable store for offline users: %w", o.target, benchpeer.ErrUnsupported)
	}
	senders, rcpts := names("p", o.pubs), names("r", o.recipients)
	p := plan{conns: o.pubs, dm: true}
	if o.target == "native" {
		cost := func(user string, text int) int64 { return otp.PadCost(wire.HeaderSize + len(user) + text) }
		for _, n := range senders {
			p.users = append(p.users, userSpec{n, int64(o.msgs)*cost("r0000", o.size)*11/10 + minPad})
		}
		for _, n := range rcpts {
			p.users = append(p.users, userSpec{n, minPad})
		}
	}
	e, err := startTarget(ctx, o, p, stderr)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	fmt.Fprintf(stderr, "dm %s: %d senders × %d messages of %d B to %d offline recipients, %d in flight each (server pid %d)\n",
		o.label, o.pubs, o.msgs, o.size, o.recipients, o.window, e.pid)
	conns, err := dialAll(ctx, e.dial, senders, "", o.dialers)
	if err != nil {
		return nil, err
	}
	var closing atomic.Bool
	defer func() { closing.Store(true); closeAll(conns) }()
	clk := newClock()
	ss := make([]*sender, len(conns))
	for i, c := range conns {
		ss[i] = &sender{id: i, conn: c, inflight: make(chan int64, o.window), done: make(chan struct{})}
		go ss[i].read(clk, &closing)
	}

	r := &Result{Scenario: "dm", Target: o.target, Label: o.label, When: time.Now().UTC(),
		Pubs: o.pubs, Msgs: o.msgs, Size: o.size, Window: o.window, Recipients: o.recipients,
		Expected: int64(o.pubs) * int64(o.msgs), ProvisionS: e.provision.Seconds()}
	before, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	cpu0 := selfCPU()
	stopPerf := perfRecord(o, e.pid, stderr)
	var stop atomic.Bool
	t0 := clk.now()
	var wg sync.WaitGroup
	sendErr := make([]error, len(ss))
	for i, s := range ss {
		wg.Go(func() { sendErr[i] = s.send(o, clk, rcpts, &stop) })
	}
	r.Note = watchAcks(ctx, o, r, e.pid, ss, &stop, stderr)
	stop.Store(true)
	wg.Wait()
	after, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	stopPerf()
	closing.Store(true)
	closeAll(conns)
	var h histogram
	var last int64
	for i, s := range ss {
		<-s.done
		r.Delivered += s.acks.Load()
		r.Errors += s.errors.Load()
		last = max(last, s.last.Load())
		h.merge(&s.hist)
		if s.err != nil {
			r.Note = joinNote(r.Note, s.err.Error())
		}
		if sendErr[i] != nil {
			r.Errors++
			r.Note = joinNote(r.Note, sendErr[i].Error())
		}
	}
	r.Lost = r.Expected - r.Delivered - r.Errors
	r.timing(t0, last, &h)
	r.measure(before, after, selfCPU()-cpu0)
	return r, ctx.Err()
}

// watchAcks waits until every message is answered or nothing moved for --stall.
func watchAcks(ctx context.Context, o *options, r *Result, pid int, ss []*sender, stop *atomic.Bool, stderr io.Writer) string {
	return watchRun(ctx, o, pid, stop, stderr, func() (int64, bool) {
		var d int64
		for _, s := range ss {
			d += s.acks.Load() + s.errors.Load()
		}
		return d, d >= r.Expected
	}, func(d int64, perSec float64) string {
		return fmt.Sprintf("dm %s: answered %d/%d, %.0f/s", o.label, d, r.Expected, perSec)
	})
}
