// File names a sender chooses, made safe; placing a verified file without overwriting.
package client

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg":         "photo.jpg",
		"../../x":           "x",
		"/etc/passwd":       "passwd",
		`..\..\windows.ini`: "windows.ini",
		".bashrc":           "bashrc",
		"..":                "file",
		"dir/":              "file",
		"a\x1bb\nc":         "a_b_c",
		"":                  "file",
	} {
		assert.Equal(t, want, safeName(in), "%q", in)
	}
}

func TestPlaceFileNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"notes.txt", "notes (1).txt", "notes (2).txt"} {
		part := filepath.Join(dir, ".padchat-1.part")
		require.NoError(t, os.WriteFile(part, []byte{byte('a' + i)}, 0o600))
		got, err := placeFile(dir, part, "notes.txt")
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, want), got)
		_, err = os.Stat(part)
		assert.True(t, os.IsNotExist(err), "the partial name is gone")
	}
	b, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, "a", string(b), "the first file is untouched")
}

func TestFileCostStaysUnderOnePercent(t *testing.T) {
	for _, size := range []int64{1, wire.FileChunk, 20 << 20, 200 << 20} {
		cost := fileCost(size)
		assert.GreaterOrEqual(t, cost, size+32+wire.HeaderSize)
		if size >= wire.FileChunk {
			assert.LessOrEqual(t, float64(cost)/float64(size), 1.01, "size %d", size)
		}
	}
}
