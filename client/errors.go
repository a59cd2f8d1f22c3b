// Sentinel errors of the client, told apart with errors.Is (all internal: Run reports them as text).
package client

import "errors"

var (
	// errInterrupted: a signal or the context ended the client before the session began.
	errInterrupted = errors.New("interrupted")
	// errConnectTimeout: the server neither accepted nor refused in time.
	errConnectTimeout = errors.New("timed out")
	// errRefusedClear marks a refusal in clear, before a first frame verified.
	errRefusedClear = errors.New("refused")
)
