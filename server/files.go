// Files: offered files spooled under <data>/files/<id>, one directory per transfer, never in the store.
//
// A transfer directory holds `data` (the file's bytes, written in order, so
// its length is how much the server has) and `meta.json` (who, what, and
// each recipient's outcome), rewritten with fsync and rename when an outcome
// changes. File data moves in chunks of at most wire.FileChunk bytes, one
// pwrite or pread of the page cache per chunk on the loop: small enough
// not to stall it. The only slow call, the fsync of a finished upload, runs
// on a goroutine and comes back through the poller's wake-up.
package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"padchat/internal/durable"
	"padchat/wire"
)

// fileWindow is how many bytes of one transfer may be on their way to one
// recipient before it says it has written them: what a slow reader can make
// the daemon hold for it, per transfer.
const fileWindow = 16 * 60 << 10

// Recipient outcomes, as kept in meta.json and told to the sender.
const (
	fileReceived = "received"
	fileRejected = "rejected"
	fileBad      = "sha256 mismatch"
)

// fileRecipient is one recipient of a transfer. accepted, sent and got
// belong to its current session and start over when it reconnects.
type fileRecipient struct {
	Name     string `json:"name"`
	Outcome  string `json:"outcome,omitempty"` // "": still to deliver
	accepted bool
	sent     int64 // offset of the next chunk to send this session
	got      int64 // bytes the recipient said it has written
	padBytes int64 // sent since its pad's pages were last released
}

// fileReceipt is an outcome the sender has not heard yet (it was offline).
type fileReceipt struct {
	User    string `json:"user"`
	Outcome string `json:"outcome"`
}

// transfer is one offered file.
type transfer struct {
	ID       uint32           `json:"id"`
	From     string           `json:"from"`
	Room     string           `json:"room,omitempty"`
	Name     string           `json:"name"`
	Size     int64            `json:"size"`
	Sum      string           `json:"sha256"`   // hex
	Complete bool             `json:"complete"` // every byte here, sha256 verified, fsynced
	To       []*fileRecipient `json:"to"`
	Receipts []fileReceipt    `json:"receipts,omitempty"`

	dir      string
	have     int64     // bytes in data
	f        *os.File  // data, open while the transfer lives
	sum      hash.Hash // of data[:have], while uploading
	syncing  bool      // the final fsync is under way
	padBytes int64     // received since the sender's pad pages were last released
}

// files is the daemon's spool of transfers; it runs on the loop.
type files struct {
	h    *Hub
	dir  string
	byID map[uint32]*transfer
	buf  []byte // one chunk read from a data file

	mu     sync.Mutex
	synced []*transfer // fsyncs finished off the loop, for drain
	errs   []error
}

func openFiles(h *Hub, dataDir string) (*files, error) {
	fs := &files{h: h, dir: filepath.Join(dataDir, "files"), byID: map[uint32]*transfer{}, buf: make([]byte, 0, 64<<10)}
	if err := os.MkdirAll(fs.dir, 0o700); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(fs.dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if _, err := strconv.ParseUint(e.Name(), 10, 32); err != nil || !e.IsDir() {
			continue
		}
		t, err := fs.load(filepath.Join(fs.dir, e.Name()))
		if err != nil {
			h.l.log.Warn().Err(err).Str("transfer", e.Name()).Msg("dropping an unreadable file transfer")
			os.RemoveAll(filepath.Join(fs.dir, e.Name()))
			continue
		}
		fs.byID[t.ID] = t
		if !t.Complete && t.have == t.Size {
			fs.finish(t) // the daemon stopped between the last chunk and its fsync
		}
	}
	return fs, nil
}

// load reads a transfer back after a restart. An unfinished upload's hash is
// rebuilt from the bytes on disk, once, before the loop serves anyone.
func (fs *files) load(dir string) (*transfer, error) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	t := &transfer{}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, err
	}
	t.dir = dir
	if t.f, err = os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR, 0o600); err != nil {
		return nil, err
	}
	st, err := t.f.Stat()
	if err != nil {
		t.f.Close()
		return nil, err
	}
	t.have = min(st.Size(), t.Size)
	if !t.Complete {
		t.sum = sha256.New()
		if _, err := io.Copy(t.sum, io.NewSectionReader(t.f, 0, t.have)); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	return t, nil
}

// create makes a new transfer's directory and files, durably.
func (fs *files) create(t *transfer) error {
	for t.ID == 0 || fs.byID[t.ID] != nil {
		t.ID = rand.Uint32()
	}
	t.dir = filepath.Join(fs.dir, strconv.FormatUint(uint64(t.ID), 10))
	if err := os.Mkdir(t.dir, 0o700); err != nil {
		return err
	}
	var err error
	if t.f, err = os.OpenFile(filepath.Join(t.dir, "data"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
		os.RemoveAll(t.dir)
		return err
	}
	t.sum = sha256.New()
	if err := t.save(); err != nil {
		t.f.Close()
		os.RemoveAll(t.dir)
		return err
	}
	fs.byID[t.ID] = t
	return nil
}

// save writes meta.json durably: a temporary file, fsync, rename.
func (t *transfer) save() error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(t.dir, "meta.json"), b)
}

// remove deletes a transfer and its files.
func (fs *files) remove(t *transfer) {
	if fs.byID[t.ID] != t {
		return
	}
	delete(fs.byID, t.ID)
	if t.f != nil {
		t.f.Close()
	}
	if err := os.RemoveAll(t.dir); err != nil {
		fs.h.l.log.Warn().Err(err).Uint32("transfer", t.ID).Msg("cannot remove a finished transfer")
	}
}

// write appends one chunk at t.have.
func (t *transfer) write(b []byte) error {
	if _, err := t.f.WriteAt(b, t.have); err != nil {
		return err
	}
	t.sum.Write(b)
	t.have += int64(len(b))
	return nil
}

// verified reports whether the bytes received hash to the offered sha256.
func (t *transfer) verified() bool {
	return hex.EncodeToString(t.sum.Sum(nil)) == t.Sum
}

// syncOff fsyncs a finished upload off the loop; drain picks up the result.
func (fs *files) syncOff(t *transfer) {
	t.syncing = true
	f := t.f
	go func() {
		err := f.Sync()
		fs.mu.Lock()
		fs.synced = append(fs.synced, t)
		fs.errs = append(fs.errs, err)
		fs.mu.Unlock()
		fs.h.l.p.Wake()
	}()
}

// drain runs before the loop sleeps: finished fsyncs complete their uploads.
func (fs *files) drain() {
	fs.mu.Lock()
	done, errs := fs.synced, fs.errs
	fs.synced, fs.errs = nil, nil
	fs.mu.Unlock()
	for i, t := range done {
		t.syncing = false
		if fs.byID[t.ID] != t {
			continue // removed meanwhile
		}
		if errs[i] == nil {
			t.Complete = true
			errs[i] = t.save()
		}
		if errs[i] != nil {
			fs.h.l.log.Error().Err(errs[i]).Uint32("transfer", t.ID).Msg("cannot make a finished upload durable")
			fs.fail(t, "the server could not store the file: "+errs[i].Error())
			continue
		}
		t.sum = nil
		fs.h.l.log.Info().Uint32("transfer", t.ID).Str("from", t.From).Int64("size", t.Size).Msg("file upload complete")
		fs.acked(t)
		fs.pumpAll(t)
		fs.tidy(t) // every recipient may have answered (rejected) while it was syncing
	}
}

// padRelease: a file streams through a pad far faster than chat does, so
// the mapped pad pages it used are dropped from the daemon's resident set
// every padRelease bytes (they stay in the page cache), rather than at idle.
const padRelease = 2 << 20

// padUsed counts n file bytes through user's pads in *since.
func (fs *files) padUsed(user string, n int, since *int64) {
	if *since += int64(n); *since < padRelease {
		return
	}
	*since = 0
	if u := fs.h.acct.user(user); u != nil && u.sendPad != nil && u.recvPad != nil {
		u.releasePages()
	}
}

// mailbox is how many bytes of files wait for user.
func (fs *files) mailbox(user string) int64 {
	var n int64
	for _, t := range fs.byID {
		for _, r := range t.To {
			if r.Name == user && r.Outcome == "" {
				n += t.Size
			}
		}
	}
	return n
}

// recipient finds user among t's recipients.
func (t *transfer) recipient(user string) *fileRecipient {
	for _, r := range t.To {
		if r.Name == user {
			return r
		}
	}
	return nil
}

// settled reports whether every recipient has an outcome.
func (t *transfer) settled() bool {
	for _, r := range t.To {
		if r.Outcome == "" {
			return false
		}
	}
	return true
}

// errFileRefused words a refused offer; the text says why.
func errFileRefused(format string, args ...any) error {
	return &hubError{wire.CodeFileRefused, fmt.Sprintf(format, args...)}
}
