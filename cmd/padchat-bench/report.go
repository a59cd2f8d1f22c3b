// The report subcommand: results (JSON lines) to a Markdown table with ratios to padchatd.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

func readResults(path string) ([]Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs []Result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

// group is one workload measured on several targets.
type group struct {
	key  string
	rows []Result // one per label, reference first
}

// workload names what was run, without who ran it.
func workload(r *Result) string {
	switch r.Scenario {
	case "idle":
		return fmt.Sprintf("idle %d conns", r.Conns)
	case "dm":
		return fmt.Sprintf("dm %d senders × %d msgs of %d B to %d offline users, window %d", r.Pubs, r.Msgs, r.Size, r.Recipients, r.Window)
	}
	pace := "flood, window " + fmt.Sprint(r.Window)
	if r.Rate > 0 {
		pace = fmt.Sprintf("%.0f msg/s per publisher", r.Rate)
	}
	return fmt.Sprintf("%s %d subs, %d pubs × %d msgs of %d B, %s", r.Scenario, r.Subs, r.Pubs, r.Msgs, r.Size, pace)
}

var targetOrder = map[string]int{"native": 0, "line": 1, "irc": 2, "redis": 3, "nats": 4}

// groupResults keeps, per workload and label, the median of the repeated runs
// (repeats smooth a noisy machine), reference label first.
func groupResults(rs []Result, scenario, ref string) []group {
	byKey := map[string]map[string][]Result{}
	var keys []string
	for _, r := range rs {
		if r.Scenario != scenario {
			continue
		}
		k := workload(&r)
		if byKey[k] == nil {
			byKey[k] = map[string][]Result{}
			keys = append(keys, k)
		}
		byKey[k][r.Label] = append(byKey[k][r.Label], r)
	}
	var gs []group
	for _, k := range keys {
		g := group{key: k}
		for _, runs := range byKey[k] {
			g.rows = append(g.rows, medianOf(runs))
		}
		sort.Slice(g.rows, func(i, j int) bool {
			a, b := g.rows[i], g.rows[j]
			if (a.Label == ref) != (b.Label == ref) {
				return a.Label == ref
			}
			if targetOrder[a.Target] != targetOrder[b.Target] {
				return targetOrder[a.Target] < targetOrder[b.Target]
			}
			return a.Label < b.Label
		})
		gs = append(gs, g)
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i].rows[0], gs[j].rows[0]
		if a.Subs != b.Subs {
			return a.Subs < b.Subs
		}
		return a.Rate < b.Rate
	})
	return gs
}

func ratio(v, ref float64) string {
	if ref == 0 || v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", v/ref)
}

func refOf(g group, ref string) *Result {
	if len(g.rows) > 0 && g.rows[0].Label == ref {
		return &g.rows[0]
	}
	return nil
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("padchat-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "results file (JSON lines from --json)")
	md := fs.String("md", "", "write the Markdown report here (default stdout)")
	svg := fs.String("svg", "", "also write the chart here")
	ref := fs.String("ref", "native", "label the ratios are relative to")
	var notes multiFlag
	fs.Var(&notes, "note", "a line for the report's header (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("report: --in is required")
	}
	rs, err := readResults(*in)
	if err != nil {
		return err
	}
	w := stdout
	if *md != "" {
		f, err := os.Create(*md)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	chartName := ""
	if *svg != "" {
		if err := writeChart(*svg, rs); err != nil {
			return err
		}
		chartName = *svg
		if i := strings.LastIndexByte(chartName, '/'); i >= 0 {
			chartName = chartName[i+1:]
		}
	}
	writeReport(w, rs, *ref, notes, chartName)
	return nil
}

func writeReport(w io.Writer, rs []Result, ref string, notes []string, chart string) {
	when := time.Now().UTC()
	if len(rs) > 0 {
		when = rs[0].When
	}
	fmt.Fprintf(w, "# padchat benchmarks, %s\n\n", when.Format("2006-01-02"))
	fmt.Fprintf(w, "Machine: %s, %d CPUs, Linux %s. Every server ran on 127.0.0.1, started fresh for each run by padchat-bench, which is also the client for all of them. Ratios are to `%s` (padchatd, native OTP protocol); on CPU ns per delivery, above 1 means the peer spends more than padchatd.\n\n",
		cpuModel(), runtime.NumCPU(), kernel(), ref)
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
	if chart != "" {
		fmt.Fprintf(w, "![throughput and CPU per delivery against subscribers](%s)\n\n", chart)
	}
	for _, sc := range []struct{ name, title string }{{"fanout", "Fan-out"}, {"latency", "Latency (paced fan-out)"}} {
		gs := groupResults(rs, sc.name, ref)
		if len(gs) == 0 {
			continue
		}
		fmt.Fprintf(w, "## %s\n\n", sc.title)
		fmt.Fprintln(w, "| workload | target | delivered msg/s | × ref | lost | p50 µs | p99 µs | max µs | server CPU s | CPU ns/delivery | × ref | server RSS | client CPU s |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, g := range gs {
			rf := refOf(g, ref)
			for i, r := range g.rows {
				key := ""
				if i == 0 {
					key = g.key
				}
				var rps, rcpu float64
				if rf != nil {
					rps, rcpu = rf.PerSec, rf.CPUNsPerMsg
				}
				fmt.Fprintf(w, "| %s | %s | %.0f | %s | %d | %.0f | %.0f | %.0f | %.2f | %.0f | %s | %s | %.2f |\n",
					key, labelOf(&r), r.PerSec, ratio(r.PerSec, rps), r.Lost, r.P50us, r.P99us, r.MaxUs,
					r.ServerCPUs, r.CPUNsPerMsg, ratio(r.CPUNsPerMsg, rcpu), mib(r.RSSEnd), r.ClientCPUs)
			}
		}
		fmt.Fprintln(w)
	}
	if gs := groupResults(rs, "idle", ref); len(gs) > 0 {
		fmt.Fprintln(w, "## Idle connections")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | target | server RSS per conn | × ref | anon per conn | mapped files per conn | server CPU per connect µs | RSS before → after |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
		for _, g := range gs {
			rf := refOf(g, ref)
			for i, r := range g.rows {
				key := ""
				if i == 0 {
					key = g.key
				}
				var rr float64
				if rf != nil {
					rr = rf.RSSPerConn
				}
				fmt.Fprintf(w, "| %s | %s | %.0f B | %s | %.0f B | %.0f B | %.0f | %s → %s |\n", key, labelOf(&r),
					r.RSSPerConn, ratio(r.RSSPerConn, rr), r.AnonPerConn, r.FilePerConn, r.CPUNsPerMsg/1e3, mib(r.RSSStart), mib(r.RSSEnd))
			}
		}
		fmt.Fprintln(w)
	}
	if gs := groupResults(rs, "dm", ref); len(gs) > 0 {
		fmt.Fprintln(w, "## Durable direct messages to offline users")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | target | acked msg/s | × ref | lost | errors | ack p50 µs | ack p99 µs | server CPU s | CPU ns/ack | × ref |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, g := range gs {
			rf := refOf(g, ref)
			for i, r := range g.rows {
				key := ""
				if i == 0 {
					key = g.key
				}
				var rps, rcpu float64
				if rf != nil {
					rps, rcpu = rf.PerSec, rf.CPUNsPerMsg
				}
				fmt.Fprintf(w, "| %s | %s | %.0f | %s | %d | %d | %.0f | %.0f | %.2f | %.0f | %s |\n", key, labelOf(&r),
					r.PerSec, ratio(r.PerSec, rps), r.Lost, r.Errors, r.P50us, r.P99us, r.ServerCPUs, r.CPUNsPerMsg, ratio(r.CPUNsPerMsg, rcpu))
			}
		}
		fmt.Fprintln(w)
	}
	writeGoals(w, rs, ref)
	var runNotes []string
	for _, r := range rs {
		if r.Note != "" {
			runNotes = append(runNotes, fmt.Sprintf("- %s: %s", r.Line()[:strings.IndexByte(r.Line(), ':')], r.Note))
		}
	}
	if len(runNotes) > 0 {
		fmt.Fprintf(w, "## Run notes\n\n%s\n", strings.Join(runNotes, "\n"))
	}
}

func labelOf(r *Result) string {
	if r.Label == r.Target {
		return r.Label
	}
	return fmt.Sprintf("%s (%s)", r.Label, r.Target)
}

// writeGoals checks the goals against the table.
func writeGoals(w io.Writer, rs []Result, ref string) {
	fmt.Fprintln(w, "## Goals")
	fmt.Fprintln(w)
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	for _, g := range groupResults(rs, "fanout", ref) {
		rf := refOf(g, ref)
		if rf == nil || len(g.rows) < 2 {
			continue
		}
		below := true
		var worst []string
		for _, r := range g.rows[1:] {
			if r.Target == "native" || r.Target == "line" {
				continue
			}
			if rf.CPUNsPerMsg >= r.CPUNsPerMsg {
				below = false
				worst = append(worst, fmt.Sprintf("%s %.0f ns", r.Label, r.CPUNsPerMsg))
			}
		}
		fmt.Fprintf(w, "- %s: padchatd %.0f ns CPU/delivery; below every peer: %s%s; ≤ 200 ns: %s\n", g.key, rf.CPUNsPerMsg,
			mark(below), strings.Join(append([]string{""}, worst...), ", not below "), mark(rf.CPUNsPerMsg <= 200))
	}
	for _, g := range groupResults(rs, "idle", ref) {
		if rf := refOf(g, ref); rf != nil {
			fmt.Fprintf(w, "- %s: padchatd %.0f B RSS per idle connection (anon %.0f B); ≤ 1 KiB: %s\n", g.key, rf.RSSPerConn, rf.AnonPerConn, mark(rf.RSSPerConn <= 1024))
		}
	}
	for _, g := range groupResults(rs, "latency", ref) {
		if rf := refOf(g, ref); rf != nil && rf.Subs == 100 && rf.Rate*float64(rf.Pubs) == 1000 {
			fmt.Fprintf(w, "- %s: padchatd p99 %.0f µs; under 1 ms: %s\n", g.key, rf.P99us, mark(rf.P99us < 1000 && rf.Lost == 0))
		}
	}
	fmt.Fprintln(w)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// medianOf is runs[0] with every measured figure replaced by its median over
// the runs, except lost and errors: the worst run's, so no loss is hidden.
func medianOf(runs []Result) Result {
	r := runs[len(runs)-1]
	if len(runs) == 1 {
		return r
	}
	med := func(get func(*Result) float64) float64 {
		v := make([]float64, len(runs))
		for i := range runs {
			v[i] = get(&runs[i])
		}
		sort.Float64s(v)
		if len(v)%2 == 0 {
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return v[len(v)/2]
	}
	r.PerSec = med(func(x *Result) float64 { return x.PerSec })
	r.Seconds = med(func(x *Result) float64 { return x.Seconds })
	r.P50us = med(func(x *Result) float64 { return x.P50us })
	r.P99us = med(func(x *Result) float64 { return x.P99us })
	r.MaxUs = med(func(x *Result) float64 { return x.MaxUs })
	r.ServerCPUs = med(func(x *Result) float64 { return x.ServerCPUs })
	r.CPUNsPerMsg = med(func(x *Result) float64 { return x.CPUNsPerMsg })
	r.ClientCPUs = med(func(x *Result) float64 { return x.ClientCPUs })
	r.RSSPerConn = med(func(x *Result) float64 { return x.RSSPerConn })
	r.AnonPerConn = med(func(x *Result) float64 { return x.AnonPerConn })
	r.FilePerConn = med(func(x *Result) float64 { return x.FilePerConn })
	r.RSSEnd = int64(med(func(x *Result) float64 { return float64(x.RSSEnd) }))
	for _, x := range runs {
		r.Lost, r.Errors = max(r.Lost, x.Lost), max(r.Errors, x.Errors)
	}
	return r
}
