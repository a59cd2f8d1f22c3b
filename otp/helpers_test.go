// Test helpers: pads in temp dirs, state files, sessions and sealed frames.
package otp

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// newPad creates and maps a pad of size bytes in a fresh temp dir.
func newPad(tb testing.TB, size int64) *Pad {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.pad")
	_, err := CreatePad(path, size, nil)
	require.NoError(tb, err)
	return openPad(tb, path)
}

func openPad(tb testing.TB, path string) *Pad {
	tb.Helper()
	p, err := OpenPad(path)
	require.NoError(tb, err)
	tb.Cleanup(func() { p.Close() })
	return p
}

// copyPad gives the other end its own copy of a pad file, as provisioning does.
func copyPad(tb testing.TB, p *Pad) *Pad {
	tb.Helper()
	src, err := os.Open(p.Path())
	require.NoError(tb, err)
	defer src.Close()
	path := filepath.Join(tb.TempDir(), "copy.pad")
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	require.NoError(tb, err)
	_, err = io.Copy(dst, src)
	require.NoError(tb, err)
	require.NoError(tb, dst.Close())
	return openPad(tb, path)
}

// newState makes a fresh state file for p in its own temp dir and returns its path.
func newState(tb testing.TB, p *Pad, role Role) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), filepath.Base(p.Path())+".state")
	require.NoError(tb, InitState(path, p.ID(), role))
	return path
}

func newSenderT(tb testing.TB, p *Pad, opt SenderOptions) (*Sender, string) {
	tb.Helper()
	path := newState(tb, p, RoleSend)
	s, err := OpenSender(p, path, opt)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s, path
}

func newReceiverT(tb testing.TB, p *Pad, opt ReceiverOptions) (*Receiver, string) {
	tb.Helper()
	path := newState(tb, p, RoleRecv)
	r, err := OpenReceiver(p, path, opt)
	require.NoError(tb, err)
	tb.Cleanup(func() { r.Close() })
	return r, path
}

func newSession() *Session {
	s := new(Session)
	rand.Read(s.Client[:])
	rand.Read(s.Server[:])
	return s
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// seal seals one frame into a fresh buffer and reserves, as the loop would.
func seal(tb testing.TB, s *Sender, msg []byte, dir Direction, sess *Session) []byte {
	tb.Helper()
	frame, err := s.Seal(nil, msg, dir, sess)
	require.NoError(tb, err)
	require.NoError(tb, s.Reserve())
	return frame
}
