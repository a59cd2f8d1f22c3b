// StateInfo: a read-only look at a state file, for `padchatd user list` and monitoring.
package otp

import (
	"fmt"
	"os"
)

// StateInfo is what a state file says, read without taking its lock.
type StateInfo struct {
	ID   PadID
	Role Role
	// Mark is a Sender's reserved mark or a Receiver's expected offset: no frame
	// is sealed at or past it (send) or accepted below it (recv).
	Mark int64
}

// ReadState reads a state file without locking it. A running daemon may move
// the mark on at any moment, so the answer is a lower bound on pad used.
func ReadState(path string) (StateInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return StateInfo{}, fmt.Errorf("%w: %s", ErrNoState, path)
		}
		return StateInfo{}, err
	}
	st, err := parseState(b)
	if err != nil {
		return StateInfo{}, err
	}
	return StateInfo{ID: st.id, Role: st.role, Mark: st.mark}, nil
}
