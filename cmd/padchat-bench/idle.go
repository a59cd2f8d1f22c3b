// The idle scenario: N authenticated connections doing nothing; what each costs the server in RSS.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"padchat/internal/benchpeer"
)

func runIdle(ctx context.Context, o *options, stderr io.Writer) (*Result, error) {
	p := plan{conns: o.conns}
	idleNames, warmNames := names("i", o.conns), names("w", o.warm)
	if o.target == "native" {
		for _, n := range append(idleNames, warmNames...) {
			p.users = append(p.users, userSpec{n, minPad})
		}
	}
	e, err := startTarget(ctx, o, p, stderr)
	if err != nil {
		return nil, err
	}
	defer e.stop()
	fmt.Fprintf(stderr, "idle %s: %d connections (server pid %d)\n", o.label, o.conns, e.pid)
	r := &Result{Scenario: "idle", Target: o.target, Label: o.label, When: time.Now().UTC(),
		Conns: o.conns, Expected: int64(o.conns), ProvisionS: e.provision.Seconds()}
	// Three samples: the server as started, after a few warm-up connections,
	// and with all of them. Per connection is the growth from the first over
	// every connection. The growth from the second over the rest is beside
	// it: the gap is what the first logins pay once (code pages first run,
	// the first GC's metadata, structures made on first use), but the split
	// understates the rest, as a garbage-collected server's later
	// connections reuse the heap pages the warm-up's garbage left resident.
	time.Sleep(o.settle)
	cold, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	warm, err := dialAll(ctx, e.dial, warmNames, "", o.dialers)
	if err != nil {
		return nil, err
	}
	defer closeAll(warm)
	if len(warm) > 0 {
		time.Sleep(o.settle)
	}
	before, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	cpu0 := selfCPU()
	start := time.Now()
	conns, err := dialAll(ctx, e.dial, idleNames, "", o.dialers)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	r.Seconds = time.Since(start).Seconds()
	r.Delivered = int64(len(conns))
	r.PerSec = float64(len(conns)) / r.Seconds
	time.Sleep(o.settle)
	after, err := sampleProc(e.pid)
	if err != nil {
		return nil, err
	}
	r.measure(before, after, selfCPU()-cpu0)
	r.RSSStart, r.AnonStart = cold.RSS, cold.RSSAnon
	n, all := float64(len(conns)), float64(len(conns)+len(warm))
	r.RSSPerConn = float64(after.RSS-cold.RSS) / all
	r.AnonPerConn = float64(after.RSSAnon-cold.RSSAnon) / all
	// Mapped files and shared memory: padchatd's pads (page cache, reclaimable).
	r.FilePerConn = float64((after.RSS-after.RSSAnon)-(cold.RSS-cold.RSSAnon)) / all
	r.Warm = len(warm)
	r.WarmRSSPerConn = float64(after.RSS-before.RSS) / n
	r.WarmAnonPerConn = float64(after.RSSAnon-before.RSSAnon) / n
	r.ServerFDs = countFDs(e.pid)
	// Held is not served: after the idle period every connection must still
	// get an answer (padchatd opens its pads again). Each joins a room of its
	// own, so no join notice goes to anyone else.
	served := wakeAll(conns, idleNames, o.dialers)
	r.Delivered, r.Lost = int64(served), int64(len(conns)-served)
	return r, nil
}

// wakeAll has every connection join a room named after its user and counts
// those the server confirmed, workers at a time.
func wakeAll(conns []benchpeer.Conn, names []string, workers int) int {
	var served atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Go(func() {
			for i := range next {
				if conns[i].Subscribe("w-"+names[i]) == nil {
					served.Add(1)
				}
			}
		})
	}
	for i := range conns {
		next <- i
	}
	close(next)
	wg.Wait()
	return int(served.Load())
}

// countFDs is how many descriptors process pid holds open (0 if unknown).
func countFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(ents)
}
