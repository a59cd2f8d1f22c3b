// The idle scenario: N authenticated connections doing nothing; what each costs the server in RSS.
package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

func runIdle(ctx context.Context, o *options, stderr io.Writer) (*Result, error) {
	p := plan{conns: o.conns}
	idleNames := names("i", o.conns)
	if o.target == "native" {
		for _, n := range idleNames {
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
	// The baseline: the server as started, after it settled.
	time.Sleep(o.settle)
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
	n := float64(len(conns))
	r.RSSPerConn = float64(after.RSS-before.RSS) / n
	r.AnonPerConn = float64(after.RSSAnon-before.RSSAnon) / n
	// Mapped files and shared memory: padchatd's pads (page cache, reclaimable).
	r.FilePerConn = float64((after.RSS-after.RSSAnon)-(before.RSS-before.RSSAnon)) / n
	return r, nil
}
