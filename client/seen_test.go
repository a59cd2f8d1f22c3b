// Serial-number order of DM ids and the seen record across restarts.
package client

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSerialAfter(t *testing.T) {
	for _, tt := range []struct {
		a, b uint32
		want bool
	}{
		{2, 1, true},
		{1, 2, false},
		{5, 5, false},
		{1, 1<<32 - 1, true}, // ids wrap from 2^32-1 to 1
		{1<<32 - 1, 1, false},
		{1 << 31, 1, true},
	} {
		assert.Equal(t, tt.want, serialAfter(tt.a, tt.b), "%d after %d", tt.a, tt.b)
	}
}

func TestSeenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := loadSeen(dir)
	require.NoError(t, err)
	assert.True(t, s.fresh("alice", 1))
	require.NoError(t, s.mark("alice", 7))
	require.NoError(t, s.mark("bob", 1<<32-1))

	s, err = loadSeen(dir)
	require.NoError(t, err)
	assert.False(t, s.fresh("alice", 7))
	assert.False(t, s.fresh("alice", 6))
	assert.True(t, s.fresh("alice", 8))
	assert.True(t, s.fresh("bob", 1))
	assert.True(t, s.fresh("carol", 1))

	require.NoError(t, os.WriteFile(filepath.Join(dir, SeenFile), []byte("alice seven\n"), 0o600))
	_, err = loadSeen(dir)
	assert.ErrorContains(t, err, "bad line")
}
