// The store's mailboxes: one code path for native direct messages and the message service's mail, and their records.
package server

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"padchat/wire"
)

// mailStore is a set of mailboxes, each a sequence of records under growing
// keys; writes join the store's batch, scan sees what has committed.
// Store.mail is the mail log (maillog.go), Store.svcMail a bbolt bucket.
type mailStore interface {
	put(box string, rec []byte)
	delete(box string, key uint64)
	drop(box string)
	scan(box string, from uint64, fn func(key uint64, rec []byte) bool)
}

// mailLogName is the mail log's file in the data dir.
const mailLogName = "mail.log"

// mailboxes is one bucket of mailboxes, <bucket>/<box>/<seq u64> = record:
// Store.mail (boxes by account key) or Store.svcMail (by alias). Each
// caller owns its record encoding (below).
type mailboxes struct {
	s   *Store
	bkt []byte
}

// mailBox names one mailbox of one bucket, for the batch's runs of puts.
type mailBox struct{ bkt, box string }

// put queues rec at the end of box in the current batch. Puts to one box
// with no other op between them share one op: one bucket lookup for all.
func (m mailboxes) put(box string, rec []byte) {
	s, k := m.s, mailBox{string(m.bkt), box}
	if run := s.runs[k]; run != nil {
		*run = append(*run, rec)
		return
	}
	run := &[][]byte{rec}
	s.do(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(m.bkt).CreateBucketIfNotExists([]byte(box))
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

// delete queues the removal of key from box in the current batch.
func (m mailboxes) delete(box string, key uint64) {
	m.s.do(func(tx *bolt.Tx) error {
		if b := tx.Bucket(m.bkt).Bucket([]byte(box)); b != nil {
			return b.Delete(u64(key))
		}
		return nil
	})
}

// drop queues the removal of box, all its records, in the current batch.
func (m mailboxes) drop(box string) {
	m.s.do(func(tx *bolt.Tx) error { return dropBox(tx, m.bkt, box) })
}

// scan calls fn for each committed record of box from key on, in order,
// until fn returns false. rec is valid only during the call.
func (m mailboxes) scan(box string, from uint64, fn func(key uint64, rec []byte) bool) {
	m.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(m.bkt).Bucket([]byte(box))
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

func dropBox(tx *bolt.Tx, bkt []byte, box string) error {
	b := tx.Bucket(bkt)
	if b == nil || b.Bucket([]byte(box)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(box))
}

// forgetMailbox drops an account's mailbox, after what the batch holds, at
// once: the session that made the account go (a re-added one logging in) may
// read the mailbox in this same iteration. Accounts go rarely; the early
// commit is one fsync.
func (s *Store) forgetMailbox(key string) {
	s.mail.drop(key)
	s.commit()
}

// purgeOrphans drops the mailboxes of accounts that no longer exist.
func (s *Store) purgeOrphans(exists func(key string) bool) error {
	for key := range s.log.boxes {
		if !exists(key) {
			s.log.drop(key)
		}
	}
	if err := s.log.sync(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		var gone []string
		tx.Bucket(bktMail).ForEachBucket(func(k []byte) error {
			if !exists(string(k)) {
				gone = append(gone, string(k))
			}
			return nil
		})
		for _, n := range gone {
			if err := dropBox(tx, bktMail, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// migrateMail moves the mailboxes of the bbolt bucket mail (written before
// the mail log) into the log: loaded under what the log holds, written as one
// compacted log, fsynced, and only then deleted from bbolt. A crash between
// the two leaves the same records, under the same keys, in both; the next
// start loads them again and they fold into one.
func (s *Store) migrateMail() error {
	var boxes [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMail).ForEachBucket(func(name []byte) error {
			boxes = append(boxes, bytes.Clone(name))
			b := s.log.box(string(name))
			bb := tx.Bucket(bktMail).Bucket(name)
			b.last = max(b.last, bb.Sequence())
			return bb.ForEach(func(k, v []byte) error {
				if len(k) == 8 {
					b.add(binary.BigEndian.Uint64(k), bytes.Clone(v))
				}
				return nil
			})
		})
	})
	if err != nil || len(boxes) == 0 {
		return err
	}
	if err := s.log.compactAll(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range boxes {
			if err := tx.Bucket(bktMail).DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// mail record (mail log puts, bucket mail before it, and the JetStream mail stream's messages):
// receipt bit 7 + from_len u8 | from | id u32 | time i64 | text.
// A direct message comes from `from`; a receipt (bit 7 set, no text) says
// that `from` received the mailbox owner's message id.
const mailReceipt = 0x80

func encodeMail(from string, id uint32, t int64, text []byte) []byte {
	return appendMail(make([]byte, 0, 13+len(from)+len(text)), 0, from, id, t, text)
}

func appendMail(b []byte, kind byte, from string, id uint32, t int64, text []byte) []byte {
	b = append(b, kind|byte(len(from)))
	b = append(b, from...)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	return append(b, text...)
}

// decodeMail fills m as the event the record is: OpDirect or, for a receipt,
// OpDelivered with FlagReceipt.
func decodeMail(b []byte, m *wire.Msg) bool {
	if len(b) < 1 || len(b) < 1+int(b[0]&^mailReceipt)+12 {
		return false
	}
	n := int(b[0] &^ mailReceipt)
	m.Op = wire.OpDirect
	if b[0]&mailReceipt != 0 {
		m.Op, m.Flags = wire.OpDelivered, wire.FlagReceipt
	}
	m.User = b[1 : 1+n]
	m.ID = binary.BigEndian.Uint32(b[1+n:])
	m.Time = int64(binary.BigEndian.Uint64(b[5+n:]))
	m.Text = b[13+n:]
	return true
}
