// Session handles: a user's sessions carry one-time random labels in the clear, not the pad id.
package server

import (
	"crypto/rand"

	"padchat/otp"
	"padchat/wire"
)

// A passive observer must not link two sessions of one user. The pad id is
// the same in every session, so it appears in the clear only on a first
// connect (or when the client lost its handle). Every session hands the
// client, sealed, a fresh random handle; the client presents it once, in the
// pad-id field of its next session's first frame, and that session's frames
// carry it both ways (otp.Session.Label). A handle is consumed when its
// session authenticates, and an account has at most one outstanding.
type sessionHandles struct {
	// account maps a handle to its account: to the User, whose send pad id
	// it stands for, not to a copy of the id (a 24-byte map slot, not 32).
	account map[otp.PadID]*User
	// An account's outstanding handle is User.handle: a field, not a second
	// map, since every online account has one.

	// orphans: handles the store had for a pad no account had at start (an
	// account that failed to load, or was removed while the daemon was
	// down), kept by pad id and written out again: an account that comes
	// back still takes its handle, and its client need not name its pad id
	// in the clear. Usually nil.
	orphans map[otp.PadID]otp.PadID
}

func newSessionHandles(s *Store, acct *Accounts) (*sessionHandles, error) {
	m, err := s.loadHandles()
	if err != nil {
		return nil, err
	}
	sh := &sessionHandles{account: make(map[otp.PadID]*User, len(m))}
	for h, pad := range m {
		u := acct.lookup(pad)
		if u == nil {
			if sh.orphans == nil {
				sh.orphans = map[otp.PadID]otp.PadID{}
			}
			sh.orphans[h] = pad
			continue
		}
		// Two for one account only from an older daemon's bbolt handles
		// after a crash: the one not in u.handle stays valid until used.
		sh.account[h] = u
		u.handle = h
	}
	s.ownHandles(sh)
	return sh, nil
}

// lookup says whose handle id is; ok is false when it is none (a pad id, or nothing).
func (sh *sessionHandles) lookup(id otp.PadID) (pad otp.PadID, ok bool) {
	if u := sh.account[id]; u != nil {
		return u.sendID, true
	}
	pad, ok = sh.orphans[id]
	return pad, ok
}

// count is how many handles are outstanding.
func (sh *sessionHandles) count() int { return len(sh.account) + len(sh.orphans) }

// each calls fn for every outstanding handle and the send pad id it stands for.
func (sh *sessionHandles) each(fn func(h, pad otp.PadID)) {
	for h, u := range sh.account {
		fn(h, u.sendID)
	}
	for h, pad := range sh.orphans {
		fn(h, pad)
	}
}

// consume retires handle, whose session authenticated as u: one use only.
func (sh *sessionHandles) consume(s *Store, handle otp.PadID, u *User) {
	delete(sh.account, handle)
	delete(sh.orphans, handle)
	if u.handle == handle {
		u.handle = otp.PadID{}
	}
	s.dropHandle(handle)
}

// forget drops the outstanding handle of an account that is gone.
func (sh *sessionHandles) forget(s *Store, u *User) {
	if h := u.handle; h != (otp.PadID{}) {
		delete(sh.account, h)
		u.handle = otp.PadID{}
		s.dropHandle(h)
	}
}

// issue makes a fresh handle for account u, replacing its outstanding one,
// and writes both changes with this iteration's batch.
func (sh *sessionHandles) issue(s *Store, u *User) otp.PadID {
	if old := u.handle; old != (otp.PadID{}) {
		delete(sh.account, old)
		s.dropHandle(old)
	}
	var h otp.PadID
	for h == (otp.PadID{}) || sh.account[h] != nil || sh.orphans[h] != (otp.PadID{}) {
		rand.Read(h[:])
	}
	sh.account[h], u.handle = u, h
	s.putHandle(h, u.sendID)
	return h
}

// sendHandle gives the session its next handle once the store holds it: a
// handle the server could forget in a crash would strand the client on it.
func (n *native) sendHandle() {
	h, u := n.h, n.user
	handle := h.handles.issue(h.store, u)
	h.store.after(func(err error) {
		if err != nil || n.user != u || n.c.dying || n.c.closed {
			return
		}
		n.send(&wire.Msg{Op: wire.OpHandle, Text: handle[:]})
	})
}
