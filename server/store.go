// Store: the durable state in one bbolt file, written in one transaction per loop iteration.
package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"padchat/internal/crashpoint"
	"padchat/wire"
)

var (
	bktMail    = []byte("mail")    // mail/<recipient>/<seq u64> = mail record
	bktHistory = []byte("history") // history/<room>/<seq u64> = encoded wire.Msg
	bktDMIDs   = []byte("dmids")   // dmids/<sender> = last id u32
	bktTopics  = []byte("topics")  // topics/<room> = encoded wire.Msg (OpTopicIs)
	bktCursors = []byte("cursors") // cursors/<account key>\x00<room> = history seq u64 the account has seen
)

// ErrStoreBroken: an earlier commit failed; durable work is refused until restart.
var ErrStoreBroken = errors.New("store: an earlier commit failed")

// Store batches the writes of one loop iteration (group commit). Waiters run
// after the batch committed, so replies that promise durability are only
// queued once it holds; on failure they get the error instead.
type Store struct {
	db      *bolt.DB
	ops     []func(tx *bolt.Tx) error
	waiters []func(err error)
	broken  error
	histN   int
	dmIDs   map[string]uint32
	// idsDirty: senders whose DM id moved in this batch, written once each
	// by one op at commit; runs: the batch's mail puts since its last other
	// op, one op per mailbox (mailPut).
	idsDirty map[string]bool
	runs     map[mailBox]*[][]byte
	lastSync time.Duration // duration of the last commit
	commits  uint64
	commitNs uint64
}

func openStore(dataDir string, histN int) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "padchat.db")
	// NoFreelistSync: a commit does not rewrite the freelist pages (at DM
	// rates they were a good part of every commit's writes); bbolt rebuilds
	// the freelist by scanning at open instead. It changes what is written,
	// not the order: data pages, fdatasync, meta page, fdatasync, so a crash
	// still leaves the last committed meta over intact pages.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s is locked: is another padchatd running on this data dir?", path)
		}
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktMail, bktHistory, bktDMIDs, bktTopics, bktCursors} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Store{db: db, histN: histN, dmIDs: map[string]uint32{}}, nil
}

func (s *Store) close() {
	if s.db != nil {
		s.db.Close()
	}
}

// usable is nil when the store can take durable work.
func (s *Store) usable() error { return s.broken }

// do queues a write for this iteration's transaction. Mail puts queued
// after it go in an op of their own, so every op sees the ones before it.
func (s *Store) do(op func(tx *bolt.Tx) error) {
	s.ops = append(s.ops, op)
	clear(s.runs)
}

// after runs fn once this iteration's transaction has committed (or failed).
func (s *Store) after(fn func(err error)) { s.waiters = append(s.waiters, fn) }

// commit writes the batch in one transaction (one fsync) and wakes its
// waiters; false if there was nothing to do.
func (s *Store) commit() bool {
	if len(s.ops) == 0 && len(s.waiters) == 0 {
		return false
	}
	ops, waiters := s.ops, s.waiters
	s.ops, s.waiters = nil, nil
	clear(s.runs)
	clear(s.idsDirty)
	err := s.broken
	if err == nil && len(ops) > 0 {
		start := time.Now()
		crashpoint.Hit(crashpoint.CommitBefore)
		err = s.db.Update(func(tx *bolt.Tx) error {
			for _, op := range ops {
				if err := op(tx); err != nil {
					return err
				}
			}
			return nil
		})
		crashpoint.Hit(crashpoint.CommitAfter)
		s.lastSync = time.Since(start)
		s.commits++
		s.commitNs += uint64(s.lastSync)
		if err != nil {
			s.broken = fmt.Errorf("%w: %v", ErrStoreBroken, err)
			err = s.broken
		}
	}
	for _, w := range waiters {
		w(err)
	}
	return true
}

// nextDMID gives from's next direct-message id: a 32-bit counter that starts
// at 0 and wraps to 1 (as the message service numbers them). The new value is written with the batch.
func (s *Store) nextDMID(from string) uint32 {
	last, ok := s.dmIDs[from]
	if !ok {
		s.db.View(func(tx *bolt.Tx) error {
			if v := tx.Bucket(bktDMIDs).Get([]byte(from)); len(v) == 4 {
				last = binary.BigEndian.Uint32(v)
			}
			return nil
		})
	}
	id := nextID(last)
	s.dmIDs[from] = id
	if s.idsDirty[from] {
		return id // the batch's op writes the sender's last id
	}
	if s.idsDirty == nil {
		s.idsDirty = map[string]bool{}
	}
	s.idsDirty[from] = true
	// Not s.do: nothing else writes the dmids bucket, so this op may run
	// before later ops without changing what they see.
	s.ops = append(s.ops, func(tx *bolt.Tx) error {
		return tx.Bucket(bktDMIDs).Put([]byte(from), binary.BigEndian.AppendUint32(nil, s.dmIDs[from]))
	})
	return id
}

// historySeq is the seq of the room's last stored message (0: none yet);
// the hub numbers the room's next messages from it.
func (s *Store) historySeq(room string) uint64 {
	var seq uint64
	s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktHistory).Bucket([]byte(room)); b != nil {
			seq = b.Sequence()
		}
		return nil
	})
	return seq
}

// appendHistory stores a room message as seq (the room's next, numbered by
// the hub) and trims the room to the last histN.
func (s *Store) appendHistory(room string, m *wire.Msg, seq uint64) {
	if s.histN <= 0 || s.broken != nil {
		return
	}
	rec := wire.Append(nil, m)
	s.do(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bktHistory).CreateBucketIfNotExists([]byte(room))
		if err != nil {
			return err
		}
		if err := b.SetSequence(seq); err != nil {
			return err
		}
		if err := b.Put(u64(seq), rec); err != nil {
			return err
		}
		if seq <= uint64(s.histN) {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq-uint64(s.histN); k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// history returns up to n of the room's last messages after seq after,
// oldest first, as encoded wire messages.
func (s *Store) history(room string, n int, after uint64) [][]byte {
	var out [][]byte
	s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktHistory).Bucket([]byte(room))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < n && binary.BigEndian.Uint64(k) > after; k, v = c.Prev() {
			out = append(out, append([]byte(nil), v...))
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func cursorKey(account, room string) []byte { return []byte(account + "\x00" + room) }

// cursor is the seq of the last message of room the account has had, live
// or replayed (0: none).
func (s *Store) cursor(account, room string) uint64 {
	var seq uint64
	s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bktCursors).Get(cursorKey(account, room)); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq
}

// putCursor records, with the batch, that the account has had room's
// messages up to seq.
func (s *Store) putCursor(account, room string, seq uint64) {
	s.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bktCursors).Put(cursorKey(account, room), u64(seq))
	})
}

// putTopic stores a room's topic (an encoded OpTopicIs) with the batch.
func (s *Store) putTopic(room string, m *wire.Msg) {
	rec := wire.Append(nil, m)
	s.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bktTopics).Put([]byte(room), rec)
	})
}

// topic reads a room's stored topic into m; false if it has none.
func (s *Store) topic(room string, m *wire.Msg) bool {
	var rec []byte
	s.db.View(func(tx *bolt.Tx) error {
		rec = append([]byte(nil), tx.Bucket(bktTopics).Get([]byte(room))...)
		return nil
	})
	return len(rec) > 0 && wire.Decode(rec, m) == nil && m.Op == wire.OpTopicIs
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// purgeMailbox deletes a removed user's mailbox. If the daemon holds the store,
// it purges orphaned mailboxes itself at its next start.
func purgeMailbox(dataDir, name string) error {
	path := filepath.Join(dataDir, "padchat.db")
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("pads and bundle removed, but a daemon holds the store and did not answer on its admin socket: %s's mail is dropped at its next start", name)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error { return dropMailbox(tx, name) })
}

// forgetMailbox drops name's mailbox, after what the batch holds, at once:
// the session that made a name's account go (a re-added one logging in) may
// read the mailbox in this same iteration. Accounts go rarely; the early
// commit is one fsync.
func (s *Store) forgetMailbox(name string) {
	s.do(func(tx *bolt.Tx) error { return dropMailbox(tx, name) })
	s.commit()
}

func dropMailbox(tx *bolt.Tx, name string) error {
	b := tx.Bucket(bktMail)
	if b == nil || b.Bucket([]byte(name)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(name))
}

// purgeOrphans drops the mailboxes of users that no longer exist.
func (s *Store) purgeOrphans(exists func(string) bool) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		var gone []string
		tx.Bucket(bktMail).ForEachBucket(func(k []byte) error {
			if !exists(string(k)) {
				gone = append(gone, string(k))
			}
			return nil
		})
		for _, n := range gone {
			if err := dropMailbox(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// Mailboxes: one path for native mail (bktMail) and message-service mail
// (bktSvcMail): <bucket>/<box>/<seq u64> = record; each caller owns its
// record encoding.

type mailBox struct{ bkt, box string }

// mailPut queues rec at the end of box in the current batch. Puts to one box
// with no other op between them share one op: one bucket lookup for all.
func (s *Store) mailPut(bkt []byte, box string, rec []byte) {
	k := mailBox{string(bkt), box}
	if run := s.runs[k]; run != nil {
		*run = append(*run, rec)
		return
	}
	run := &[][]byte{rec}
	s.do(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bkt).CreateBucketIfNotExists([]byte(box))
		if err != nil {
			return err
		}
		// Keys only grow (NextSequence): fill pages before splitting, not to
		// half, which halves the pages each commit writes.
		b.FillPercent = 1
		keys := make([]byte, 0, 8*len(*run)) // bbolt holds the keys until the commit
		for _, rec := range *run {
			seq, _ := b.NextSequence()
			keys = binary.BigEndian.AppendUint64(keys, seq)
			if err := b.Put(keys[len(keys)-8:], rec); err != nil {
				return err
			}
		}
		return nil
	})
	if s.runs == nil {
		s.runs = map[mailBox]*[][]byte{}
	}
	s.runs[k] = run
}

// mailDelete queues the removal of key from box in the current batch.
func (s *Store) mailDelete(bkt []byte, box string, key uint64) {
	s.do(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bkt).Bucket([]byte(box)); b != nil {
			return b.Delete(u64(key))
		}
		return nil
	})
}

// mailScan calls fn for each committed record of box from key on, in order,
// until fn returns false. rec is valid only during the call.
func (s *Store) mailScan(bkt []byte, box string, from uint64, fn func(key uint64, rec []byte) bool) {
	s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bkt).Bucket([]byte(box))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			if !fn(binary.BigEndian.Uint64(k), v) {
				break
			}
		}
		return nil
	})
}
