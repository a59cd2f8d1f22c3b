package server

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/otp"
)

// logState is what a mail log holds, as scan and the DM ids show it.
func logState(l *mailLog) map[string][]string {
	out := map[string][]string{}
	for box := range l.boxes {
		l.scan(box, 0, func(key uint64, rec []byte) bool {
			out[box] = append(out[box], fmt.Sprintf("%d=%s", key, rec))
			return true
		})
	}
	for sender, id := range l.ids {
		out["id:"+sender] = []string{fmt.Sprint(id)}
	}
	return out
}

func openTestLog(t *testing.T, path string) *mailLog {
	t.Helper()
	l, err := openMailLog(path)
	require.NoError(t, err)
	t.Cleanup(func() { l.close() })
	return l
}

// Puts, deletes, drops and DM ids come back the same after a reopen, and a
// batch is visible only once synced.
func TestMailLogReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	l := openTestLog(t, path)
	l.put("a", []byte("1"))
	l.put("a", []byte("2"))
	l.put("b", []byte("x"))
	l.setDMID("bob", 7)
	assert.Empty(t, logState(l), "nothing is visible before the sync")
	require.NoError(t, l.sync())
	l.delete("a", 1)
	l.put("a", []byte("3"))
	l.drop("b")
	l.put("c", []byte("y"))
	l.setDMID("bob", 8)
	require.NoError(t, l.sync())
	l.delete("c", 1)
	l.put("c", []byte("z"))
	l.delete("a", 99) // not there: nothing happens
	require.NoError(t, l.sync())
	want := map[string][]string{"a": {"2=2", "3=3"}, "c": {"2=z"}, "id:bob": {"8"}}
	assert.Equal(t, want, logState(l))
	require.NoError(t, l.close())

	l2 := openTestLog(t, path)
	assert.Equal(t, want, logState(l2))
	assert.Zero(t, l2.torn)
	l2.put("a", []byte("4"))
	require.NoError(t, l2.sync())
	var keys []uint64
	l2.scan("a", 3, func(key uint64, _ []byte) bool { keys = append(keys, key); return true })
	assert.Equal(t, []uint64{3, 4}, keys, "keys go on after the last one, scan starts at from")
}

// A crash may leave any prefix of the last batch's bytes, or garbage in it,
// before the zeros the file was grown with or at its very end: every such
// file opens as the batches before it, has the rest zeroed, and takes new
// batches after them.
func TestMailLogTornTail(t *testing.T) {
	defer func(n int64) { growMin = n }(growMin)
	growMin = 4 << 10 // hundreds of files: keep each small
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	l := openTestLog(t, path)
	l.put("a", []byte("kept"))
	l.setDMID("bob", 1)
	require.NoError(t, l.sync())
	before, goodEnd := logState(l), int(l.end)
	l.put("a", []byte("torn"))
	l.delete("a", 1)
	l.setDMID("bob", 2)
	require.NoError(t, l.sync())
	fullEnd := int(l.end)
	require.NoError(t, l.close())
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(file), fullEnd, "grown ahead")
	require.Empty(t, bytes.TrimRight(file[fullEnd:], "\x00"))
	file = file[:fullEnd+100]

	check := func(t *testing.T, data []byte) {
		torn := len(bytes.TrimRight(data[goodEnd:], "\x00"))
		p := filepath.Join(t.TempDir(), "mail.log")
		require.NoError(t, os.WriteFile(p, data, 0o600))
		l := openTestLog(t, p)
		assert.Equal(t, before, logState(l))
		assert.Equal(t, int64(torn), l.torn)
		onDisk, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, file[:goodEnd], onDisk[:goodEnd])
		assert.Empty(t, bytes.TrimRight(onDisk[goodEnd:], "\x00"), "the torn batch is zeroed")
		l.put("a", []byte("after"))
		require.NoError(t, l.sync())
		require.NoError(t, l.close())
		l = openTestLog(t, p)
		assert.Equal(t, []string{"1=kept", "2=after"}, logState(l)["a"])
	}
	for cut := goodEnd; cut < fullEnd; cut++ {
		t.Run(fmt.Sprintf("cut at %d", cut), func(t *testing.T) {
			check(t, file[:cut])
			if len(bytes.TrimRight(file[cut:fullEnd], "\x00")) == 0 {
				return // what is cut off was zero anyway (a commit record ends in its zero name length)
			}
			zeroed := bytes.Clone(file)
			clear(zeroed[cut:fullEnd]) // written, never reached the disk
			check(t, zeroed)
		})
	}
	for i := goodEnd; i < fullEnd; i += 3 {
		bad := bytes.Clone(file)
		bad[i] ^= 0x40
		t.Run(fmt.Sprintf("flip at %d", i), func(t *testing.T) { check(t, bad) })
	}
}

// Session handles put and dropped come back after a reopen as the batches
// that reached the file left them, a batch never synced left out; a
// compaction keeps them.
func TestMailLogHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	l := openTestLog(t, path)
	h := func(b byte) otp.PadID { return otp.PadID{b, 0xaa} }
	l.putHandle(h(1), h(11))
	l.putHandle(h(2), h(12))
	l.put("a", []byte("1"))
	require.NoError(t, l.sync())
	l.dropHandle(h(1))
	l.putHandle(h(3), h(13))
	require.NoError(t, l.sync())
	l.putHandle(h(4), h(14)) // never synced: a crash before the commit
	l.dropHandle(h(2))
	l.buf = l.buf[:0]
	require.NoError(t, l.close())

	l = openTestLog(t, path)
	want := map[otp.PadID]otp.PadID{h(2): h(12), h(3): h(13)}
	assert.Equal(t, want, l.handles)
	require.NoError(t, l.compactAll())
	require.NoError(t, l.close())
	l = openTestLog(t, path)
	assert.Equal(t, want, l.handles)
	assert.Equal(t, map[string][]string{"a": {"1=1"}}, logState(l))
}

// A version 1 log (before session handles) is read and rewritten as version
// 2 at open, before any handle record could follow its records: a daemon
// that knows version 1 only then refuses the file rather than zeroing what
// it cannot read.
func TestMailLogVersion1IsRewritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	v1 := []byte(logHeaderV1)
	v1 = appendLogRecord(v1, logRecord{kind: logPut, name: "a", key: 1, rec: []byte("1")})
	v1 = appendLogRecord(v1, logRecord{kind: logDMID, name: "bob", key: 7})
	v1 = appendLogRecord(v1, logRecord{kind: logCommit})
	require.NoError(t, os.WriteFile(path, v1, 0o600))
	l := openTestLog(t, path)
	want := map[string][]string{"a": {"1=1"}, "id:bob": {"7"}}
	assert.Equal(t, want, logState(l))
	l.putHandle(otp.PadID{1}, otp.PadID{2})
	require.NoError(t, l.sync())
	require.NoError(t, l.close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, logHeader, string(data[:len(logHeader)]))
	l = openTestLog(t, path)
	assert.Equal(t, want, logState(l))
	assert.Equal(t, map[otp.PadID]otp.PadID{{1}: {2}}, l.handles)
}

// A file that is not a mail log is refused, not truncated; a header cut short
// (a crash while creating the file) starts an empty log.
func TestMailLogHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mail.log")
	require.NoError(t, os.WriteFile(p, []byte("not a log at all"), 0o600))
	_, err := openMailLog(p)
	require.Error(t, err)
	data, _ := os.ReadFile(p)
	assert.Equal(t, "not a log at all", string(data))

	require.NoError(t, os.WriteFile(p, []byte(logHeader[:3]), 0o600))
	l := openTestLog(t, p)
	assert.Empty(t, logState(l))
	data, _ = os.ReadFile(p)
	assert.Equal(t, logHeader, string(bytes.TrimRight(data, "\x00")))
}

// When most of the file is deleted mail, a commit rewrites it with the live
// mail alone; the state and the keys' order survive, and so do the DM ids.
func TestMailLogCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	l := openTestLog(t, path)
	rec := bytes.Repeat([]byte("m"), 10000)
	for i := range compactMin / 10000 {
		l.put("a", rec)
		if i%10 == 0 {
			l.setDMID("bob", uint32(i))
			l.put("b", []byte(fmt.Sprint(i)))
		}
		require.NoError(t, l.sync())
		if i > 0 {
			l.delete("a", uint64(i)) // all but the last one
		}
	}
	require.NoError(t, l.sync())
	require.NoError(t, l.compact())
	want := logState(l)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, l.end, int64(compactMin/4), "compacted")
	assert.Equal(t, st.Size(), l.alloc)
	assert.Less(t, st.Size(), int64(compactMin))
	l.put("a", []byte("new"))
	require.NoError(t, l.sync())
	want["a"] = append(want["a"], fmt.Sprintf("%d=new", compactMin/10000+1))
	require.NoError(t, l.close())
	assert.NoFileExists(t, path+".tmp")

	l = openTestLog(t, path)
	assert.Equal(t, want, logState(l))
	assert.Len(t, want["b"], compactMin/10000/10+1)
}

// The decoder takes bytes from a file on disk: whatever they are, it neither
// panics nor reads past them, and what it accepts encodes back to the same
// bytes. Replaying a file of them never fails past its header.
func FuzzMailLogRecord(f *testing.F) {
	for _, r := range []logRecord{
		{kind: logPut, name: "#acct", key: 1, rec: encodeMail("bob", 7, 42, []byte("hi"))},
		{kind: logDelete, name: "#acct", key: 9},
		{kind: logDrop, name: "old"},
		{kind: logDMID, name: "bob", key: 3},
		{kind: logCommit},
		{kind: logHandle, name: "0123456789abcdef", rec: []byte("fedcba9876543210")},
		{kind: logUnhandle, name: "0123456789abcdef"},
	} {
		b := appendLogRecord(nil, r)
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, n, err := decodeLogRecord(data)
		if err == nil {
			require.LessOrEqual(t, n, len(data))
			assert.Equal(t, data[:n], appendLogRecord(nil, r))
			assert.Equal(t, n, logRecordSize(r))
		}
		l := &mailLog{boxes: map[string]*logBox{}, ids: map[string]uint32{}, handles: map[otp.PadID]otp.PadID{}}
		good, err := l.replay(append([]byte(logHeader), data...))
		require.NoError(t, err)
		require.LessOrEqual(t, good, int64(len(logHeader)+len(data)))
		logState(l)
	})
}

// user remove without a daemon drops the mailbox from the log, and a store
// opened after it finds it gone; other mailboxes stay.
func TestPurgeMailboxOfflineDropsFromTheLog(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, 0)
	require.NoError(t, err)
	s.mail.put("#gone", encodeMail("x", 1, 0, []byte("m")))
	s.mail.put("#kept", encodeMail("x", 2, 0, []byte("n")))
	s.commit()
	s.close()
	require.NoError(t, purgeMailbox(dir, "#gone"))
	s, err = openStore(dir, 0)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, []string{"1=" + string(encodeMail("x", 2, 0, []byte("n")))}, logState(s.log)["#kept"])
	assert.NotContains(t, logState(s.log), "#gone")
}

// A mail log that cannot be written fails the batch's waiters and breaks the
// store; what is queued after that is dropped, not kept until restart.
func TestMailLogWriteFailureBreaksTheStore(t *testing.T) {
	s, err := openStore(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.close()
	require.NoError(t, s.log.f.Close()) // every write now fails
	s.mail.put("#a", encodeMail("x", 1, 0, []byte("m")))
	var committed error = errNotRun
	s.after(func(err error) { committed = err })
	s.commit()
	assert.ErrorIs(t, committed, ErrStoreBroken)
	assert.ErrorIs(t, s.usable(), ErrStoreBroken)
	assert.Empty(t, logState(s.log), "nothing unwritten is visible")
	s.mail.delete("#a", 1)
	s.commit()
	assert.False(t, s.log.pending())
}

// Once the server runs, the log's compaction writes out the handles the
// server holds now (issued, consumed and replaced since the start), not the
// set it replayed when it opened.
func TestCompactionWritesTheServersHandles(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	provision(t, l, "ann", 64<<10)
	provision(t, l, "bob", 64<<10)
	h := l.hub
	ann, bob := h.acct.user("ann"), h.acct.user("bob")
	first := h.handles.issue(h.store, ann)
	require.True(t, h.store.commit())
	h.handles.consume(h.store, first, ann)
	annNow := h.handles.issue(h.store, ann)
	bobNow := h.handles.issue(h.store, bob)
	require.True(t, h.store.commit())
	require.NoError(t, h.store.log.compactAll())

	m, err := openMailLog(h.store.log.path)
	require.NoError(t, err)
	defer m.close()
	assert.Equal(t, map[otp.PadID]otp.PadID{annNow: ann.sendID, bobNow: bob.sendID}, m.handles)
}

// A handle whose account the daemon did not have at start (it failed to
// load, or was removed while the daemon was down) is kept and written out
// again, not dropped for good: when the account is back, its client's handle
// still works and it need not name its pad id in the clear.
func TestHandleOfAMissingAccountIsKept(t *testing.T) {
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"}
	l, err := New(cfg, zerolog.Nop())
	require.NoError(t, err)
	ghost, pad := otp.PadID{7}, otp.PadID{9}
	l.hub.store.putHandle(ghost, pad)
	require.True(t, l.hub.store.commit())
	l.shutdown()

	l, err = New(cfg, zerolog.Nop())
	require.NoError(t, err)
	defer l.shutdown()
	got, ok := l.hub.handles.lookup(ghost)
	assert.True(t, ok, "the handle is still known")
	assert.Equal(t, pad, got)
	require.NoError(t, l.hub.store.log.compactAll())
	m, err := openMailLog(l.hub.store.log.path)
	require.NoError(t, err)
	defer m.close()
	assert.Equal(t, map[otp.PadID]otp.PadID{ghost: pad}, m.handles)
}
