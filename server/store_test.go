package server

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"padchat/otp"
	"padchat/wire"
)

func TestDMIDsWrapToOneAndSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, 10)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), s.nextDMID("alice"), "the counter starts at 0, so the first id is 1")
	s.dmIDs["alice"] = math.MaxUint32 - 1
	assert.Equal(t, uint32(math.MaxUint32), s.nextDMID("alice"))
	assert.Equal(t, uint32(1), s.nextDMID("alice"), "after 2^32-1 comes 1, never 0")
	var committed error = errNotRun
	s.after(func(err error) { committed = err })
	s.commit()
	require.NoError(t, committed)
	s.close()

	s, err = openStore(dir, 10)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, uint32(2), s.nextDMID("alice"))
	assert.Equal(t, uint32(1), s.nextDMID("bob"))
}

func TestHistoryKeepsTheLastN(t *testing.T) {
	s, err := openStore(t.TempDir(), 3)
	require.NoError(t, err)
	defer s.close()
	for i := 0; i < 5; i++ {
		s.appendHistory("dev", msgText(string(rune('a'+i))), uint64(i+1))
		s.commit()
	}
	got := s.history("dev", 10, 0)
	require.Len(t, got, 3)
	for i, want := range []string{"c", "d", "e"} {
		assert.Equal(t, want, decodedText(t, got[i]))
	}
}

func TestHistoryAfterCursor(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, 10)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		s.appendHistory("dev", msgText(string(rune('a'+i))), uint64(i+1))
	}
	s.putCursor("#acct", "dev", 3)
	s.commit()
	s.close()
	s, err = openStore(dir, 10)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, uint64(5), s.historySeq("dev"), "numbering goes on after a restart")
	after := s.cursor("#acct", "dev")
	assert.Equal(t, uint64(3), after)
	got := s.history("dev", 10, after)
	require.Len(t, got, 2)
	assert.Equal(t, "d", decodedText(t, got[0]))
	assert.Empty(t, s.history("dev", 10, 5), "nothing new")
	assert.Equal(t, uint64(0), s.cursor("#other", "dev"))
}

// The table at the top of store.go is the on-disk format: records written
// through the Store land where it says, encoded as it says, so a data dir
// written before (or by hand, below, as before the mail log) reads the same.
func TestLayoutIsTheBucketTable(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir, 10)
	require.NoError(t, err)
	s.mail.put("#acct", encodeMail("bob", 7, 42, []byte("hi")))
	s.svcMail.put("ann", encodeSvcMail("bob", 3, "yo"))
	s.appendHistory("dev", msgText("said"), 5)
	s.putCursor("#acct", "dev", 5)
	s.putTopic("dev", &wire.Msg{Op: wire.OpTopicIs, Room: []byte("dev"), Text: []byte("t")})
	s.putSvcUser("ann", &svcRecord{Name: "Ann", Date: "d", LastID: 9})
	s.nextDMID("bob")
	handle, pad := otp.PadID{1, 2}, otp.PadID{3, 4}
	s.putHandle(handle, pad)
	s.commit()
	require.NoError(t, s.usable())
	s.close()

	data, err := os.ReadFile(filepath.Join(dir, "mail.log"))
	require.NoError(t, err)
	require.Equal(t, "PCMAIL2\n", string(data[:8]))
	var recs []logRecord
	off := 8
	for {
		r, n, err := decodeLogRecord(data[off:])
		if err != nil {
			break
		}
		recs = append(recs, r)
		off += n
	}
	assert.Empty(t, bytes.TrimRight(data[off:], "\x00"), "zeros after the last batch")
	assert.Equal(t, []logRecord{
		{kind: logPut, name: "#acct", key: 1, rec: encodeMail("bob", 7, 42, []byte("hi"))},
		{kind: logHandle, name: string(handle[:]), rec: pad[:]},
		{kind: logDMID, name: "bob", key: 1},
		{kind: logCommit},
	}, recs)

	db, err := bolt.Open(filepath.Join(dir, "padchat.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		var buckets []string
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error { buckets = append(buckets, string(name)); return nil })
		assert.ElementsMatch(t, []string{"mail", "history", "dmids", "topics", "cursors", "handles", "svc_users", "svc_mail"}, buckets)
		assert.Nil(t, tx.Bucket([]byte("mail")).Bucket([]byte("#acct")), "native mail is in the mail log")
		assert.Equal(t, encodeSvcMail("bob", 3, "yo"), tx.Bucket([]byte("svc_mail")).Bucket([]byte("ann")).Get(u64(1)))
		room := tx.Bucket([]byte("history")).Bucket([]byte("dev"))
		assert.Equal(t, msgText("said"), room.Get(u64(5)))
		assert.Equal(t, uint64(5), room.Sequence())
		assert.Equal(t, u64(5), tx.Bucket([]byte("cursors")).Get([]byte("#acct\x00dev")))
		assert.Nil(t, tx.Bucket([]byte("dmids")).Get([]byte("bob")), "DM ids are in the mail log")
		// A sender's last id from before the mail log.
		require.NoError(t, tx.Bucket([]byte("dmids")).Put([]byte("dave"), []byte{0, 0, 0, 41}))
		assert.JSONEq(t, `{"name":"Ann","date":"d","last_id":9}`, string(tx.Bucket([]byte("svc_users")).Get([]byte("ann"))))
		var topic wire.Msg
		require.NoError(t, wire.Decode(tx.Bucket([]byte("topics")).Get([]byte("dev")), &topic))
		assert.Equal(t, "t", string(topic.Text))

		// Written by hand, as an older padchatd would have: read back through the Store.
		b, err := tx.Bucket([]byte("mail")).CreateBucketIfNotExists([]byte("old"))
		require.NoError(t, err)
		require.NoError(t, b.Put(u64(3), appendMail(nil, mailReceipt, "carol", 11, 0, nil)))
		assert.Nil(t, tx.Bucket([]byte("handles")).Get(handle[:]), "session handles are in the mail log")
		require.NoError(t, tx.Bucket([]byte("handles")).Put([]byte("0123456789abcdef"), []byte("fedcba9876543210")))
		return nil
	}))
	require.NoError(t, db.Close())

	s, err = openStore(dir, 10)
	require.NoError(t, err)
	defer s.close()
	var got []wire.Msg
	s.mail.scan("old", 0, func(key uint64, rec []byte) bool {
		var m wire.Msg
		require.True(t, decodeMail(rec, &m))
		assert.Equal(t, uint64(3), key)
		got = append(got, m)
		return true
	})
	require.Len(t, got, 1)
	assert.Equal(t, wire.OpDelivered, got[0].Op)
	assert.Equal(t, "carol", string(got[0].User))
	assert.Equal(t, uint32(11), got[0].ID)
	users := map[string]svcRecord{}
	require.NoError(t, s.svcUsers(func(alias string, rec svcRecord) { users[alias] = rec }))
	assert.Equal(t, map[string]svcRecord{"ann": {Name: "Ann", Date: "d", LastID: 9}}, users)
	assert.Equal(t, uint64(5), s.historySeq("dev"))
	assert.Equal(t, uint32(2), s.nextDMID("bob"))
	assert.Equal(t, uint32(42), s.nextDMID("dave"))
	handles, err := s.loadHandles()
	require.NoError(t, err)
	assert.Equal(t, map[otp.PadID]otp.PadID{handle: pad, otp.PadID([]byte("0123456789abcdef")): otp.PadID([]byte("fedcba9876543210"))}, handles)
	s.commit()
	s.close()

	// The bbolt mailbox was moved into the log, once.
	db, err = bolt.Open(filepath.Join(dir, "padchat.db"), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Nil(t, tx.Bucket([]byte("mail")).Bucket([]byte("old")))
		k, _ := tx.Bucket([]byte("handles")).Cursor().First()
		assert.Nil(t, k, "the bbolt handles were moved into the log")
		return nil
	}))
	require.NoError(t, db.Close())
	s, err = openStore(dir, 10)
	require.NoError(t, err)
	defer s.close()
	n := 0
	s.mail.scan("old", 0, func(key uint64, _ []byte) bool { assert.Equal(t, uint64(3), key); n++; return true })
	assert.Equal(t, 1, n)
	assert.Equal(t, uint32(3), s.nextDMID("bob"))
	assert.Equal(t, uint32(43), s.nextDMID("dave"))
	handles, err = s.loadHandles()
	require.NoError(t, err)
	assert.Len(t, handles, 2)
}

// Purging orphans drops the mailboxes of accounts that are gone, and only those.
func TestPurgeOrphansKeepsLiveMailboxes(t *testing.T) {
	s, err := openStore(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.close()
	for _, box := range []string{"#live", "#gone"} {
		s.mail.put(box, encodeMail("x", 1, 0, []byte("m")))
	}
	s.commit()
	require.NoError(t, s.purgeOrphans(func(key string) bool { return key == "#live" }))
	count := func(box string) (n int) {
		s.mail.scan(box, 0, func(uint64, []byte) bool { n++; return true })
		return n
	}
	assert.Equal(t, 1, count("#live"))
	assert.Equal(t, 0, count("#gone"))
	s.forgetMailbox("#live")
	assert.Equal(t, 0, count("#live"), "forgetMailbox commits at once")
}
