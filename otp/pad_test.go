// Pad file tests: creation, ids, and refusing files that cannot be pads.
package otp

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreatePad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.pad")
	var calls [][2]int64
	const size = 20<<20 + 5
	id, err := CreatePad(path, size, func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	require.NoError(t, err)
	require.NotEmpty(t, calls)
	assert.Equal(t, [2]int64{size, size}, calls[len(calls)-1])
	assert.Greater(t, len(calls), 1, "progress comes every few MiB")

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, int64(size), fi.Size())
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	p := openPad(t, path)
	assert.Equal(t, id, p.ID())
	assert.Equal(t, int64(size), p.Size())
	assert.Equal(t, path, p.Path())
	read, err := ReadPadID(path)
	require.NoError(t, err)
	assert.Equal(t, id, read)
	parsed, err := ParsePadID(id.String())
	require.NoError(t, err)
	assert.Equal(t, id, parsed)

	_, err = CreatePad(path, 1024, nil)
	assert.ErrorIs(t, err, fs.ErrExist, "never over an existing pad")
	_, err = CreatePad(filepath.Join(dir, "b.pad"), FirstOffset+KeySize, nil)
	assert.ErrorIs(t, err, ErrBadPad)

	other, err := CreatePad(filepath.Join(dir, "c.pad"), FirstOffset+KeySize+1, nil)
	require.NoError(t, err)
	assert.NotEqual(t, id, other)
}

func TestOpenPadRejects(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.pad")
	require.NoError(t, os.WriteFile(short, make([]byte, FirstOffset+KeySize), 0o600))
	tiny := filepath.Join(dir, "tiny.pad")
	require.NoError(t, os.WriteFile(tiny, make([]byte, 10), 0o600))

	_, err := OpenPad(short)
	assert.ErrorIs(t, err, ErrBadPad)
	_, err = OpenPad(dir)
	assert.ErrorIs(t, err, ErrBadPad)
	_, err = OpenPad(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = ReadPadID(tiny)
	assert.ErrorIs(t, err, ErrBadPad)
	_, err = ParsePadID("zz")
	assert.ErrorIs(t, err, ErrBadPadID)
}

func TestFrameLenAndPeek(t *testing.T) {
	var id PadID
	id[0] = 0xAB
	hdr := make([]byte, HeaderSize)
	putHeader(hdr, ToClient, &id, 4096, 300)
	tests := []struct {
		name     string
		mutate   func([]byte) []byte
		maxFrame int
		want     int
		err      error
	}{
		{"valid", func(b []byte) []byte { return b }, 0, Overhead + 300, nil},
		{"at the limit", func(b []byte) []byte { return b }, 300, Overhead + 300, nil},
		{"over the limit", func(b []byte) []byte { return b }, 299, 0, ErrFrameTooLarge},
		{"short", func(b []byte) []byte { return b[:HeaderSize-1] }, 0, 0, ErrBadFrame},
		{"magic", func(b []byte) []byte { b[1] = 'D'; return b }, 0, 0, ErrBadFrame},
		{"version", func(b []byte) []byte { b[2] = 9; return b }, 0, 0, ErrBadFrame},
		{"2^32-1 bytes", func(b []byte) []byte { copy(b[hdrLength:], []byte{255, 255, 255, 255}); return b }, 0, 0, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := FrameLen(tt.mutate(append([]byte(nil), hdr...)), tt.maxFrame)
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, n)
		})
	}
	assert.Equal(t, id, PeekPadID(hdr))
	assert.Equal(t, PadID{}, PeekPadID(hdr[:5]))
}

func TestSealOpenAllocs(t *testing.T) {
	pad := newPad(t, 64<<20)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	msg := make([]byte, 100)
	frame := make([]byte, 0, Overhead+len(msg))
	out := make([]byte, 0, len(msg))
	allocs := testing.AllocsPerRun(1000, func() {
		f, err := s.Seal(frame, msg, ToServer, sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Open(out, f, ToServer, sess); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestReleasedPadStillSealsAndOpens(t *testing.T) {
	p := newPad(t, 1<<20)
	q := copyPad(t, p)
	s, _ := newSenderT(t, p, SenderOptions{})
	r, _ := newReceiverT(t, q, ReceiverOptions{})
	sess := newSession()
	f1 := seal(t, s, []byte("before"), ToServer, sess)
	p.Release()
	q.Release()
	f2 := seal(t, s, []byte("after"), ToServer, sess)
	out, err := r.Open(nil, f1, ToServer, sess)
	require.NoError(t, err)
	require.Equal(t, "before", string(out))
	out, err = r.Open(nil, f2, ToServer, sess)
	require.NoError(t, err)
	require.Equal(t, "after", string(out))
}
