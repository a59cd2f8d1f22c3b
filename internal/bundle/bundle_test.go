package bundle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	p := Profile{User: "alice", Server: "127.0.0.1:7070", SendPad: "aa", RecvPad: "bb"}
	require.NoError(t, Save(dir, p))
	got, err := Load(dir)
	require.NoError(t, err)
	p.Version = Version
	assert.Equal(t, p, got)
}

func TestLoadRejects(t *testing.T) {
	for name, body := range map[string]string{
		"not json":     "{",
		"old version":  `{"version":0,"user":"a","server":"s","send_pad":"x","recv_pad":"y"}`,
		"no server":    `{"version":1,"user":"a","send_pad":"x","recv_pad":"y"}`,
		"bad user":     `{"version":1,"user":"../a","server":"s","send_pad":"x","recv_pad":"y"}`,
		"missing pads": `{"version":1,"user":"a","server":"s"}`,
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ProfileFile), []byte(body), 0o600))
		_, err := Load(dir)
		assert.ErrorIs(t, err, ErrBadProfile, name)
	}
	_, err := Load(t.TempDir())
	assert.Error(t, err)
}

// FuzzProfile: Load never panics, and what it accepts saves and loads back the same.
func FuzzProfile(f *testing.F) {
	f.Add([]byte(`{"version":1,"user":"alice","server":"h:1","send_pad":"aa","recv_pad":"bb"}`))
	f.Add([]byte(`{"version":1,"user":"","server":""}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ProfileFile), body, 0o600))
		p, err := Load(dir)
		if err != nil {
			return
		}
		again := t.TempDir()
		require.NoError(t, Save(again, p))
		q, err := Load(again)
		require.NoError(t, err)
		assert.Equal(t, p, q)
	})
}
