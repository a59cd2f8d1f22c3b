// Package crashpoint names the points of padchatd's durability path where a test can make the daemon die as SIGKILL would.
//
// The environment variable PADCHATD_CRASHPOINT=name:N arms one point: the Nth
// time the daemon passes it, the process kills itself with SIGKILL, leaving
// disk and sockets as a crash would. Unset (always, outside tests), Hit is one
// comparison. The points (each a constant below) are where a crash could break
// a promise: a pad byte used twice, an acknowledged message lost.
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Env is the variable that arms a point.
const Env = "PADCHATD_CRASHPOINT"

// The named points.
const (
	Sealed       = "sealed"        // frames sealed in memory, their pad not yet reserved
	ReserveSync  = "reserve-sync"  // a pad state record written, not yet fsynced
	ParkWrite    = "park-write"    // an idle pad's lowered mark written, never fsynced
	CommitBefore = "commit-before" // a store batch about to commit
	CommitAfter  = "commit-after"  // a store batch committed, its replies not yet written
	Flush        = "flush"         // between the writes of one end-of-iteration flush
)

// All lists every point, for tests that run each one under load. ParkWrite is
// not among them: a busy daemon never passes it (tests/idle_test.go does).
var All = []string{Sealed, ReserveSync, CommitBefore, CommitAfter, Flush}

var (
	armed     string
	countdown atomic.Int64
)

func init() { arm(os.Getenv(Env)) }

func arm(spec string) {
	name, n, ok := strings.Cut(spec, ":")
	if !ok {
		return
	}
	if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 {
		armed = name
		countdown.Store(v)
	}
}

// Hit marks one pass of the named point; it does not return if this is the
// pass the armed point waits for. It may be called from any goroutine.
func Hit(name string) {
	if armed == "" || name != armed {
		return
	}
	if countdown.Add(-1) == 0 {
		syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not delivered synchronously everywhere; never go on
	}
}
