package durable

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, WriteFile(p, []byte("old")))
	require.NoError(t, WriteFile(p, []byte("new")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))
	_, err = os.Stat(p + ".tmp")
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary file is gone")
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestWriteFileFailsLeavingTheOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, WriteFile(p, []byte("old")))
	require.NoError(t, os.Mkdir(p+".tmp", 0o700)) // the temporary name is taken by a directory
	assert.Error(t, WriteFile(p, []byte("new")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
}
