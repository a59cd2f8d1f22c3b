// Store: the durable state in one bbolt file and the mail log, written once per loop iteration.
//
// The store alone knows the files' layout; everything else asks it by name
// (a room's history, an account's mailbox), never by bucket or key. The whole
// layout of <data dir>/padchat.db (integers big-endian):
//
//	bucket     key                           value (encoding)                          written by
//	mail       <account key>/<seq u64>       mail record (store_mail.go)               before the mail log only: moved into it at start
//	history    <room>/<seq u64>              wire.Msg OpMessage as delivered           Hub.notify (room says); trimmed to --history
//	                                         (room bucket's sequence = last seq)
//	dmids      <sender name>                 last DM id u32                            before the mail log only: read for a sender the log has no id of
//	topics     <room>                        wire.Msg OpTopicIs                        Hub.setTopic
//	cursors    <account key> 0x00 <room>     last history seq the account had, u64     Hub.seen, a native JOIN
//	handles    <session handle [16]>         the account's send pad id [16]            before the mail log only: moved into it at start
//	svc_users  <alias>                       JSON {name, date, last_id, addr}          the message service (msgsvc*.go)
//	svc_mail   <recipient alias>/<seq u64>   svc mail record (store_svc.go)            the message service
//
// <account key> is User.key: "#" + the account id, or the bare name of an
// account from before account ids. <x>/<seq> is a nested bucket per x whose
// keys come from its NextSequence, so records keep their order.
// Every bucket is created at open, so an older data dir simply gains the
// empty ones it lacks.
//
// <data dir>/mail.log holds the native accounts' mailboxes, DM ids and
// session handles (maillog.go): "PCMAIL2\n", then records of length u32 |
// crc32c u32 | body (maillog_record.go: put <account key> <seq u64> <mail
// record>, delete <account key> <seq u64>, drop <account key>, dmid <sender
// name> <id u32>, handle <handle> <send pad id>, handle gone <handle>),
// each batch ended by a commit record, then zeros to the file's end. Written by
// Hub.dm, Hub.ack (localMail), account removal and sessionHandles; one write and one
// fdatasync per loop iteration, before the bbolt transaction; rewritten with
// the live records alone when under a quarter of it is live.
package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"padchat/internal/crashpoint"
	"padchat/wire"
)

var (
	bktMail     = []byte("mail")
	bktHistory  = []byte("history")
	bktDMIDs    = []byte("dmids")
	bktTopics   = []byte("topics")
	bktCursors  = []byte("cursors")
	bktHandles  = []byte("handles")
	bktSvcUsers = []byte("svc_users")
	bktSvcMail  = []byte("svc_mail")
)

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
	// hist: room history waiting for the commit, one run per room
	// (store_history.go); histSpare: the runs of the last batch committed
	// behind the loop, kept for reuse.
	hist      histBatch
	histSpare histBatch
	histPuts  uint64 // history records written, all batches
	// idsDirty: senders whose DM id moved in this batch, written once each
	// by one op at commit; runs: the batch's mail puts since its last other
	// op, one op per mailbox (mailPut).
	idsDirty map[string]bool
	runs     map[mailBox]*[][]byte
	// durable: ops holds a write that may not wait (do); lazy: one that may
	// (doLazy: history, cursors), waiting since lazyAt (unix nanos, set by
	// the first due after it).
	durable  bool
	lazy     bool
	lazyAt   int64
	lastSync time.Duration // duration of the last commit
	// behind: the lazy batch committing off the loop (store_behind.go).
	behind   chan behindResult
	commits  uint64
	commitNs uint64
	// mail holds native accounts' direct messages and receipts (the mail
	// log, maillog.go), svcMail the message service's (bbolt): one interface
	// for both (store_mail.go).
	mail    mailStore
	svcMail mailboxes
	log     *mailLog
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
		for _, b := range [][]byte{bktMail, bktHistory, bktDMIDs, bktTopics, bktCursors, bktHandles, bktSvcUsers, bktSvcMail} {
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
	s := &Store{db: db, histN: histN, dmIDs: map[string]uint32{}}
	if s.log, err = openMailLog(filepath.Join(dataDir, mailLogName)); err == nil {
		err = s.migrateMail()
	}
	if err != nil {
		if s.log != nil {
			s.log.close()
		}
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	maps.Copy(s.dmIDs, s.log.ids)
	s.mail, s.svcMail = s.log, mailboxes{s, bktSvcMail}
	return s, nil
}

// purgeMailbox deletes a removed account's mailbox (key: User.key). If the
// daemon holds the store, it purges orphaned mailboxes itself at its next start.
func purgeMailbox(dataDir, key string) error {
	path := filepath.Join(dataDir, "padchat.db")
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("pads and bundle removed, but a daemon holds the store and did not answer on its admin socket: %s's mail is dropped at its next start", key)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return dropBox(tx, bktMail, key) }); err != nil {
		return err
	}
	// The bbolt lock is ours, so no daemon appends to the log meanwhile.
	l, err := openMailLog(filepath.Join(dataDir, mailLogName))
	if err != nil {
		return err
	}
	defer l.close()
	l.drop(key)
	return l.sync()
}

func (s *Store) close() {
	s.join()
	if s.log != nil {
		s.log.close()
	}
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
	s.durable = true
}

// Room history and read cursors promise nothing: the message already went
// out live. A batch holding only those waits up to lazyDelay (or lazyMax
// waiting records: cursor writes and the history runs' records) for its
// commit, instead of costing the loop an fsync every iteration; a crash
// loses at most that much history, as Redis's
// appendfsync everysec loses a second of writes. Anything durable queued
// meanwhile takes them along, and a read of history or cursors commits them
// first (settle).
const (
	lazyDelay = time.Second
	lazyMax   = 4096
)

// doLazy queues a write that may wait for a later commit (see lazyDelay).
func (s *Store) doLazy(op func(tx *bolt.Tx) error) {
	s.ops = append(s.ops, op)
	clear(s.runs)
	s.lazy = true
}

// due is when the batch must commit if it holds only writes that may wait
// (it then commits behind the loop: commitBehind), else 0: commit now, on
// the loop (or there is nothing to commit). now is the loop's clock; the
// wait runs from the first due that saw the batch.
func (s *Store) due(now int64) int64 {
	if !s.lazy {
		return 0
	}
	if s.lazyAt == 0 {
		s.lazyAt = now
	}
	if s.durable || len(s.waiters) > 0 || len(s.idsDirty) > 0 || s.log.pending() {
		return 0
	}
	if len(s.ops)+s.hist.kept >= lazyMax {
		return s.lazyAt
	}
	return s.lazyAt + int64(lazyDelay)
}

// settle commits writes still waiting, before a read that must see them.
// Their waiters still run at the iteration's commit (beforeSleep), not in the
// middle of the request that reads.
func (s *Store) settle() {
	s.join()
	if s.lazy {
		s.write(false)
	}
}

// after runs fn once this iteration's transaction has committed (or failed).
func (s *Store) after(fn func(err error)) { s.waiters = append(s.waiters, fn) }

// commit writes the batch in one transaction (one fsync) and wakes its
// waiters; false if there was nothing to do.
func (s *Store) commit() bool { return s.write(true) }

// write commits the batch and, if wake, runs the waiters: those of a batch
// written without wake run at the next commit, with its outcome (a failure
// breaks the store, so they see that one too).
func (s *Store) write(wake bool) bool {
	if len(s.ops) == 0 && len(s.hist.dirty) == 0 && len(s.waiters) == 0 && len(s.idsDirty) == 0 && !s.log.pending() {
		return false
	}
	s.join() // after the lazy batch committing behind the loop, never beside it
	for from := range s.idsDirty {
		s.log.setDMID(from, s.dmIDs[from])
	}
	ops := s.ops
	s.ops, s.durable, s.lazy, s.lazyAt = nil, false, false, 0
	var waiters []func(err error)
	if wake {
		waiters, s.waiters = s.waiters, nil
	}
	clear(s.runs)
	clear(s.idsDirty)
	err := s.broken
	if err != nil {
		s.log.discard() // a broken store writes nothing more; do not hoard it
	}
	hist := len(s.hist.dirty) > 0
	if err == nil && (len(ops) > 0 || hist || s.log.pending()) {
		start := time.Now()
		crashpoint.Hit(crashpoint.CommitBefore)
		// The mail log first: its records are independent of bbolt's, and
		// its batch is whole or absent after a crash, as bbolt's is.
		err = s.log.sync()
		if err == nil && (len(ops) > 0 || hist) {
			var puts uint64
			puts, err = s.apply(ops, &s.hist)
			s.histPuts += puts
		}
		crashpoint.Hit(crashpoint.CommitAfter)
		s.lastSync = time.Since(start)
		s.commits++
		s.commitNs += uint64(s.lastSync)
		if err != nil {
			s.broken = fmt.Errorf("%w: %v", ErrStoreBroken, err)
			err = s.broken
		}
	}
	s.hist.reset()
	for _, w := range waiters {
		w(err)
	}
	if err == nil {
		if cerr := s.log.compact(); cerr != nil {
			s.broken = fmt.Errorf("%w: compacting the mail log: %v", ErrStoreBroken, cerr)
		}
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
	if s.idsDirty == nil {
		s.idsDirty = map[string]bool{}
	}
	s.idsDirty[from] = true // commit writes the sender's last id to the mail log
	return id
}

// historySeq is the seq of the room's last stored message (0: none yet);
// the hub numbers the room's next messages from it.
func (s *Store) historySeq(room string) uint64 {
	s.settle()
	var seq uint64
	s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktHistory).Bucket([]byte(room)); b != nil {
			seq = b.Sequence()
		}
		return nil
	})
	return seq
}

// history returns up to n of the room's last messages after seq after,
// oldest first, as encoded wire messages.
func (s *Store) history(room string, n int, after uint64) [][]byte {
	s.settle()
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
	s.settle()
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
	s.doLazy(func(tx *bolt.Tx) error {
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
