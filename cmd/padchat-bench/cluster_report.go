// The report's cluster section: fan-out with the subscribers spread over 1, 2, 3… nodes.
package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// writeCluster adds, when rs holds --nodes runs, one table per fan-out mode:
// each node count's median throughput and CPU per delivery, padchatd (every
// node added up) and the NATS server apart, beside the standalone padchatd.
func writeCluster(w io.Writer, rs []Result, ref string) {
	clustered := false
	for _, r := range rs {
		clustered = clustered || r.Nodes > 0
	}
	if !clustered {
		return
	}
	fmt.Fprintln(w, "## Fan-out over cluster nodes")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Subscribers and publishers spread round-robin over the nodes; padchatd CPU is every node's added up, then each node's (per delivery of the whole run); the NATS server's is apart.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | nodes | delivered msg/s | × standalone | lost | padchatd CPU ns/delivery | per node | NATS CPU ns/delivery | both | × standalone |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, mode := range []func(*Result) bool{isFlood, func(r *Result) bool { return !isFlood(r) }} {
		for _, g := range groupWhere(rs, "fanout", ref, mode) {
			sort.SliceStable(g.rows, func(i, j int) bool { return g.rows[i].Nodes < g.rows[j].Nodes })
			var alone *Result
			for i := range g.rows {
				if g.rows[i].Nodes == 0 && g.rows[i].Label == ref {
					alone = &g.rows[i]
				}
			}
			key := g.key
			for _, r := range g.rows {
				if r.Nodes == 0 && r.Label != ref {
					continue // another target
				}
				nodes := "standalone"
				if r.Nodes > 0 {
					nodes = fmt.Sprint(r.Nodes)
				}
				var natsNs float64
				if r.Delivered > 0 {
					natsNs = r.NATSCPUs * 1e9 / float64(r.Delivered)
				}
				var rps, rcpu float64
				if alone != nil {
					rps, rcpu = alone.PerSec, alone.CPUNsPerMsg
				}
				perNode := "–"
				if len(r.NodeCPUNs) > 0 {
					parts := make([]string, len(r.NodeCPUNs))
					for i, ns := range r.NodeCPUNs {
						parts[i] = fmt.Sprintf("%.0f", ns)
					}
					perNode = strings.Join(parts, " / ")
				}
				fmt.Fprintf(w, "| %s | %s | %.0f | %s | %d | %.0f | %s | %.0f | %.0f | %s |\n", key, nodes, r.PerSec, ratio(r.PerSec, rps),
					r.Lost, r.CPUNsPerMsg, perNode, natsNs, r.CPUNsPerMsg+natsNs, ratio(r.CPUNsPerMsg+natsNs, rcpu))
				key = ""
			}
		}
	}
	fmt.Fprintln(w)
}
