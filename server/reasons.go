// Why a connection closed: one typed reason, logged once (nats-server's ClosedState).
package server

// Reason says why a connection was closed.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonClientQuit
	ReasonPeerClosed
	ReasonReadError
	ReasonWriteError
	ReasonSlowConsumer
	ReasonIdle
	ReasonAuthTimeout
	ReasonAuthFailed
	ReasonBadFrame
	ReasonForged
	ReasonProtocol
	ReasonReplaced
	ReasonPadExhausted
	ReasonShutdown
	ReasonStoreError
	ReasonTooManyConns
	ReasonRemoved
	ReasonRenewed
	// numReasons counts the reasons above: a new reason goes before it, so
	// tables sized by it grow with it.
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:         "none",
	ReasonClientQuit:   "client quit",
	ReasonPeerClosed:   "peer closed",
	ReasonReadError:    "read error",
	ReasonWriteError:   "write error",
	ReasonSlowConsumer: "slow consumer: output limit reached",
	ReasonIdle:         "idle timeout",
	ReasonAuthTimeout:  "authentication timeout",
	ReasonAuthFailed:   "authentication failed",
	ReasonBadFrame:     "malformed frame",
	ReasonForged:       "frame failed authentication",
	ReasonProtocol:     "protocol violation",
	ReasonReplaced:     "replaced by a newer session",
	ReasonPadExhausted: "pad exhausted",
	ReasonShutdown:     "server shutting down",
	ReasonStoreError:   "store error",
	ReasonTooManyConns: "too many connections",
	ReasonRemoved:      "account removed",
	ReasonRenewed:      "account renewed: new pads",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}
