// Sentinel errors of the otp package; callers test them with errors.Is.
package otp

import (
	"errors"
	"fmt"
)

var (
	// ErrPadExhausted: the pad has too few bytes left for the frame. Seal returns
	// it wrapped in *ExhaustedError; there is no fallback to another cipher.
	ErrPadExhausted = errors.New("otp: pad exhausted")
	// ErrStateReplaced: a state or pad file was removed and re-created since it
	// was opened (its account was removed and re-added); nothing was written.
	ErrStateReplaced = errors.New("otp: pad or state file replaced since it was opened")
	// ErrForged: the tag did not verify. Nothing was decrypted or advanced; the
	// connection should be closed.
	ErrForged = errors.New("otp: frame forged or corrupted")
	// ErrReplay: the frame's offset is below the next expected one.
	ErrReplay = errors.New("otp: frame replayed or out of order")
	// ErrPadReused: a frame genuinely sealed for this session used pad that an
	// earlier session already used. Only a second copy of the sender's pad and
	// state (a copied bundle, a restored backup or VM snapshot) does that: the
	// pad is compromised and the user should be stopped and re-provisioned. It
	// wraps ErrReplay. Not detectable once the pad is burned.
	ErrPadReused = fmt.Errorf("%w: pad reused by a second copy of the sender", ErrReplay)
	// ErrGap: with ReceiverOptions.Contiguous, a frame skipped pad within one session
	// (a frame in between was dropped on the way).
	ErrGap = errors.New("otp: frame missing within the session")
	// ErrWrongPad: the frame or state names another pad than the one in use.
	ErrWrongPad = errors.New("otp: wrong pad")
	// ErrWrongRole: a Sender was opened on a receiving state or the other way round.
	ErrWrongRole = errors.New("otp: state is for the other role")
	// ErrFrameTooLarge: the plaintext length is over the frame limit.
	ErrFrameTooLarge = errors.New("otp: frame too large")
	// ErrBadFrame: bad magic, version or direction, a truncated or overlong frame,
	// or a frame that runs past the end of the pad (no honest sender makes one).
	ErrBadFrame = errors.New("otp: malformed frame")
	// ErrBadPadID: a pad id that is not 32 hex digits.
	ErrBadPadID = errors.New("otp: malformed pad id")
	// ErrBadPad: a pad file too small to hold one frame, or too big to map.
	ErrBadPad = errors.New("otp: bad pad file")
	// ErrNoState: the pad exists but its state file does not. Refusing is the only
	// safe answer: a fresh state would reuse pad.
	ErrNoState = errors.New("otp: pad state file missing")
	// ErrBadState: the state file is corrupt or does not fit its pad.
	ErrBadState = errors.New("otp: pad state file corrupt")
	// ErrPadInUse: another Sender or Receiver (in this or another process) holds
	// the state file's lock.
	ErrPadInUse = errors.New("otp: pad in use by another process")
	// ErrStateExists: InitState found a state file already there.
	ErrStateExists = errors.New("otp: pad state file already exists")
	// ErrNoSession: Seal or Open was given no Session; every tag must be bound to one.
	ErrNoSession = errors.New("otp: no session nonces")
	// ErrOverlap: the output would partly overlap the input. Exact overlap (sealing
	// or opening in place) is fine.
	ErrOverlap = errors.New("otp: output buffer partly overlaps input")
	// ErrClosed: the Pad, Sender or Receiver was closed.
	ErrClosed = errors.New("otp: closed")
	// ErrClaimLost: another process advanced the shared reserve mark since this
	// Sender last did. The frames sealed past the old mark must not leave; the
	// Sender has moved on to the shared mark, so the next session starts past it.
	ErrClaimLost = errors.New("otp: shared reserve mark moved elsewhere")
)

// ExhaustedError says how short the pad fell; it unwraps to ErrPadExhausted.
type ExhaustedError struct {
	Left int64 // pad bytes still unused
	Need int64 // pad bytes the frame would have consumed
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("otp: pad exhausted: %d bytes left, frame needs %d", e.Left, e.Need)
}

func (e *ExhaustedError) Unwrap() error { return ErrPadExhausted }
