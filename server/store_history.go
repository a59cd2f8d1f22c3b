// Room history batched per room: one store op per room per commit, not one per message.
package server

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// histRun is one room's messages waiting for the commit, copied back to back
// into buf: record i is buf[ends[i-1]:ends[i]] with seq seqs[i], in the
// order the hub numbered them. Only the last histN of a batch can survive its
// trim, so older ones are dropped as it grows (compact). Runs and their
// buffers are kept from batch to batch: a room's steady flow allocates nothing.
type histRun struct {
	room string
	buf  []byte
	ends []int
	seqs []uint64
	keys []byte // the records' keys, 8 bytes each, built at commit
}

// histBatch is one batch's room history: the runs by room (last: the one
// used last), dirty those holding records, kept how many records they hold.
// A batch committed behind the loop is handed over whole (Store.takeHistory)
// and the loop goes on with another.
type histBatch struct {
	runs  map[string]*histRun
	last  *histRun
	dirty []*histRun
	kept  int
}

// histRoomsKept bounds the runs kept between batches for reuse; past it they
// are let go, so a churn of short-lived rooms does not hold memory.
const histRoomsKept = 1024

// appendHistory queues a room message, as encoded for delivery, as seq (the
// room's next, numbered by the hub); at the commit the room keeps its last
// histN. rec is copied: the caller may reuse it.
func (s *Store) appendHistory(room string, rec []byte, seq uint64) {
	if s.histN <= 0 || s.broken != nil {
		return
	}
	b := &s.hist
	r := b.last // a room's messages tend to come in runs
	if r == nil || r.room != room {
		r = b.runs[room]
	}
	if r == nil {
		if b.runs == nil {
			b.runs = map[string]*histRun{}
		}
		r = &histRun{room: room}
		b.runs[room] = r
	}
	b.last = r
	if len(r.seqs) == 0 {
		b.dirty = append(b.dirty, r)
	}
	r.buf = append(r.buf, rec...)
	r.ends = append(r.ends, len(r.buf))
	r.seqs = append(r.seqs, seq)
	b.kept++
	if len(r.seqs) >= 2*s.histN {
		b.kept -= r.compact(s.histN)
	}
	s.lazy = true
}

// compact keeps the last n records and returns how many it dropped.
func (r *histRun) compact(n int) int {
	drop := len(r.seqs) - n
	if drop <= 0 {
		return 0
	}
	from := r.ends[drop-1]
	kept := copy(r.buf, r.buf[from:])
	r.buf = r.buf[:kept]
	for i := range n {
		r.ends[i] = r.ends[drop+i] - from
	}
	r.ends = r.ends[:n]
	r.seqs = r.seqs[:copy(r.seqs, r.seqs[drop:])]
	return drop
}

// write stores every waiting run of the batch, in the commit's transaction:
// the records a per-message put and trim would have left (the last histN of
// each room), and nothing else. It returns how many it put. It touches only
// the batch, so it may run behind the loop on a batch handed over.
func (hb *histBatch) write(tx *bolt.Tx, histN int) (puts uint64, err error) {
	bkt := tx.Bucket(bktHistory)
	for _, r := range hb.dirty {
		b, err := bkt.CreateBucketIfNotExists([]byte(r.room))
		if err != nil {
			return puts, err
		}
		last := r.seqs[len(r.seqs)-1]
		if err := b.SetSequence(last); err != nil {
			return puts, err
		}
		// bbolt holds keys and values until the commit: each record gets
		// a key of its own in r.keys, and r.buf is not touched until then.
		r.keys = r.keys[:0]
		for _, seq := range r.seqs {
			r.keys = binary.BigEndian.AppendUint64(r.keys, seq)
		}
		start := 0
		for i, seq := range r.seqs {
			if last-seq < uint64(histN) {
				if err := b.Put(r.keys[8*i:8*i+8:8*i+8], r.buf[start:r.ends[i]:r.ends[i]]); err != nil {
					return puts, err
				}
				puts++
			}
			start = r.ends[i]
		}
		if last <= uint64(histN) {
			continue
		}
		// Deleting moves the cursor's page under it, so each delete
		// starts again from the first key rather than trusting Next.
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= last-uint64(histN); k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return puts, err
			}
		}
	}
	return puts, nil
}

// reset empties the runs after a commit (done or failed), keeping their
// buffers for the next batch.
func (hb *histBatch) reset() {
	for i, r := range hb.dirty {
		r.buf, r.ends, r.seqs = r.buf[:0], r.ends[:0], r.seqs[:0]
		hb.dirty[i] = nil
	}
	hb.dirty = hb.dirty[:0]
	hb.kept = 0
	if len(hb.runs) > histRoomsKept {
		clear(hb.runs)
		hb.last = nil
	}
}

// takeHistory hands the batch's history over to a commit behind the loop
// and starts the next batch with the runs of the last one that landed.
func (s *Store) takeHistory() *histBatch {
	taken := s.hist
	s.hist, s.histSpare = s.histSpare, histBatch{}
	return &taken
}

// recycleHistory takes back the runs of a batch committed behind the loop,
// emptied, for the batch after next.
func (s *Store) recycleHistory(hb *histBatch) {
	hb.reset()
	s.histSpare = *hb
}
