package server

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
