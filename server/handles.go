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
	account map[otp.PadID]otp.PadID // handle → the account's send pad id
	latest  map[otp.PadID]otp.PadID // send pad id → its outstanding handle
}

func newSessionHandles(s *Store) (*sessionHandles, error) {
	m, err := s.loadHandles()
	if err != nil {
		return nil, err
	}
	sh := &sessionHandles{account: m, latest: map[otp.PadID]otp.PadID{}}
	for h, pad := range m {
		sh.latest[pad] = h // more than one only after a crash mid-batch; the next issue drops one
	}
	return sh, nil
}

// lookup says whose handle id is; ok is false when it is none (a pad id, or nothing).
func (sh *sessionHandles) lookup(id otp.PadID) (pad otp.PadID, ok bool) {
	pad, ok = sh.account[id]
	return pad, ok
}

// consume retires a handle whose session authenticated: one use only.
func (sh *sessionHandles) consume(s *Store, handle otp.PadID) {
	pad := sh.account[handle]
	delete(sh.account, handle)
	if sh.latest[pad] == handle {
		delete(sh.latest, pad)
	}
	s.dropHandle(handle)
}

// forget drops the outstanding handle of an account that is gone.
func (sh *sessionHandles) forget(s *Store, pad otp.PadID) {
	if h, ok := sh.latest[pad]; ok {
		delete(sh.account, h)
		delete(sh.latest, pad)
		s.dropHandle(h)
	}
}

// issue makes a fresh handle for the account with send pad id pad, replacing
// its outstanding one, and writes both changes with this iteration's batch.
func (sh *sessionHandles) issue(s *Store, pad otp.PadID) otp.PadID {
	if old, ok := sh.latest[pad]; ok {
		delete(sh.account, old)
		s.dropHandle(old)
	}
	var h otp.PadID
	for h == (otp.PadID{}) || sh.account[h] != (otp.PadID{}) {
		rand.Read(h[:])
	}
	sh.account[h], sh.latest[pad] = pad, h
	s.putHandle(h, pad)
	return h
}

// sendHandle gives the session its next handle once the store holds it: a
// handle the server could forget in a crash would strand the client on it.
func (n *native) sendHandle() {
	h, u := n.h, n.user
	handle := h.handles.issue(h.store, u.sendID)
	h.store.after(func(err error) {
		if err != nil || n.user != u || n.c.dying || n.c.closed {
			return
		}
		n.send(&wire.Msg{Op: wire.OpHandle, Text: handle[:]})
	})
}
