// The fan-out and latency scenarios: S subscribers in one room, P publishers, windowed or paced.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"padchat/internal/benchpeer"
	"padchat/otp"
	"padchat/wire"
)

// subscriber counts what one subscriber connection receives.
type subscriber struct {
	conn    benchpeer.Conn
	recv    atomic.Int64
	warm    atomic.Int64
	bad     atomic.Int64
	last    atomic.Int64 // clock time of the last measured receipt
	dead    atomic.Bool  // the connection failed before the run ended
	closing *atomic.Bool
	err     error
	hist    histogram
	rcpt    *receipts // paced runs: first and last receipt of each message
	done    chan struct{}
}

func (s *subscriber) read(clk clock) {
	defer close(s.done)
	var ev benchpeer.Event
	for {
		if err := s.conn.Next(&ev); err != nil {
			if !s.closing.Load() {
				s.err = err
				s.dead.Store(true)
			}
			return
		}
		if ev.Kind != benchpeer.KindMessage {
			continue
		}
		now := clk.now()
		sent, seq, pub, ok := parseStamp(ev.Payload)
		switch {
		case !ok:
			s.bad.Add(1)
		case seq == 0:
			s.warm.Add(1)
		default:
			s.hist.record(now - sent)
			s.rcpt.record(pub, seq, now-sent)
			s.last.Store(now)
			s.recv.Add(1)
		}
	}
}

// flow keeps publishers at most window messages ahead of the slowest live
// subscriber, so "as fast as possible" measures what the server sustains
// instead of how big its buffers are before it cuts a reader off. Window 0 is
// flood: publishers send as fast as the server reads them, and the server
// batches what its subscribers have not yet taken.
type flow struct {
	sent   atomic.Int64
	minRcv atomic.Int64
	window int64
	subs   []*subscriber
}

func (f *flow) slowest() int64 {
	m := int64(-1)
	for _, s := range f.subs {
		if s.dead.Load() {
			continue
		}
		if r := s.recv.Load(); m < 0 || r < m {
			m = r
		}
	}
	if m < 0 {
		return f.sent.Load()
	}
	return m
}

// wait blocks while the window is full; flush sends what is buffered first.
func (f *flow) wait(stop *atomic.Bool, flush func() error) error {
	if f.window == 0 || f.sent.Load()-f.minRcv.Load() < f.window {
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	for !stop.Load() {
		m := f.slowest()
		f.minRcv.Store(m)
		if f.sent.Load()-m < f.window {
			return nil
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

type publisher struct {
	id     int
	conn   benchpeer.Conn
	errors atomic.Int64
	err    error
	done   chan struct{}
}

// drain reads what a publisher is sent (replies, other publishers' messages).
func (p *publisher) drain(closing *atomic.Bool) {
	defer close(p.done)
	var ev benchpeer.Event
	for {
		if err := p.conn.Next(&ev); err != nil {
			if !closing.Load() {
				p.err = err
				p.errors.Add(1)
			}
			return
		}
		if ev.Kind == benchpeer.KindError {
			p.errors.Add(1)
		}
	}
}

func (p *publisher) publish(o *options, clk clock, t0 int64, f *flow, stop *atomic.Bool) error {
	payload := newPayload(o.size)
	var period float64
	if o.rate > 0 {
		period = 1e9 / o.rate
	}
	for i := 1; i <= o.msgs && !stop.Load(); i++ {
		if period > 0 {
			if d := t0 + int64(float64(i-1)*period) - clk.now(); d > 0 {
				time.Sleep(time.Duration(d))
			}
		}
		if err := f.wait(stop, p.conn.Flush); err != nil {
			return err
		}
		stamp(payload, clk.now(), uint32(i), p.id)
		if err := p.conn.Publish(o.room, payload); err != nil {
			return err
		}
		f.sent.Add(1)
		if period > 0 || i%16 == 0 {
			if err := p.conn.Flush(); err != nil {
				return err
			}
		}
	}
	return p.conn.Flush()
}

// joinToPublish: chat servers only relay from members of the room.
func joinToPublish(target string) bool {
	return target == "native" || target == "irc" || target == "line"
}

// fanoutUsers sizes the padchat users' pads to the run: every subscriber's recv
// pad carries P×(M+1) messages plus the join notices.
func fanoutUsers(o *options) []userSpec {
	cost := func(user string, text int) int64 {
		return otp.PadCost(wire.HeaderSize + len(o.room) + len(user) + text)
	}
	n := int64(o.pubs) * int64(o.msgs+1)
	notices := int64(o.subs+o.pubs) * cost("s00000", 0)
	var us []userSpec
	for _, name := range names("s", o.subs) {
		us = append(us, userSpec{name, (n*cost("p0000", o.size)+notices)*11/10 + minPad})
	}
	for _, name := range names("p", o.pubs) {
		send := int64(o.msgs+1) * cost("", o.size)
		recv := int64(o.msgs+1)*cost("", 0) + (n-int64(o.msgs+1))*cost("p0000", o.size) + notices
		us = append(us, userSpec{name, max(send, recv)*11/10 + minPad})
	}
	return us
}

func runFanout(ctx context.Context, o *options, stderr io.Writer) (*Result, error) {
	p := plan{conns: o.subs + o.pubs}
	if o.target == "native" {
		p.users = fanoutUsers(o)
	}
	if o.fileSize > 0 {
		if o.target != "native" || o.addr != "" {
			return nil, errors.New("--file-size: only with a native target the bench starts")
		}
		p.users = append(p.users, fileUsers(o.fileSize)...)
		p.conns += 2
	}
	e, err := startTarget(ctx, o, p, stderr)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	pace := fmt.Sprintf("as fast as a window of %d allows", o.window)
	switch {
	case o.window == 0:
		pace = "flood (no window)"
	case o.rate > 0:
		pace = fmt.Sprintf("paced at %.0f msg/s each", o.rate)
	}
	fmt.Fprintf(stderr, "%s %s: %d subscribers, %d publishers × %d messages of %d B, %s (server pid %d)\n",
		o.scenario, o.label, o.subs, o.pubs, o.msgs, o.size, pace, e.pid)

	subConns, err := dialAll(ctx, e.dial, names("s", o.subs), o.room, o.dialers)
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	var closing atomic.Bool
	defer func() { closing.Store(true); closeAll(subConns) }()
	pubRoom := ""
	if joinToPublish(o.target) {
		pubRoom = o.room
	}
	pubConns, err := dialAll(ctx, e.dial, names("p", o.pubs), pubRoom, o.dialers)
	if err != nil {
		return nil, fmt.Errorf("publishers: %w", err)
	}
	defer func() { closing.Store(true); closeAll(pubConns) }()

	clk := newClock()
	var rcpt *receipts
	if o.rate > 0 {
		rcpt = newReceipts(o.pubs, o.msgs)
	}
	subs := make([]*subscriber, o.subs)
	for i, c := range subConns {
		subs[i] = &subscriber{conn: c, closing: &closing, rcpt: rcpt, done: make(chan struct{})}
		go subs[i].read(clk)
	}
	pubs := make([]*publisher, o.pubs)
	for i, c := range pubConns {
		pubs[i] = &publisher{id: i, conn: c, done: make(chan struct{})}
		go pubs[i].drain(&closing)
	}
	if err := warmUp(ctx, o, clk, subs, pubs); err != nil {
		return nil, err
	}
	pad := &padProbe{url: e.metrics}
	pad.start()

	r := &Result{Scenario: o.scenario, Target: o.target, Label: o.label, When: time.Now().UTC(),
		Subs: o.subs, Pubs: o.pubs, Msgs: o.msgs, Size: o.size, Rate: o.rate, Window: o.window,
		Expected: int64(o.subs) * int64(o.pubs) * int64(o.msgs), ProvisionS: e.provision.Seconds()}
	r.Nodes = o.nodes
	before, nodes0, err := e.sample()
	if err != nil {
		return nil, err
	}
	nats0 := e.natsCPU()
	cpu0 := selfCPU()
	stopPerf := perfRecord(o, e.pid, stderr)
	f := &flow{window: int64(o.window), subs: subs}
	var stop atomic.Bool
	t0 := clk.now()
	pubsDone := make(chan struct{})
	var wg sync.WaitGroup
	pubErr := make([]error, len(pubs))
	for i, p := range pubs {
		wg.Go(func() { pubErr[i] = p.publish(o, clk, t0, f, &stop) })
	}
	go func() { wg.Wait(); close(pubsDone) }()
	fileDone := make(chan string, 1)
	if o.fileSize > 0 {
		go func() { fileDone <- fileBeside(ctx, o, e) }()
	}

	r.Note = watch(ctx, o, r, e.pid, subs, f, &stop, pubsDone, stderr)
	if o.fileSize > 0 {
		r.Note = joinNote(r.Note, <-fileDone)
	}
	stop.Store(true)
	<-pubsDone
	after, nodes1, err := e.sample()
	if err != nil {
		return nil, err
	}
	r.NATSCPUs = (e.natsCPU() - nats0).Seconds()
	stopPerf()
	var delivered int64
	for _, s := range subs {
		delivered += s.recv.Load()
	}
	var padNote string
	r.PadPerMsg, padNote = pad.perDelivery(delivered)
	r.Note = joinNote(r.Note, padNote)
	closing.Store(true)
	closeAll(subConns)
	closeAll(pubConns)

	var h histogram
	var last int64
	for _, s := range subs {
		<-s.done
		r.Delivered += s.recv.Load()
		last = max(last, s.last.Load())
		h.merge(&s.hist)
		if s.err != nil {
			r.Errors++
		}
	}
	for i, p := range pubs {
		<-p.done
		r.Errors += p.errors.Load()
		if pubErr[i] != nil {
			r.Errors++
		}
	}
	sent := f.sent.Load()
	r.Lost = int64(o.subs)*sent - r.Delivered
	r.timing(t0, last, &h)
	if rcpt != nil {
		f50, f99, s50, s99 := rcpt.quantiles()
		r.FirstP50us, r.FirstP99us, r.SpreadP50us, r.SpreadP99us = us(f50), us(f99), us(s50), us(s99)
	}
	r.measure(before, after, selfCPU()-cpu0)
	if len(nodes0) > 0 && len(nodes1) == len(nodes0) && r.Delivered > 0 {
		for i := range nodes0 {
			r.NodeCPUNs = append(r.NodeCPUNs, float64((nodes1[i]-nodes0[i]).Nanoseconds())/float64(r.Delivered))
		}
	}
	if sent < int64(o.pubs)*int64(o.msgs) {
		r.Note = joinNote(r.Note, fmt.Sprintf("sent %d of %d", sent, int64(o.pubs)*int64(o.msgs)))
	}
	for _, s := range subs {
		if s.err != nil {
			r.Note = joinNote(r.Note, "a subscriber failed: "+s.err.Error())
			break
		}
	}
	return r, ctx.Err()
}

func joinNote(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// warmUp sends one unmeasured message per publisher and waits until every
// subscriber has them: connections, joins and pad reservations are settled.
func warmUp(ctx context.Context, o *options, clk clock, subs []*subscriber, pubs []*publisher) error {
	payload := newPayload(o.size)
	for _, p := range pubs {
		stamp(payload, clk.now(), 0, p.id)
		if err := p.conn.Publish(o.room, payload); err != nil {
			return err
		}
		if err := p.conn.Flush(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ready := 0
		for _, s := range subs {
			if s.dead.Load() {
				return fmt.Errorf("warm-up: a subscriber failed: %w", s.err)
			}
			if s.warm.Load() >= int64(len(pubs)) {
				ready++
			}
		}
		if ready == len(subs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("warm-up: %d of %d subscribers got the warm-up messages in 60s", ready, len(subs))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// watch waits for the run to end: everything sent was received, nothing moved
// for --stall, or the context ended. It stops publishing at --timeout.
func watch(ctx context.Context, o *options, r *Result, pid int, subs []*subscriber, f *flow, stop *atomic.Bool,
	pubsDone chan struct{}, stderr io.Writer) string {
	return watchRun(ctx, o, pid, stop, stderr, func() (int64, bool) {
		var d int64
		for _, s := range subs {
			d += s.recv.Load()
		}
		select {
		case <-pubsDone:
			return d, d >= int64(len(subs))*f.sent.Load()
		default:
			return d, false
		}
	}, func(d int64, perSec float64) string {
		return fmt.Sprintf("%s %s: sent %d/%d, delivered %d/%d, %.0f msg/s", o.scenario, o.label,
			f.sent.Load(), int64(o.pubs)*int64(o.msgs), d, r.Expected, perSec)
	})
}
