// A store batch that promises nothing (room history, read cursors) commits behind the loop, on a goroutine of its own.
package server

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"padchat/internal/crashpoint"
)

// A batch of lazy writes alone (Store.doLazy) has no waiter and no mail log
// record: nothing that leaves the process waits for it. Its bbolt
// transaction and fsync (a few ms for a second of room history) run on a
// goroutine, so the loop goes on serving. The loop keeps the order of
// commits and reads: every later commit, and every read that must see these
// writes (settle), first waits for this one to land (join), so history puts
// stay before the trims and durable writes that follow them, as before.
// Nothing else touches the in-flight ops: they were handed over whole.

// behindResult is how a commit behind the loop ended.
type behindResult struct {
	err  error
	took time.Duration
	puts uint64     // history records written
	hist *histBatch // the history handed over, to be reused
}

// commitBehind hands the batch of lazy writes to a goroutine, after the one
// before it landed. It returns false: no waiter woke, nothing more to flush.
func (s *Store) commitBehind() bool {
	s.join()
	if len(s.ops) == 0 && len(s.hist.dirty) == 0 {
		return false
	}
	if s.broken != nil {
		return s.write(true) // drops the batch: a broken store writes nothing
	}
	ops, hist := s.ops, s.takeHistory()
	s.ops, s.lazy, s.lazyAt = nil, false, 0
	clear(s.runs)
	done := make(chan behindResult, 1)
	s.behind = done
	go func() {
		start := time.Now()
		crashpoint.Hit(crashpoint.CommitBefore)
		puts, err := s.apply(ops, hist)
		crashpoint.Hit(crashpoint.CommitAfter)
		done <- behindResult{err, time.Since(start), puts, hist}
	}()
	return false
}

// apply runs ops, then writes hist's room history, in one transaction (one
// fsync). It reads nothing of the Store but the database: the commit behind
// the loop runs it on what was handed over.
func (s *Store) apply(ops []func(tx *bolt.Tx) error, hist *histBatch) (puts uint64, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			if err := op(tx); err != nil {
				return err
			}
		}
		var err error
		puts, err = hist.write(tx, s.histN)
		return err
	})
	return puts, err
}

// join waits for the commit behind the loop, if one runs, and takes in how
// it ended.
func (s *Store) join() {
	if s.behind != nil {
		s.landed(<-s.behind)
	}
}

// reap takes in how the commit behind the loop ended, if it has, without
// waiting (once an iteration: a failure breaks the store for what follows).
func (s *Store) reap() {
	if s.behind == nil {
		return
	}
	select {
	case r := <-s.behind:
		s.landed(r)
	default:
	}
}

func (s *Store) landed(r behindResult) {
	s.behind = nil
	s.histPuts += r.puts
	s.recycleHistory(r.hist)
	s.lastSync = r.took
	s.commits++
	s.commitNs += uint64(r.took)
	if r.err != nil && s.broken == nil {
		s.broken = fmt.Errorf("%w: %v", ErrStoreBroken, r.err)
	}
}
