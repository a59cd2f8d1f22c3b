package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStampRoundTrip(t *testing.T) {
	b := newPayload(100)
	stamp(b, 123456789012, 42, 7)
	sent, seq, pub, ok := parseStamp(b)
	require.True(t, ok)
	assert.Equal(t, int64(123456789012), sent)
	assert.Equal(t, uint32(42), seq)
	assert.Equal(t, 7, pub)
	_, _, _, ok = parseStamp(b[:payloadHeader-1])
	assert.False(t, ok)
	_, _, _, ok = parseStamp([]byte("Tzzzzzzzzzzzzzzzzzzzzzzzzzzzzz."))
	assert.False(t, ok)
}

func TestHistogram(t *testing.T) {
	var h histogram
	for v := int64(1); v <= 100000; v++ {
		h.record(v * 1000) // 1 µs … 100 ms
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(tc.q)
		assert.InEpsilon(t, float64(tc.want), float64(got), 0.02, "q=%v", tc.q)
	}
	var other histogram
	other.record(int64(time.Second))
	h.merge(&other)
	assert.Equal(t, time.Second, h.quantile(1))
	for v := int64(0); v < 1<<40; v = v*3 + 1 {
		mid := bucketMid(bucketOf(v))
		assert.InEpsilon(t, float64(v)+1, float64(mid)+1, 0.02, "v=%d", v)
	}
}

func TestSampleProcAndPidListening(t *testing.T) {
	s, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, s.RSS)
	assert.Positive(t, s.RSSAnon)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	pid, err := pidListening(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), pid)
}

func TestReportAndChart(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	for _, r := range []Result{
		{Scenario: "fanout", Target: "native", Label: "native", Subs: 10, Pubs: 4, Msgs: 100, Size: 100, Window: 256, PerSec: 1e6, CPUNsPerMsg: 100},
		{Scenario: "fanout", Target: "redis", Label: "redis", Subs: 10, Pubs: 4, Msgs: 100, Size: 100, Window: 256, PerSec: 5e5, CPUNsPerMsg: 300},
		{Scenario: "fanout", Target: "native", Label: "native", Subs: 100, Pubs: 4, Msgs: 10, Size: 100, Window: 256, PerSec: 2e6, CPUNsPerMsg: 150},
		{Scenario: "fanout", Target: "redis", Label: "redis", Subs: 100, Pubs: 4, Msgs: 10, Size: 100, Window: 256, PerSec: 1e6, CPUNsPerMsg: 100},
		{Scenario: "fanout", Target: "native", Label: "native", Subs: 200, Pubs: 4, Msgs: 10, Size: 100, PerSec: 2e6, CPUNsPerMsg: 180, PadPerMsg: 132.5, P99us: 777777},
		{Scenario: "fanout", Target: "line", Label: "line", Subs: 200, Pubs: 4, Msgs: 10, Size: 100, PerSec: 2e6, CPUNsPerMsg: 160},
		{Scenario: "fanout", Target: "redis", Label: "redis", Subs: 200, Pubs: 4, Msgs: 10, Size: 100, PerSec: 3e6, CPUNsPerMsg: 250},
		{Scenario: "fanout", Target: "native", Label: "native", Subs: 10, Pubs: 4, Msgs: 10, Size: 100, PerSec: 2e6, CPUNsPerMsg: 190},
		{Scenario: "fanout", Target: "redis", Label: "redis", Subs: 10, Pubs: 4, Msgs: 10, Size: 100, PerSec: 2e6, CPUNsPerMsg: 180},
		{Scenario: "idle", Target: "native", Label: "native", Conns: 1000, RSSPerConn: 900},
		{Scenario: "latency", Target: "native", Label: "native", Subs: 100, Pubs: 1, Rate: 1000, Msgs: 5, Size: 100, P99us: 800},
		{Scenario: "latency", Target: "redis", Label: "redis", Subs: 100, Pubs: 1, Rate: 1000, Msgs: 5, Size: 100, P99us: 900},
		{Scenario: "dm", Target: "native", Label: "native", Pubs: 4, Msgs: 10, Size: 100, Recipients: 10, Window: 128, PerSec: 5e4},
		{Scenario: "dm", Target: "redis", Label: "redis", Pubs: 4, Msgs: 10, Size: 100, Recipients: 10, Window: 128, PerSec: 1e5},
	} {
		require.NoError(t, r.Append(in))
	}
	md, svg := filepath.Join(dir, "r.md"), filepath.Join(dir, "r.svg")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"report", "--in", in, "--md", md, "--svg", svg}, nil, &out, &out))
	b, err := os.ReadFile(md)
	require.NoError(t, err)
	report := string(b)
	assert.Contains(t, report, "| redis | 500000 | 0.50 |") // throughput ratio
	assert.Contains(t, report, "| 300 | 3.00 |")            // CPU ratio
	assert.Contains(t, report, "window 256: native 100.0 ns CPU/delivery; below every peer: met")
	assert.Contains(t, report, "window 256: native 150.0 ns CPU/delivery; below every peer: **not met** (not below redis 100.0 ns)")
	assert.Contains(t, report, "≤ 1 KiB: met")
	assert.Contains(t, report, "p99 800 µs ≤ Redis's 900 µs: met")
	assert.Contains(t, report, "50000 acked/s ≥ Redis (appendfsync always) 100000: **not met**")
	// Flood: its own table, no latency columns, the pad column, and its goals.
	assert.Contains(t, report, "## Fan-out, flood")
	assert.NotContains(t, report, "777777")
	assert.Contains(t, report, "| 132.5 |")
	assert.Contains(t, report, "flood: native 180.0 ns CPU/delivery; below every peer: met; ≤ 200 ns: met")
	assert.Contains(t, report, "delivered msg/s 2000000 ≥ Redis's 3000000: **not met**")
	assert.Contains(t, report, "plain listener (line) 160.0 ns ≤ 150 ns: **not met**")
	assert.Contains(t, report, "pad 132.5 B per delivered 100-byte message ≤ 140 B: met")
	// Under 100 subscribers flood has no goal: the line says so and no "not met".
	assert.Contains(t, report, "native 190.0 ns CPU/delivery; below every peer (no goal under 100 subscribers): no (not below redis 180.0 ns)")
	chart, err := os.ReadFile(svg)
	require.NoError(t, err)
	d := xml.NewDecoder(bytes.NewReader(chart))
	for {
		_, err := d.Token()
		if err != nil {
			assert.Equal(t, "EOF", err.Error(), "chart is not well-formed XML")
			break
		}
	}
	// The chart draws the flood runs when there are any: native, line and redis, one point each, in two panels.
	assert.Equal(t, 6, strings.Count(string(chart), "<polyline"))
}

func TestFlagErrors(t *testing.T) {
	var out bytes.Buffer
	ctx := context.Background()
	assert.Error(t, run(ctx, []string{"fanout", "--size", "10"}, nil, &out, &out))
	assert.Error(t, run(ctx, []string{"fanout", "--target", "smtp"}, nil, &out, &out))
	assert.Error(t, run(ctx, []string{"fanout", "--target", "native", "--addr", "127.0.0.1:1"}, nil, &out, &out))
	assert.Error(t, run(ctx, []string{"nope"}, nil, &out, &out))
	assert.NoError(t, run(ctx, nil, nil, &out, &out))
}

// TestScenariosNative runs every scenario against a real padchatd, small.
func TestScenariosNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts padchatd")
	}
	bin := filepath.Join(t.TempDir(), "padchatd")
	build := exec.Command("go", "build", "-o", bin, "../padchatd")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	results := filepath.Join(t.TempDir(), "r.jsonl")
	for _, args := range [][]string{
		{"fanout", "--subs", "3", "--pubs", "2", "--msgs", "50"},
		{"fanout", "--subs", "3", "--pubs", "2", "--msgs", "50", "--flood"},
		{"latency", "--subs", "3", "--pubs", "1", "--msgs", "20", "--rate", "500"},
		{"idle", "--conns", "5", "--settle", "10ms"},
		{"dm", "--pubs", "2", "--msgs", "20", "--recipients", "2"},
	} {
		t.Run(args[0], func(t *testing.T) {
			var out, errs bytes.Buffer
			args = append(args, "--target", "native", "--padchatd", bin, "--tmp", t.TempDir(), "--json", results, "--strict", "--quiet")
			require.NoError(t, run(context.Background(), args, nil, &out, &errs), errs.String())
			assert.Contains(t, out.String(), args[0]+" native:")
		})
	}
	rs, err := readResults(results)
	require.NoError(t, err)
	require.Len(t, rs, 5)
	assert.Equal(t, int64(300), rs[0].Delivered)
	assert.Equal(t, int64(300), rs[1].Delivered)
	assert.Equal(t, 0, rs[1].Window, "flood")
	// Each delivery costs the pad of one sealed message at least: a frame header and tag (32+16) plus the text.
	assert.Greater(t, rs[1].PadPerMsg, 100.0)
	assert.Less(t, rs[1].PadPerMsg, 400.0)
	assert.Equal(t, int64(60), rs[2].Delivered)
	// A message's first receipt is no later than any of its receipts.
	assert.Positive(t, rs[2].FirstP50us, "paced: first receipt measured")
	assert.LessOrEqual(t, rs[2].FirstP50us, rs[2].P50us*1.02)
	assert.Zero(t, rs[0].FirstP50us, "unpaced runs keep no per-message receipts")
	assert.Equal(t, int64(5), rs[3].Delivered)
	assert.Equal(t, int64(40), rs[4].Delivered)
	for _, r := range rs {
		assert.Zero(t, r.Lost, r.Scenario)
		assert.Positive(t, r.RSSEnd, r.Scenario)
	}
}

func TestReceiptsFirstAndSpread(t *testing.T) {
	r := newReceipts(2, 10)
	// Message 3 of publisher 1 reaches three subscribers at 500, 200, 900 µs;
	// message 4 of publisher 0 one subscriber at 300 µs.
	for _, lat := range []int64{500e3, 200e3, 900e3} {
		r.record(1, 3, lat)
	}
	r.record(0, 4, 300e3)
	r.record(0, 11, 1) // past the run's messages: ignored
	r.record(-1, 1, 1) // not a publisher: ignored
	f50, f99, s50, s99 := r.quantiles()
	assert.InDelta(t, 200e3, float64(f50), 200e3*0.02, "first receipts 200 and 300 µs")
	assert.InDelta(t, 300e3, float64(f99), 300e3*0.02)
	assert.InDelta(t, 0, float64(s50), 1, "one receipt: no spread")
	assert.InDelta(t, 700e3, float64(s99), 700e3*0.02, "900 - 200 µs")
	var none *receipts
	none.record(0, 1, 5)
	f50, _, _, _ = none.quantiles()
	assert.Zero(t, f50)
}

func TestMedianOfRepeats(t *testing.T) {
	runs := []Result{
		{PerSec: 100, CPUNsPerMsg: 900, P99us: 5, Lost: 0, NodeCPUNs: []float64{400, 500}},
		{PerSec: 300, CPUNsPerMsg: 500, P99us: 1, Lost: 7, NodeCPUNs: []float64{200, 300}},
		{PerSec: 200, CPUNsPerMsg: 700, P99us: 9, Lost: 0, NodeCPUNs: []float64{300, 400}},
	}
	m := medianOf(runs)
	assert.Equal(t, []float64{300, 400}, m.NodeCPUNs, "each node's median")
	var goals strings.Builder
	writeGoals(&goals, []Result{{Scenario: "fanout", Target: "native", Label: "native", Subs: 200, Pubs: 4, Msgs: 10, Size: 100, CPUNsPerMsg: 300}}, "native")
	assert.Contains(t, goals.String(), "below every peer: no peer in this run", "no peer is not a win")
	var b strings.Builder
	for i := range runs {
		runs[i].Scenario, runs[i].Target, runs[i].Label, runs[i].Subs, runs[i].Nodes = "fanout", "native", "native", 200, 2
	}
	writeCluster(&b, []Result{medianOf(runs)}, "native")
	assert.Contains(t, b.String(), "| 300 / 400 |", "the per-node column")
	assert.Equal(t, 200.0, m.PerSec)
	assert.Equal(t, 700.0, m.CPUNsPerMsg)
	assert.Equal(t, 5.0, m.P99us)
	assert.Equal(t, int64(7), m.Lost, "the worst run's losses are kept")
}
