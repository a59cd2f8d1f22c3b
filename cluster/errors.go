// Errors of package cluster that callers tell apart.
package cluster

import "errors"

// ErrReplicas: the replica count asked for cannot be had from this NATS
// deployment (out of 1..MaxReplicas, or more copies than it has servers).
var ErrReplicas = errors.New("cluster: replicas")

// ErrLockChanged: an unlock found a later entry in the lock bucket than the
// lock it was to lift (a lock set since), and left it.
var ErrLockChanged = errors.New("cluster: lock changed since")

// ErrNoRevision: an unlock named no bucket entry to lift (revision 0), and
// was not sent: with no entry known there is nothing of this node's to lift.
var ErrNoRevision = errors.New("cluster: unlock of no known entry")
