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
	pace := fmt.Sprintf("window %d", r.Window)
	switch {
	case r.Rate > 0:
		pace = fmt.Sprintf("%.0f msg/s per publisher", r.Rate)
	case r.Window == 0:
		pace = "flood"
	}
	return fmt.Sprintf("%s %d subs, %d pubs × %d msgs of %d B, %s", r.Scenario, r.Subs, r.Pubs, r.Msgs, r.Size, pace)
}

var targetOrder = map[string]int{"native": 0, "line": 1, "irc": 2, "redis": 3, "nats": 4}

// groupResults keeps, per workload and label, the median of the repeated runs
// (repeats smooth a noisy machine), reference label first.
func groupResults(rs []Result, scenario, ref string) []group {
	return groupWhere(rs, scenario, ref, func(*Result) bool { return true })
}

// isFlood: unpaced fan-out without a window.
func isFlood(r *Result) bool { return r.Scenario == "fanout" && r.Rate == 0 && r.Window == 0 }

func groupWhere(rs []Result, scenario, ref string, keep func(*Result) bool) []group {
	byKey := map[string]map[string][]Result{}
	var keys []string
	for _, r := range rs {
		if r.Scenario != scenario || !keep(&r) {
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
	for _, sc := range []struct {
		name, title string
		keep        func(*Result) bool
	}{
		{"fanout", "Fan-out, flood (no window: publishers send as fast as the server reads)", isFlood},
		{"fanout", "Fan-out, windowed (publishers at most W messages ahead of the slowest subscriber)", func(r *Result) bool { return !isFlood(r) }},
		{"latency", "Latency (paced fan-out)", func(*Result) bool { return true }},
	} {
		if gs := groupWhere(rs, sc.name, ref, sc.keep); len(gs) > 0 {
			writeTable(w, sc.title, fanoutCols, gs, ref, fanoutCells)
		}
	}
	if gs := groupWhere(rs, "latency", ref, func(r *Result) bool { return r.FirstP50us > 0 }); len(gs) > 0 {
		writeTable(w, "Latency, per message: first receipt and fan-out spread", []string{"first receipt p50 µs", "first receipt p99 µs",
			"spread p50 µs", "spread p99 µs", "p99 µs"}, gs, ref, func(r, rf *Result) string {
			return fmt.Sprintf("%.0f | %.0f | %.0f | %.0f | %.0f", r.FirstP50us, r.FirstP99us, r.SpreadP50us, r.SpreadP99us, r.P99us)
		})
		fmt.Fprintf(w, "First receipt: publisher's send to the earliest subscriber's receipt of a message (the server's wake-up, "+
			"any wait behind the previous fan-out, its work before the first write). Spread: that to the last subscriber's receipt.\n\n")
	}
	if gs := groupResults(rs, "idle", ref); len(gs) > 0 {
		writeTable(w, "Idle connections", []string{"server RSS per conn", "× ref", "anon per conn", "mapped files per conn",
			"after warm-up: RSS per conn", "after warm-up: anon", "server CPU per connect µs", "RSS before → after"}, gs, ref, func(r, rf *Result) string {
			return fmt.Sprintf("%.0f B | %s | %.0f B | %.0f B | %.0f B | %.0f B | %.0f | %s → %s", r.RSSPerConn, ratio(r.RSSPerConn, rf.RSSPerConn),
				r.AnonPerConn, r.FilePerConn, r.WarmRSSPerConn, r.WarmAnonPerConn, r.CPUNsPerMsg/1e3, mib(r.RSSStart), mib(r.RSSEnd))
		})
		fmt.Fprintf(w, "Per conn: the growth from the server as started to it with every connection open, over all of them. "+
			"After warm-up: the growth from it with a few connections open (settled) over the rest. The gap is what the first "+
			"logins pay once, but the split understates the rest: a garbage-collected server's later connections reuse the "+
			"heap pages the warm-up's garbage left resident.\n\n")
	}
	if gs := groupResults(rs, "dm", ref); len(gs) > 0 {
		writeTable(w, "Durable direct messages to offline users", []string{"acked msg/s", "× ref", "lost", "errors",
			"ack p50 µs", "ack p99 µs", "server CPU s", "CPU ns/ack", "× ref"}, gs, ref, func(r, rf *Result) string {
			return fmt.Sprintf("%.0f | %s | %d | %d | %.0f | %.0f | %.3f | %.0f | %s", r.PerSec, ratio(r.PerSec, rf.PerSec),
				r.Lost, r.Errors, r.P50us, r.P99us, r.ServerCPUs, r.CPUNsPerMsg, ratio(r.CPUNsPerMsg, rf.CPUNsPerMsg))
		})
	}
	writeCluster(w, rs, ref)
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

var fanoutCols = []string{"delivered msg/s", "× ref", "lost", "p50 µs", "p99 µs", "max µs", "server CPU s",
	"CPU ns/delivery", "× ref", "pad B/delivery", "server RSS", "client CPU s"}

func fanoutCells(r, rf *Result) string {
	// A flood's latency is how long messages queue, set by the run's length: not shown.
	lat := fmt.Sprintf("%.0f | %.0f | %.0f", r.P50us, r.P99us, r.MaxUs)
	if isFlood(r) {
		lat = "– | – | –"
	}
	pad := "–"
	if r.PadPerMsg > 0 {
		pad = fmt.Sprintf("%.1f", r.PadPerMsg)
	}
	return fmt.Sprintf("%.0f | %s | %d | %s | %.3f | %.0f | %s | %s | %s | %.2f", r.PerSec, ratio(r.PerSec, rf.PerSec), r.Lost, lat,
		r.ServerCPUs, r.CPUNsPerMsg, ratio(r.CPUNsPerMsg, rf.CPUNsPerMsg), pad, mib(r.RSSEnd), r.ClientCPUs)
}

// writeTable writes one section of the report: a heading, the columns (workload
// and target, then figures aligned right) and a row per result, its workload
// named on the group's first row. cells gets each result and the group's
// reference result (a zero Result when the reference did not run the workload:
// ratio shows "–").
func writeTable(w io.Writer, title string, cols []string, gs []group, ref string, cells func(r, rf *Result) string) {
	fmt.Fprintf(w, "## %s\n\n", title)
	fmt.Fprintf(w, "| workload | target | %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, g := range gs {
		rf := refOf(g, ref)
		if rf == nil {
			rf = &Result{}
		}
		for i, r := range g.rows {
			key := ""
			if i == 0 {
				key = g.key
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", key, labelOf(&r), cells(&r, rf))
		}
	}
	fmt.Fprintln(w)
}

func labelOf(r *Result) string {
	if r.Label == r.Target {
		return r.Label
	}
	return fmt.Sprintf("%s (%s)", r.Label, r.Target)
}

// writeGoals checks issue 13's goals against the table, for the reference
// label (and the plain listener run beside it).
func writeGoals(w io.Writer, rs []Result, ref string) {
	fmt.Fprintln(w, "## Goals")
	fmt.Fprintln(w)
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	peer := func(r *Result) bool { return r.Target == "irc" || r.Target == "redis" || r.Target == "nats" }
	find := func(g group, label string) *Result {
		for i := range g.rows {
			if g.rows[i].Label == label {
				return &g.rows[i]
			}
		}
		return nil
	}
	// below says whether rf spends less CPU per delivery than every peer,
	// naming those it does not beat; with no peer in the group, it says so.
	// Where the issue sets no goal (goal false) it says yes or no.
	below := func(g group, rf *Result, goal bool) string {
		verdict := func(ok bool) string {
			switch {
			case goal:
				return mark(ok)
			case ok:
				return "yes"
			}
			return "no"
		}
		var worse []string
		peers := 0
		for _, r := range g.rows {
			if !peer(&r) {
				continue
			}
			peers++
			if rf.CPUNsPerMsg >= r.CPUNsPerMsg {
				worse = append(worse, fmt.Sprintf("%s %.1f ns", r.Label, r.CPUNsPerMsg))
			}
		}
		switch {
		case peers == 0:
			return "no peer in this run"
		case len(worse) == 0:
			return verdict(true)
		}
		return verdict(false) + " (not below " + strings.Join(worse, ", ") + ")"
	}
	plain := "line" + strings.TrimPrefix(ref, "native")
	for _, g := range groupWhere(rs, "fanout", ref, isFlood) {
		rf := refOf(g, ref)
		if rf == nil {
			continue
		}
		// The flood goal is at 100, 200 and 1,000 subscribers.
		if rf.Subs < 100 {
			fmt.Fprintf(w, "- %s: %s %.1f ns CPU/delivery; below every peer (no goal under 100 subscribers): %s", g.key, ref, rf.CPUNsPerMsg, below(g, rf, false))
		} else {
			fmt.Fprintf(w, "- %s: %s %.1f ns CPU/delivery; below every peer: %s", g.key, ref, rf.CPUNsPerMsg, below(g, rf, true))
		}
		if rf.Subs == 200 {
			fmt.Fprintf(w, "; ≤ 200 ns: %s", mark(rf.CPUNsPerMsg <= 200))
			if rd := find(g, "redis"); rd != nil {
				fmt.Fprintf(w, "; delivered msg/s %.0f ≥ Redis's %.0f: %s", rf.PerSec, rd.PerSec, mark(rf.PerSec >= rd.PerSec))
			}
			if pl := find(g, plain); pl != nil {
				fmt.Fprintf(w, "; plain listener (%s) %.1f ns ≤ 150 ns: %s", plain, pl.CPUNsPerMsg, mark(pl.CPUNsPerMsg <= 150))
			}
		}
		if rf.PadPerMsg > 0 {
			fmt.Fprintf(w, "; pad %.1f B per delivered %d-byte message ≤ 140 B: %s", rf.PadPerMsg, rf.Size, mark(rf.PadPerMsg <= 140))
		}
		fmt.Fprintln(w)
	}
	for _, g := range groupWhere(rs, "fanout", ref, func(r *Result) bool { return !isFlood(r) }) {
		if rf := refOf(g, ref); rf != nil {
			fmt.Fprintf(w, "- %s: %s %.1f ns CPU/delivery; below every peer: %s\n", g.key, ref, rf.CPUNsPerMsg, below(g, rf, true))
		}
	}
	for _, g := range groupResults(rs, "latency", ref) {
		rf := refOf(g, ref)
		if rf == nil || rf.Subs != 100 || rf.Rate*float64(rf.Pubs) != 1000 {
			continue
		}
		if rd := find(g, "redis"); rd != nil {
			fmt.Fprintf(w, "- %s: %s p99 %.0f µs ≤ Redis's %.0f µs: %s\n", g.key, ref, rf.P99us, rd.P99us, mark(rf.P99us <= rd.P99us && rf.Lost == 0))
		}
	}
	for _, g := range groupResults(rs, "dm", ref) {
		rf := refOf(g, ref)
		if rf == nil {
			continue
		}
		if rd := find(g, "redis"); rd != nil {
			fmt.Fprintf(w, "- %s: %s %.0f acked/s ≥ Redis (appendfsync always) %.0f: %s\n", g.key, ref, rf.PerSec, rd.PerSec, mark(rf.PerSec >= rd.PerSec && rf.Lost == 0))
		}
	}
	for _, g := range groupResults(rs, "idle", ref) {
		if rf := refOf(g, ref); rf != nil {
			fmt.Fprintf(w, "- %s: %s %.0f B RSS per idle connection (anon %.0f B); ≤ 1 KiB: %s\n", g.key, ref, rf.RSSPerConn, rf.AnonPerConn, mark(rf.RSSPerConn <= 1024))
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
	// measured names the figures that take the median, as pointers into x.
	measured := func(x *Result) []*float64 {
		return []*float64{&x.PerSec, &x.Seconds, &x.P50us, &x.P99us, &x.MaxUs, &x.ServerCPUs, &x.CPUNsPerMsg,
			&x.PadPerMsg, &x.ClientCPUs, &x.FirstP50us, &x.FirstP99us, &x.SpreadP50us, &x.SpreadP99us, &x.NATSCPUs, &x.RSSPerConn, &x.AnonPerConn, &x.FilePerConn,
			&x.WarmRSSPerConn, &x.WarmAnonPerConn}
	}
	median := func(get func(*Result) float64) float64 {
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
	for k, dst := range measured(&r) {
		*dst = median(func(x *Result) float64 { return *measured(x)[k] })
	}
	r.RSSEnd = int64(median(func(x *Result) float64 { return float64(x.RSSEnd) }))
	r.NodeCPUNs = nil
	for i := range runs[0].NodeCPUNs {
		r.NodeCPUNs = append(r.NodeCPUNs, median(func(x *Result) float64 {
			if i < len(x.NodeCPUNs) {
				return x.NodeCPUNs[i]
			}
			return 0
		}))
	}
	for _, x := range runs {
		r.Lost, r.Errors = max(r.Lost, x.Lost), max(r.Errors, x.Errors)
	}
	return r
}
