// Package bundle reads and writes a client bundle: the profile and the two pads a user is handed.
//
// A bundle is a directory:
//
//	profile.json      {"version":1,"user":…,"server":"host:port","send_pad":id,"recv_pad":id}
//	send.pad  + send.pad.state   client → server (the client seals with it)
//	recv.pad  + recv.pad.state   server → client (the client opens with it)
//
// Whoever holds the bundle is the user: hand it over out of band, keep it on one
// machine, and never copy it to a second one (two copies would reuse pad).
package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"padchat/wire"
)

// Version of the profile format.
const Version = 1

// File names inside a bundle directory.
const (
	ProfileFile = "profile.json"
	SendPad     = "send.pad"
	RecvPad     = "recv.pad"
	StateSuffix = ".state"
)

// Profile says who the bundle is for and where to connect.
type Profile struct {
	Version int    `json:"version"`
	User    string `json:"user"`
	Server  string `json:"server"`
	SendPad string `json:"send_pad"`
	RecvPad string `json:"recv_pad"`
	// Client preferences the user may add by hand; the command-line flags
	// of the same names override them.
	AutoAccept string `json:"auto_accept,omitempty"` // files up to this size are accepted without asking, e.g. "20MiB"
	Downloads  string `json:"downloads,omitempty"`   // where received files go
}

// Load reads dir/profile.json and checks it.
func Load(dir string) (Profile, error) {
	var p Profile
	b, err := os.ReadFile(filepath.Join(dir, ProfileFile))
	if err != nil {
		return p, fmt.Errorf("bundle: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%w: %v", ErrBadProfile, err)
	}
	if p.Version != Version || p.Server == "" || p.SendPad == "" || p.RecvPad == "" || wire.CheckName(p.User) != nil {
		return p, fmt.Errorf("%w: %s", ErrBadProfile, filepath.Join(dir, ProfileFile))
	}
	return p, nil
}

// Save writes dir/profile.json (0600).
func Save(dir string, p Profile) error {
	p.Version = Version
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ProfileFile), append(b, '\n'), 0o600)
}

// Path joins a bundle file name onto the bundle directory.
func Path(dir, name string) string { return filepath.Join(dir, name) }
