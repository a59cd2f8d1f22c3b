// The chart subcommand: an SVG, drawn by hand, of fan-out throughput and CPU per delivery against subscribers.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

func runChart(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("padchat-bench chart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "results file (JSON lines from --json)")
	out := fs.String("svg", "", "write the SVG here (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("chart: --in is required")
	}
	rs, err := readResults(*in)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = io.WriteString(stdout, chartSVG(rs))
		return err
	}
	return writeChart(*out, rs)
}

func writeChart(path string, rs []Result) error {
	return os.WriteFile(path, []byte(chartSVG(rs)), 0o644)
}

// series is one label's points, by subscriber count.
type series struct {
	label  string
	target string
	pts    map[int]Result
}

var palette = map[string]string{"native": "#d62728", "line": "#ff7f0e", "irc": "#1f77b4", "redis": "#2ca02c", "nats": "#9467bd"}

// chartSeries takes the unpaced fan-out runs, one per label and subscriber
// count (the median when repeated): the flood runs (no window) when there
// are any, else the windowed ones.
func chartSeries(rs []Result) ([]series, []int) {
	var ss []series
	subsSet := map[int]bool{}
	flood := false
	for _, r := range rs {
		flood = flood || (r.Scenario == "fanout" && r.Rate == 0 && r.Window == 0)
	}
	for _, g := range groupResults(rs, "fanout", "native") {
		for _, r := range g.rows {
			if r.Rate > 0 || r.PerSec == 0 || (r.Window == 0) != flood {
				continue
			}
			var s *series
			for i := range ss {
				if ss[i].label == r.Label {
					s = &ss[i]
				}
			}
			if s == nil {
				ss = append(ss, series{label: r.Label, target: r.Target, pts: map[int]Result{}})
				s = &ss[len(ss)-1]
			}
			s.pts[r.Subs] = r
			subsSet[r.Subs] = true
		}
	}
	var subs []int
	for n := range subsSet {
		subs = append(subs, n)
	}
	sort.Ints(subs)
	sort.SliceStable(ss, func(i, j int) bool { return targetOrder[ss[i].target] < targetOrder[ss[j].target] })
	return ss, subs
}

const (
	panelW, panelH = 430, 300
	marginL        = 70
	marginB        = 45
	marginT        = 35
)

func chartSVG(rs []Result) string {
	ss, subs := chartSeries(rs)
	var b strings.Builder
	width, height := 2*panelW+20, panelH+60
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	if len(subs) == 0 {
		b.WriteString(`<text x="20" y="30">no flood fan-out results</text></svg>` + "\n")
		return b.String()
	}
	panel(&b, 0, "delivered messages per second", ss, subs, func(r Result) float64 { return r.PerSec }, siFormat)
	panel(&b, panelW+20, "server CPU ns per delivered message", ss, subs, func(r Result) float64 { return r.CPUNsPerMsg },
		func(v float64) string { return fmt.Sprintf("%.0f", v) })
	// Legend along the bottom.
	x := marginL
	for i, s := range ss {
		c := colorOf(s, i)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`, x, height-15, x+20, height-15, c)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+25, height-11, xmlEscape(s.label))
		x += 40 + 8*len(s.label)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func colorOf(s series, i int) string {
	if c, ok := palette[s.label]; ok {
		return c
	}
	if c, ok := palette[s.target]; ok && i < 5 {
		// A second run of the same target (e.g. padchatd on tmpfs): same hue, dashed below.
		return c
	}
	return []string{"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}[i%5]
}

// panel draws one plot at horizontal offset ox: log x (subscribers), linear y from 0.
func panel(b *strings.Builder, ox int, title string, ss []series, subs []int, val func(Result) float64, yfmt func(float64) string) {
	ymax := 0.0
	for _, s := range ss {
		for _, r := range s.pts {
			ymax = max(ymax, val(r))
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	ymax = niceCeil(ymax * 1.05)
	plotW, plotH := panelW-marginL-15, panelH-marginT-marginB
	x0, y0 := ox+marginL, marginT+plotH
	lo, hi := math.Log10(float64(subs[0])), math.Log10(float64(subs[len(subs)-1]))
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	xOf := func(n int) float64 { return float64(x0) + (math.Log10(float64(n))-lo)/(hi-lo)*float64(plotW) }
	yOf := func(v float64) float64 { return float64(y0) - v/ymax*float64(plotH) }
	fmt.Fprintf(b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", x0, title)
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := yOf(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, x0, y, x0+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, yfmt(v))
	}
	for _, n := range subs {
		x := xOf(n)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`, x, marginT, x, y0)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x, y0+16, n)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">subscribers (log scale)</text>`+"\n", x0+plotW/2, y0+34)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", x0, marginT, plotW, plotH)
	for i, s := range ss {
		c := colorOf(s, i)
		dash := ""
		if _, own := palette[s.label]; !own {
			dash = ` stroke-dasharray="6,4"`
		}
		var pts []string
		for _, n := range subs {
			if r, ok := s.pts[n]; ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(n), yOf(val(r))))
			}
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), c, dash)
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], c)
		}
		b.WriteString("\n")
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func siFormat(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
