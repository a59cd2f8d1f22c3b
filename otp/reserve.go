// Moving a Sender's durable reserved mark ahead, sized to how fast the pad is used.
package otp

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Reserve durably moves the reserved mark to next plus the current step (at most
// the pad's end), burning used pad first if asked to. It is a no-op unless
// Pending. If it fails the mark stays where it was, and the frames sealed past it
// must not leave the process.
func (s *Sender) Reserve() error {
	if s.closed {
		return ErrClosed
	}
	if !s.Pending() {
		return nil
	}
	return s.reserve()
}

// ReserveAhead durably moves the reserved mark a step past next even with
// nothing Pending (a no-op when the mark lies ahead already): the next frames
// then leave with no state write, for a Sender whose state file is about to
// go (its account removed or renewed) while a last frame must still be sealed.
func (s *Sender) ReserveAhead() error {
	if s.closed {
		return ErrClosed
	}
	if s.reserved > s.next {
		return nil
	}
	return s.reserve()
}

func (s *Sender) reserve() error {
	if s.unsure {
		// The last Advance may have won or not: learn the shared mark first.
		// Frames sealed before count as lost; they are held back.
		if err := s.rejoin(); err != nil {
			return err
		}
		s.unsure = false
		return ErrClaimLost
	}
	s.adaptStep()
	mark := min(s.next+s.step, s.pad.size)
	if s.claim != nil {
		if err := s.advanceClaim(mark); err != nil {
			return err
		}
	}
	if s.st != nil {
		if err := s.st.save(mark, s.next); err != nil {
			return err
		}
	}
	s.reserved = mark
	return nil
}

// adaptStep grows the step while reservations follow each other quickly, so a
// pad relaying hundreds of MB/s reserves a few times a second at most, and shrinks
// it when they are far apart, so an idle restart wastes little pad.
func (s *Sender) adaptStep() {
	now := s.now()
	if !s.lastReserve.IsZero() {
		switch since := now.Sub(s.lastReserve); {
		case since < reserveSoon:
			s.step = min(s.step*2, s.maxStep)
		case since > reserveIdle:
			s.step = max(s.step/2, s.minStep)
		}
	}
	s.lastReserve = now
}

// Step is the current reserve-ahead step.
func (s *Sender) Step() int64 { return s.step }

// ReserveAll reserves for every pending Sender of ss at once: the state writes and
// syncs of different pads run concurrently, so one loop iteration that sealed
// with many pads waits about one device flush instead of one per pad. At most
// reserveWorkers run at once: each sync blocked at once holds an OS thread,
// which the Go runtime keeps for good afterwards (48 KiB of stacks each, the
// bulk of what a burst of logins left in an idle daemon), while more syncs at
// once than that no longer shorten the wait (BenchmarkReserveAll). Each Sender
// must not be used elsewhere meanwhile. The error joins those of the Senders
// that failed; their frames past the old mark must not leave the process.
func ReserveAll(ss []*Sender) error {
	pending := 0
	var last *Sender
	for _, s := range ss {
		if s != nil && s.Pending() {
			pending++
			last = s
		}
	}
	switch pending {
	case 0:
		return nil
	case 1:
		return last.Reserve()
	}
	errs := make([]error, len(ss))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(pending, reserveWorkers) {
		wg.Go(func() { // each takes the next Sender of ss in turn
			for i := next.Add(1) - 1; i < int64(len(ss)); i = next.Add(1) - 1 {
				if s := ss[i]; s != nil && s.Pending() {
					errs[i] = s.Reserve()
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// reserveWorkers bounds the reservations ReserveAll runs at once.
var reserveWorkers = 16
