// Sharing a Sender's reserve mark with other processes: no pad byte used by two nodes.
package otp

// Claimer keeps a Sender's reserve mark where several processes holding a copy of
// the same pad see it (cluster mode: a JetStream KV entry). A mark only advances
// by compare-and-set, so two processes can never both win a range.
type Claimer interface {
	// Load returns the shared mark and its revision (0, 0 when there is none yet).
	Load() (mark int64, rev uint64, err error)
	// Advance sets the shared mark to mark if its revision is still rev (0: the
	// mark must not exist yet) and returns the new revision. A lost race returns
	// an error wrapping ErrClaimLost; any other error leaves the outcome unknown.
	Advance(mark int64, rev uint64) (uint64, error)
}

// joinClaim moves the Sender to the shared mark when it lies past the local
// one and moved since the Sender last saw it (as it opens: since ever).
func (s *Sender) joinClaim() error {
	mark, rev, err := s.claim.Load()
	if err != nil || rev == s.rev {
		return err
	}
	s.rev = rev
	if mark > s.next {
		s.next, s.reserved = mark, mark
	}
	return nil
}

// advanceClaim wins mark in the shared store before the Sender counts it as
// reserved. On a lost race or an unknown outcome the frames sealed past the
// old mark stay unreserved (Pending, so the caller holds them back and ends the
// session) and the Sender moves next past the shared mark, so what it seals
// afterwards lies outside every range another process won.
func (s *Sender) advanceClaim(mark int64) error {
	rev, err := s.claim.Advance(mark, s.rev)
	if err == nil {
		s.rev = rev
		return nil
	}
	if lerr := s.rejoin(); lerr != nil {
		s.unsure = true
	}
	return err
}

// rejoin moves next to the shared mark if that lies ahead, keeping reserved.
func (s *Sender) rejoin() error {
	cur, rev, err := s.claim.Load()
	if err != nil {
		return err
	}
	s.rev = rev
	s.next = max(s.next, cur)
	return nil
}

// Yield hands the reserved but unused pad back: the shared mark goes down to
// next, if no other process moved it since this Sender's last reservation. A
// user who reconnects to another node then starts where this one stopped
// instead of a whole reserve step later. It is a no-op without a Claimer or
// while frames are pending; a lost race only means the pad stays skipped.
func (s *Sender) Yield() error {
	if s.claim == nil || s.closed || s.unsure || s.Pending() || s.reserved == s.next || s.rev == 0 {
		return nil
	}
	rev, err := s.claim.Advance(s.next, s.rev)
	if err != nil {
		if lerr := s.rejoin(); lerr != nil {
			s.unsure = true
		}
		return err
	}
	s.rev, s.reserved = rev, s.next
	return nil
}

// Rejoin, as a session starts, moves an idle Sender past what other processes
// claimed since its last reservation, so the session's first reservation is
// won rather than lost (a user back on this node after a session on another).
// Another process only ever claims from the shared mark on, which lies past
// any range this one won and did not yield. Call it only while no session
// holds frames sealed with this Sender: frames left pending by a lost race
// (their session closed) are covered by the next won mark, and must be gone.
func (s *Sender) Rejoin() error {
	if s.claim == nil || s.closed {
		return nil
	}
	return s.joinClaim()
}
