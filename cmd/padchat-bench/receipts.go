// Per-message receipts of a paced run: when a message's first subscriber got it, and how long until its last did.
package main

import (
	"sync/atomic"
	"time"
)

// receipts holds, for every measured message of a paced run, the latency of
// its first and of its last receipt over all subscribers. Their quantiles
// split a latency into the time to the first delivery (the publisher's send,
// the server's wake-up and any wait behind the previous message's fan-out,
// its work before the first write, a subscriber's wake-up) and the spread of
// the fan-out itself (first to last subscriber): the part where a server
// writes to every subscriber in turn.
type receipts struct {
	msgs        int // per publisher
	first, last []atomic.Int64
}

func newReceipts(pubs, msgs int) *receipts {
	n := pubs * (msgs + 1)
	return &receipts{msgs: msgs, first: make([]atomic.Int64, n), last: make([]atomic.Int64, n)}
}

// record notes a receipt of message seq of publisher pub, lat after it was sent.
func (r *receipts) record(pub int, seq uint32, lat int64) {
	if r == nil || pub < 0 || int(seq) > r.msgs {
		return
	}
	i := pub*(r.msgs+1) + int(seq)
	if i >= len(r.first) {
		return
	}
	lat = max(lat, 1) // 0 marks "none yet"
	for f := &r.first[i]; ; {
		v := f.Load()
		if v != 0 && v <= lat || f.CompareAndSwap(v, lat) {
			break
		}
	}
	for l := &r.last[i]; ; {
		v := l.Load()
		if v >= lat || l.CompareAndSwap(v, lat) {
			break
		}
	}
}

// quantiles returns the p50 and p99 of the first receipts and of the spreads
// (last minus first) over the messages some subscriber received.
func (r *receipts) quantiles() (firstP50, firstP99, spreadP50, spreadP99 time.Duration) {
	if r == nil {
		return
	}
	var first, spread histogram
	for i := range r.first {
		f := r.first[i].Load()
		if f == 0 {
			continue
		}
		first.record(f)
		spread.record(r.last[i].Load() - f)
	}
	return first.quantile(0.50), first.quantile(0.99), spread.quantile(0.50), spread.quantile(0.99)
}
