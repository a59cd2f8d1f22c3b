// Cluster mode: the loop's side of package cluster, and the queue through which
// other goroutines hand the loop work.
package server

import (
	"sync"

	"padchat/cluster"
	"padchat/otp"
)

// posted is work other goroutines (nats.go's) hand the loop: queued under a
// mutex, run on the loop goroutine at its next wake-up.
type posted struct {
	mu  sync.Mutex
	fs  []func()
	run []func() // the loop's half of the double buffer
}

// post queues f for the loop goroutine and wakes the poller; safe from any
// goroutine.
func (l *Loop) post(f func()) {
	l.posted.mu.Lock()
	l.posted.fs = append(l.posted.fs, f)
	l.posted.mu.Unlock()
	l.p.Wake()
}

// runPosted runs what was posted since the last call, on the loop goroutine.
func (l *Loop) runPosted() {
	q := &l.posted
	q.mu.Lock()
	q.fs, q.run = q.run[:0], q.fs
	q.mu.Unlock()
	for i, f := range q.run {
		q.run[i] = nil
		f()
	}
}

// startCluster joins the cluster when cfg.Cluster.URL is set; otherwise
// nothing changes.
func (l *Loop) startCluster() error {
	if l.cfg.Cluster.URL == "" {
		return nil
	}
	opt := l.cfg.Cluster
	opt.Post = l.post
	n, err := cluster.Connect(opt)
	if err != nil {
		return err
	}
	l.node = n
	l.log.Info().Str("node", n.Name()).Str("nats", opt.URL).Msg("cluster node joined")
	return nil
}

// padClaim is the accounts' hook for a sending pad's shared reserve mark (nil
// when not clustered: the pad's state file alone holds it).
func (l *Loop) padClaim() func(otp.PadID) otp.Claimer {
	if l.node == nil {
		return nil
	}
	return l.node.PadClaim
}

func (l *Loop) stopCluster() {
	if l.node != nil {
		l.node.Close()
		l.node = nil
	}
}
