// The mail log: native mailboxes and session handles as an append-only file, one write and one fdatasync per loop iteration.
package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"padchat/otp"
)

// mailLog holds the native accounts' mailboxes: every put, delete and drop
// is a record appended to <data dir>/mail.log (maillog_record.go), and the
// pending mail lives in memory, indexed by mailbox, rebuilt from the file at
// start. A batch's records go out in one write ended by a commit record and
// one fdatasync (sync); scan sees a batch only after that. When most of the
// file is dead (deleted mail, consumed handles), compact rewrites it with
// what is live alone.
//
// The session handles (handles.go) are here too: a login writes one and
// retires one, and as a bbolt put each cost the commit a copy of the random
// leaf it lands in (~6 KB of garbage a login). Here a handle is a 43-byte
// record in the batch's buffer.
//
// The file is zero-filled ahead of its end (grow): writing into blocks the
// file already has lets fdatasync skip the journal commit an append costs,
// half the time of each sync on ext4 here. Replay stops at the zeros (a
// record is never all zero).
type mailLog struct {
	f     *os.File
	path  string
	end   int64 // where the next batch goes: the end of the last one
	alloc int64 // the file's size, zeros from end on
	live  int64 // bytes of the records that still hold pending mail
	boxes map[string]*logBox
	ids   map[string]uint32 // each sender's last DM id, as the log says
	// handles: every outstanding session handle (→ the account's send pad
	// id), as replayed at open, until the sessionHandles built from it takes
	// them over (adoptHandles): from then on owner's map is the live set,
	// changed as each change's record is queued, and compaction writes that.
	handles map[otp.PadID]otp.PadID
	owner   *sessionHandles
	buf     []byte      // this batch's records
	batch   []logRecord // the same but the handles' records, to apply once durable
	torn    int64       // bytes of an unfinished batch zeroed at open
	v1      bool        // the file has the version 1 header: rewritten at open
}

// logBox is one mailbox: its records in key order; a deleted one keeps its
// place with rec nil until the dead are many.
type logBox struct {
	ents []logEnt
	head int    // ents before head are deleted
	dead int    // deleted ents at or after head
	last uint64 // the box's last key given out
}

type logEnt struct {
	key uint64
	rec []byte
}

// Compaction: when the log is past compactMin and under a quarter of it is
// live. The file grows by half its size, at least growMin, at most growMax.
const (
	compactMin = 4 << 20
	growMax    = 8 << 20 // zeros the next fdatasync must also write: bound that pause
)

var growMin int64 = 1 << 20 // a variable for the tests' sake

// openMailLog reads the log at path into memory and opens it for appending.
// A batch without its commit record (a crash mid-write) is zeroed, so that
// no later batch can end where one of its records begins.
func openMailLog(path string) (*mailLog, error) {
	l := &mailLog{path: path, boxes: map[string]*logBox{}, ids: map[string]uint32{}, handles: map[otp.PadID]otp.PadID{}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	good, err := l.replay(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if good < int64(len(logHeader)) {
		err = l.rewrite(nil) // new, or cut before its header was whole
	} else if l.v1 {
		err = l.compactAll() // before any handle record goes in
	} else if l.f, err = os.OpenFile(path, os.O_RDWR, 0o600); err == nil {
		l.end, l.alloc = good, int64(len(data))
		if l.torn = int64(len(bytes.TrimRight(data[good:], "\x00"))); l.torn > 0 {
			if err = zeroFill(l.f, good, l.torn); err == nil {
				err = otp.SyncData(l.f)
			}
		}
	}
	if err != nil {
		if l.f != nil {
			l.f.Close()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// replay applies data's whole batches and says where the last one ended.
func (l *mailLog) replay(data []byte) (int64, error) {
	if len(data) < len(logHeader) {
		if !bytes.HasPrefix([]byte(logHeader), data) && !bytes.HasPrefix([]byte(logHeaderV1), data) {
			return 0, errors.New("not a mail log")
		}
		return 0, nil
	}
	switch string(data[:len(logHeader)]) {
	case logHeader:
	case logHeaderV1:
		l.v1 = true
	default:
		return 0, errors.New("not a mail log (bad header)")
	}
	good, off := len(logHeader), len(logHeader)
	var batch []logRecord
	for {
		r, n, err := decodeLogRecord(data[off:])
		if err != nil {
			break // a torn or corrupt tail: everything from the last commit on goes
		}
		off += n
		if r.kind != logCommit {
			if r.kind == logPut {
				r.rec = bytes.Clone(r.rec) // do not pin the whole file
			}
			batch = append(batch, r)
			continue
		}
		for _, r := range batch {
			l.apply(r)
		}
		batch, good = batch[:0], off
	}
	return int64(good), nil
}

func (l *mailLog) box(name string) *logBox {
	b := l.boxes[name]
	if b == nil {
		b = &logBox{}
		l.boxes[name] = b
	}
	return b
}

// apply makes a durable record visible.
func (l *mailLog) apply(r logRecord) {
	switch r.kind {
	case logPut:
		b := l.box(r.name)
		b.add(r.key, r.rec)
		l.live += int64(logRecordSize(r))
	case logDelete:
		if b := l.boxes[r.name]; b != nil {
			if rec := b.del(r.key); rec != nil {
				l.live -= int64(logRecordSize(logRecord{kind: logPut, name: r.name, rec: rec}))
			}
		}
	case logDrop:
		if b := l.boxes[r.name]; b != nil {
			for _, e := range b.ents[b.head:] {
				if e.rec != nil {
					l.live -= int64(logRecordSize(logRecord{kind: logPut, name: r.name, rec: e.rec}))
				}
			}
			delete(l.boxes, r.name)
		}
	case logDMID:
		l.ids[r.name] = uint32(r.key)
	case logHandle:
		l.handles[otp.PadID([]byte(r.name))] = otp.PadID(r.rec)
	case logUnhandle:
		delete(l.handles, otp.PadID([]byte(r.name)))
	}
}

func (b *logBox) add(key uint64, rec []byte) {
	b.last = max(b.last, key)
	if n := len(b.ents); n == 0 || b.ents[n-1].key < key {
		b.ents = append(b.ents, logEnt{key, rec})
		return
	}
	// Out of order only when a bbolt mailbox was migrated under a log that
	// already had the same records (a crash between the two steps).
	i, found := b.find(key)
	if found {
		if b.ents[i].rec == nil {
			b.dead--
		}
		b.ents[i].rec = rec
		return
	}
	b.ents = slices.Insert(b.ents, i, logEnt{key, rec})
}

// find is the index of the first entry at or after head with a key ≥ key.
func (b *logBox) find(key uint64) (int, bool) {
	i := b.head + sort.Search(len(b.ents)-b.head, func(i int) bool { return b.ents[b.head+i].key >= key })
	return i, i < len(b.ents) && b.ents[i].key == key
}

// del removes key and returns its record (nil if it had none).
func (b *logBox) del(key uint64) []byte {
	i, found := b.find(key)
	if !found || b.ents[i].rec == nil {
		return nil
	}
	rec := b.ents[i].rec
	b.ents[i].rec = nil
	b.dead++
	for b.head < len(b.ents) && b.ents[b.head].rec == nil {
		b.head++
		b.dead--
	}
	if b.head > 64 && b.head > len(b.ents)/2 || b.dead > 64 && b.dead > len(b.ents)/2 {
		b.ents = slices.DeleteFunc(b.ents[b.head:], func(e logEnt) bool { return e.rec == nil })
		b.head, b.dead = 0, 0
	}
	return rec
}

// queue adds r to this batch.
func (l *mailLog) queue(r logRecord) {
	l.buf = appendLogRecord(l.buf, r)
	l.batch = append(l.batch, r)
}

// The mailStore methods (store_mail.go); the store's commit calls sync.

func (l *mailLog) put(box string, rec []byte) {
	b := l.box(box)
	b.last++
	l.queue(logRecord{kind: logPut, name: box, key: b.last, rec: rec})
}

func (l *mailLog) delete(box string, key uint64) {
	l.queue(logRecord{kind: logDelete, name: box, key: key})
}

func (l *mailLog) drop(box string) { l.queue(logRecord{kind: logDrop, name: box}) }

func (l *mailLog) scan(box string, from uint64, fn func(key uint64, rec []byte) bool) {
	b := l.boxes[box]
	if b == nil {
		return
	}
	for i, _ := b.find(from); i < len(b.ents); i++ {
		if e := b.ents[i]; e.rec != nil && !fn(e.key, e.rec) {
			return
		}
	}
}

// setDMID records sender's last DM id with this batch.
func (l *mailLog) setDMID(sender string, id uint32) {
	l.queue(logRecord{kind: logDMID, name: sender, key: uint64(id)})
}

// putHandle and dropHandle record, with this batch, a change sessionHandles
// made to handles already: their records only go to the file, with nothing
// to apply once durable.
func (l *mailLog) putHandle(handle, pad otp.PadID) {
	l.buf = appendLogRecord(l.buf, logRecord{kind: logHandle, name: string(handle[:]), rec: pad[:]})
}

func (l *mailLog) dropHandle(handle otp.PadID) {
	l.buf = appendLogRecord(l.buf, logRecord{kind: logUnhandle, name: string(handle[:])})
}

// adoptHandles hands the live set of handles to sh, built from l.handles:
// the replayed map is dropped, and compaction lists sh's.
func (l *mailLog) adoptHandles(sh *sessionHandles) { l.handles, l.owner = nil, sh }

// handleCount is how many handles are outstanding.
func (l *mailLog) handleCount() int {
	if l.owner != nil {
		return l.owner.count()
	}
	return len(l.handles)
}

// eachHandle calls fn for every outstanding handle and its account's send
// pad id: the owner's once it took them over, else as replayed.
func (l *mailLog) eachHandle(fn func(h, pad otp.PadID)) {
	if l.owner != nil {
		l.owner.each(fn)
		return
	}
	for h, pad := range l.handles {
		fn(h, pad)
	}
}

// handleRecord is the size of a live handle's record.
const handleRecord = logFrame + logBodyHead + 2*otp.IDSize

func (l *mailLog) pending() bool { return len(l.buf) > 0 }

// discard drops this batch unwritten.
func (l *mailLog) discard() {
	clear(l.batch)
	l.batch, l.buf = l.batch[:0], l.buf[:0]
}

// sync writes the batch with its commit record, makes it durable and then
// visible.
func (l *mailLog) sync() error {
	if len(l.buf) == 0 {
		return nil
	}
	l.buf = appendLogRecord(l.buf, logRecord{kind: logCommit})
	batch, buf := l.batch, l.buf
	l.batch, l.buf = l.batch[:0], l.buf[:0]
	err := l.grow(int64(len(buf)))
	if err == nil {
		_, err = l.f.WriteAt(buf, l.end)
	}
	if err == nil {
		err = otp.SyncData(l.f) // the batch and, if it grew, the file's new size
	}
	if err == nil {
		l.end += int64(len(buf))
	}
	if err != nil {
		clear(batch) // never applied: the batch's writers hear the error
		return err
	}
	for i, r := range batch {
		l.apply(r)
		batch[i] = logRecord{}
	}
	return nil
}

// compact rewrites the log when the file is mostly dead.
func (l *mailLog) compact() error {
	if l.end <= compactMin || l.live+int64(l.handleCount())*handleRecord >= l.end/4 {
		return nil
	}
	return l.compactAll()
}

// compactAll rewrites the log as its live mail, DM ids and session handles,
// one batch. The store compacts right after a batch landed, so handles holds
// no change whose record is not durable; a change a waiter made since is in
// the next batch too, and both orders give the same map.
func (l *mailLog) compactAll() error {
	var b []byte
	names := make([]string, 0, len(l.boxes))
	for name := range l.boxes {
		names = append(names, name)
	}
	sort.Strings(names)
	live := int64(0)
	for _, name := range names {
		box := l.boxes[name]
		for _, e := range box.ents[box.head:] {
			if e.rec != nil {
				r := logRecord{kind: logPut, name: name, key: e.key, rec: e.rec}
				b = appendLogRecord(b, r)
				live += int64(logRecordSize(r))
			}
		}
		// An empty box stays: its last key is a live session's cursor.
		box.ents = slices.DeleteFunc(box.ents[box.head:], func(e logEnt) bool { return e.rec == nil })
		box.head, box.dead = 0, 0
	}
	for sender, id := range l.ids {
		b = appendLogRecord(b, logRecord{kind: logDMID, name: sender, key: uint64(id)})
	}
	l.eachHandle(func(h, pad otp.PadID) {
		b = appendLogRecord(b, logRecord{kind: logHandle, name: string(h[:]), rec: pad[:]})
	})
	b = appendLogRecord(b, logRecord{kind: logCommit})
	l.live = live
	return l.rewrite(b)
}

// grow zero-fills the file ahead of its end until n more bytes fit; the
// next sync makes it durable.
func (l *mailLog) grow(n int64) error {
	if l.end+n <= l.alloc {
		return nil
	}
	add := min(max(l.alloc/2, growMin, l.end+n-l.alloc), max(growMax, l.end+n-l.alloc))
	if err := zeroFill(l.f, l.alloc, add); err != nil {
		return err
	}
	l.alloc += add
	return nil
}

var zeros [64 << 10]byte

// zeroFill writes n zero bytes at off.
func zeroFill(f *os.File, off, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

// rewrite replaces the file with the header and body: a new file, grown,
// fsynced, renamed over the old one, the directory fsynced.
func (l *mailLog) rewrite(body []byte) error {
	tmp := l.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	nl := &mailLog{f: f}
	_, err = io.WriteString(f, logHeader)
	if err == nil {
		_, err = f.Write(body)
	}
	if err == nil {
		nl.end = int64(len(logHeader) + len(body))
		nl.alloc = nl.end
		err = nl.grow(growMin)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// Renamed: from here the new file is the log, whatever the directory's sync says.
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.end, l.alloc = f, nl.end, nl.alloc
	return otp.SyncDir(filepath.Dir(l.path))
}

func (l *mailLog) close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
