//go:build linux

// A file arriving on a real terminal: the progress bar on the status line, then the file in place.
package client

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestTTYFileProgressOnStatusLine(t *testing.T) {
	down := t.TempDir()
	s := startTTY(t, func(c *Config) { c.Downloads, c.AutoAccept = down, 1<<20 })
	data := bytes.Repeat([]byte("0123456789"), wire.FileChunk) // 10 chunks
	sum := sha256.Sum256(data)
	s.srv.send(wire.Msg{Op: wire.OpFileOffered, ID: 7, User: []byte("bob"), Time: int64(len(data)), Text: append(sum[:], "notes.txt"...)})
	acc := s.srv.expect(wire.OpFileAccept, "", "", "")
	assert.EqualValues(t, 7, acc.ID)

	s.srv.send(wire.Msg{Op: wire.OpFileData, ID: 7, Text: data[:wire.FileChunk]})
	s.waitShown("online | [lobby] | ↓ notes.txt [#.........] 10% ")
	for off := wire.FileChunk; off < len(data); off += wire.FileChunk {
		s.srv.send(wire.Msg{Op: wire.OpFileData, ID: 7, Time: int64(off), Text: data[off : off+wire.FileChunk]})
	}
	s.waitShown("received notes.txt from bob: " + filepath.Join(down, "notes.txt"))
	s.waitStatus("online | [lobby] | pad") // the bar is gone
	for range 2 {
		assert.EqualValues(t, 7, s.srv.expect(wire.OpFileGot, "", "", "").ID)
	}
	done := s.srv.expect(wire.OpFileDone, "", "", "")
	assert.Zero(t, done.Flags&wire.FlagFileBad)
	got, err := os.ReadFile(filepath.Join(down, "notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}
