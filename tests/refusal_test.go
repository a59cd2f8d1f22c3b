// Before a first frame verifies, every refusal is the same bytes: a peer that proved nothing learns nothing.
package tests

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/wire"
)

// firstFrameAnswer greets the daemon, sends one unverifiable first frame
// naming pad id, and returns everything the daemon sent after its greeting
// until it closed.
func firstFrameAnswer(t testing.TB, addr string, id otp.PadID) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var nonce [otp.NonceSize]byte
	rand.Read(nonce[:])
	_, err = c.Write(wire.AppendGreeting(nil, nonce))
	require.NoError(t, err)
	g := make([]byte, wire.GreetingSize)
	_, err = io.ReadFull(c, g)
	require.NoError(t, err)

	const n = 24
	f := make([]byte, otp.HeaderSize+n+otp.TagSize)
	f[0], f[1], f[2], f[3] = 'P', 'C', otp.Version, byte(otp.ToServer)
	copy(f[4:20], id[:])
	binary.BigEndian.PutUint64(f[20:], 256<<10) // ahead of anything used, inside a 1 MiB pad
	binary.BigEndian.PutUint32(f[28:], n)
	rand.Read(f[otp.HeaderSize:]) // ciphertext and a tag that cannot hold
	_, err = c.Write(f)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return b
}

func sendPadID(t testing.TB, dir string) otp.PadID {
	t.Helper()
	id, err := otp.ReadPadID(bundle.Path(dir, bundle.SendPad))
	require.NoError(t, err)
	return id
}

func TestRefusalsAreUniform(t *testing.T) {
	d := startServer(t)
	alice := d.addUser("alice", 0)
	carol := d.addUser("carol", 0)
	require.NoError(t, os.WriteFile(filepath.Join(d.data, "users", "carol", "LOCKED"), []byte("pad reuse detected"), 0o600))
	// The daemon reads the users directory at start; the admin socket has
	// no command to lock a user by hand.
	require.NoError(t, d.stop())
	d.start()
	var unknown otp.PadID
	rand.Read(unknown[:])

	answers := map[string][]byte{
		"unknown pad":          firstFrameAnswer(t, d.addr, unknown),
		"known pad, bad tag":   firstFrameAnswer(t, d.addr, sendPadID(t, alice)),
		"locked user, bad tag": firstFrameAnswer(t, d.addr, sendPadID(t, carol)),
	}
	first := answers["unknown pad"]
	require.True(t, wire.IsRefusal(first), "%q", first)
	for what, b := range answers {
		assert.Equal(t, first, b, "%s: the refusal must not tell what failed", what)
	}
	assert.NotContains(t, string(first), "locked")

	// With a tag that holds, the locked user hears why, sealed.
	_, err := pcclient.Dial(d.addr, carol)
	require.ErrorIs(t, err, pcclient.ErrRefused)
	assert.Contains(t, err.Error(), "user locked: pad reuse detected")
	assert.Contains(t, err.Error(), "bye 6", "a final Bye with ByeLocked")
}

// A client whose send state went backwards (a restored backup) reuses pad;
// its first frame verifies for the new session, so it is told why it is
// locked instead of meeting a bare EOF.
func TestRewoundClientHearsWhy(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("alice", 0)
	backup := filepath.Join(t.TempDir(), "backup")
	require.NoError(t, os.CopyFS(backup, os.DirFS(dir)))
	a, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()

	_, err = pcclient.Dial(d.addr, backup)
	require.ErrorIs(t, err, pcclient.ErrRefused, "not a bare EOF")
	assert.Contains(t, err.Error(), "pad reuse detected")
	d.waitLog("PAD REUSE DETECTED")
}

// BenchmarkFirstFrameRefusal times a refusal from dial to close, by what
// failed: a pad id the daemon does not know, a known pad whose files are open
// already (a bad tag), and a known pad opened for the first time. The
// refusal's bytes are the same (TestRefusalsAreUniform); this is what its
// timing still says. Run with -benchtime=Nx (cold provisions N users).
func BenchmarkFirstFrameRefusal(b *testing.B) {
	d := startServer(b)
	warm := d.addUser("alice", 0)
	firstFrameAnswer(b, d.addr, sendPadID(b, warm)) // opens alice's pads
	cold := 0
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			var id otp.PadID
			rand.Read(id[:])
			firstFrameAnswer(b, d.addr, id)
		}
	})
	b.Run("known-warm", func(b *testing.B) {
		id := sendPadID(b, warm)
		for b.Loop() {
			firstFrameAnswer(b, d.addr, id)
		}
	})
	b.Run("known-cold", func(b *testing.B) {
		var ids []otp.PadID
		for i := 0; i < b.N; i++ {
			cold++
			name := fmt.Sprintf("cold%d", cold)
			ids = append(ids, sendPadID(b, d.addUser(name, 64<<10)))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			firstFrameAnswer(b, d.addr, ids[i])
		}
	})
}
