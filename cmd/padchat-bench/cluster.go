// Cluster fan-out: --nodes N runs N padchatd nodes over one NATS server with
// JetStream, the bench's connections spread over the nodes round-robin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"padchat/internal/benchpeer"
)

// spawnCluster starts NATS and o.nodes padchatd nodes, each with a copy of
// the users provisioned in dir/data. It returns node 1 (whose pid and address
// the run reports as the server's) and fills e with the others. On an error
// it has stopped node 1; the caller stops the rest (e.stopRest).
func spawnCluster(ctx context.Context, o *options, dir string, p plan, e *env) (_ *spawned, err error) {
	var first *spawned
	defer func() {
		if err != nil && first != nil {
			first.stop()
		}
	}()
	natsDir := filepath.Join(dir, "nats")
	if err := os.Mkdir(natsDir, 0o700); err != nil {
		return nil, err
	}
	ns, err := spawnNATS(ctx, o, natsDir, plan{dm: true})
	if err != nil {
		return nil, err
	}
	e.natsPid = ns.cmd.Process.Pid
	e.rest = append(e.rest, ns.stop)
	for i := range o.nodes {
		name := "n" + strconv.Itoa(i+1)
		nd := filepath.Join(dir, name)
		if err := os.Mkdir(nd, 0o700); err != nil {
			return nil, err
		}
		// The operator's copy of every user's pads, as docs/CLUSTER.md says
		// (-L: a node's own copy even when --pad-dir linked them).
		if out, err := exec.Command("cp", "-rL", filepath.Join(dir, "data"), filepath.Join(nd, "data")).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("copy users to %s: %v: %s", name, err, out)
		}
		on := *o
		on.serverArgs = append(slices.Clone(o.serverArgs), "--nats", "nats://"+ns.addr, "--node", name)
		s, err := spawnPadchatd(ctx, &on, nd, p)
		if err != nil {
			return nil, err
		}
		e.addrs = append(e.addrs, s.addr)
		if first == nil {
			first = s
			continue
		}
		e.pids = append(e.pids, s.cmd.Process.Pid)
		e.rest = append(e.rest, s.stop)
	}
	// Pad per delivery is read from one node's /metrics: not the whole run's.
	first.metrics = ""
	return first, nil
}

// stopRest stops the cluster's other processes, nodes first.
func (e *env) stopRest() {
	for i := len(e.rest) - 1; i >= 0; i-- {
		e.rest[i]()
	}
}

// sample is the server side of the run: every padchatd node's CPU and
// memory added up (one process without --nodes), and with --nodes each
// node's CPU, in node order.
func (e *env) sample() (procSample, []time.Duration, error) {
	var sum procSample
	var nodes []time.Duration
	for _, pid := range append([]int{e.pid}, e.pids...) {
		s, err := sampleProc(pid)
		if err != nil {
			return procSample{}, nil, err
		}
		sum.CPU += s.CPU
		sum.RSS += s.RSS
		sum.RSSAnon += s.RSSAnon
		sum.RSSFile += s.RSSFile
		nodes = append(nodes, s.CPU)
	}
	if e.natsPid == 0 {
		nodes = nil
	}
	return sum, nodes, nil
}

// natsCPU is the NATS server's CPU so far (0 without --nodes).
func (e *env) natsCPU() time.Duration {
	if e.natsPid == 0 {
		return 0
	}
	s, err := sampleProc(e.natsPid)
	if err != nil {
		return 0
	}
	return s.CPU
}

// spreadDialer dials user number i (the digits of its name: s00007, p0002)
// on node i mod len(addrs), so subscribers and publishers are spread evenly.
func spreadDialer(target string, addrs []string, bundles func(string) string) (benchpeer.Dialer, error) {
	var ds []benchpeer.Dialer
	for _, a := range addrs {
		d, err := benchpeer.New(target, a, bundles)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return func(name string) (benchpeer.Conn, error) {
		i, _ := strconv.Atoi(strings.TrimLeft(name, "abcdefghijklmnopqrstuvwxyz"))
		return ds[i%len(ds)](name)
	}, nil
}
