// Result: what one run measured, as a line for people and a JSON line for report and chart.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Result is one run. Durations are in the unit their name says.
type Result struct {
	Scenario string    `json:"scenario"`
	Target   string    `json:"target"`
	Label    string    `json:"label"`
	When     time.Time `json:"when"`

	Subs       int     `json:"subs,omitempty"`
	Pubs       int     `json:"pubs,omitempty"`
	Msgs       int     `json:"msgs,omitempty"`
	Size       int     `json:"size,omitempty"`
	Rate       float64 `json:"rate,omitempty"`
	Window     int     `json:"window,omitempty"`
	Conns      int     `json:"conns,omitempty"`
	Recipients int     `json:"recipients,omitempty"`

	Expected  int64   `json:"expected"`
	Delivered int64   `json:"delivered"` // fan-out: receipts; dm: acks; idle: connections
	Lost      int64   `json:"lost"`
	Errors    int64   `json:"errors,omitempty"` // error replies and dropped connections
	Seconds   float64 `json:"seconds"`
	PerSec    float64 `json:"per_sec"`

	P50us float64 `json:"p50_us,omitempty"`
	P99us float64 `json:"p99_us,omitempty"`
	MaxUs float64 `json:"max_us,omitempty"`
	// Paced runs, per message: the latency of its first receipt over all
	// subscribers, and the spread from its first receipt to its last.
	FirstP50us  float64 `json:"first_p50_us,omitempty"`
	FirstP99us  float64 `json:"first_p99_us,omitempty"`
	SpreadP50us float64 `json:"spread_p50_us,omitempty"`
	SpreadP99us float64 `json:"spread_p99_us,omitempty"`

	// PadPerMsg is native fan-out's server pad spent on the subscribers per delivered message, bytes.
	PadPerMsg float64 `json:"pad_per_msg,omitempty"`

	ServerCPUs  float64 `json:"server_cpu_s"`
	CPUNsPerMsg float64 `json:"cpu_ns_per_msg"`
	ClientCPUs  float64 `json:"client_cpu_s"`
	RSSStart    int64   `json:"rss_start"`
	RSSEnd      int64   `json:"rss_end"`
	AnonStart   int64   `json:"anon_start"`
	AnonEnd     int64   `json:"anon_end"`
	// Idle: growth per connection, from the server as started.
	RSSPerConn  float64 `json:"rss_per_conn,omitempty"`
	AnonPerConn float64 `json:"anon_per_conn,omitempty"`
	FilePerConn float64 `json:"file_per_conn,omitempty"`
	ServerFDs   int     `json:"server_fds,omitempty"` // descriptors the server held with every connection open
	// Idle from the sample after the Warm warm-up connections to the last,
	// over the connections added (idle.go: understated).
	Warm            int     `json:"warm,omitempty"`
	WarmRSSPerConn  float64 `json:"warm_rss_per_conn,omitempty"`
	WarmAnonPerConn float64 `json:"warm_anon_per_conn,omitempty"`

	// Files: pad spent per file byte by the sender's send pad and the
	// receiver's receive pad; the daemon's largest RSS growth during the transfer.
	FileSendPad    float64 `json:"file_send_pad,omitempty"`
	FileRecvPad    float64 `json:"file_recv_pad,omitempty"`
	PeakRSSGrowth  int64   `json:"peak_rss_growth,omitempty"`
	PeakAnonGrowth int64   `json:"peak_anon_growth,omitempty"`

	// Cluster fan-out (--nodes): the server figures above add up every
	// node; each node's CPU per delivery, and the NATS server's CPU, apart.
	Nodes     int       `json:"nodes,omitempty"`
	NATSCPUs  float64   `json:"nats_cpu_s,omitempty"`
	NodeCPUNs []float64 `json:"node_cpu_ns_per_msg,omitempty"`

	ProvisionS float64 `json:"provision_s,omitempty"`
	Note       string  `json:"note,omitempty"`
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// timing fills the rate and the latency quantiles: the measured phase ran from
// t0 to last, the clock time of the last measured receipt; h holds the latencies.
func (r *Result) timing(t0, last int64, h *histogram) {
	if last > t0 {
		r.Seconds = float64(last-t0) / 1e9
		r.PerSec = float64(r.Delivered) / r.Seconds
	}
	r.P50us, r.P99us, r.MaxUs = us(h.quantile(0.50)), us(h.quantile(0.99)), us(time.Duration(h.max))
}

// measure fills the server figures from two samples around the measured phase.
func (r *Result) measure(a, b procSample, client time.Duration) {
	r.ServerCPUs = (b.CPU - a.CPU).Seconds()
	if r.Delivered > 0 {
		r.CPUNsPerMsg = float64(b.CPU-a.CPU) / float64(r.Delivered)
	}
	r.ClientCPUs = client.Seconds()
	r.RSSStart, r.RSSEnd = a.RSS, b.RSS
	r.AnonStart, r.AnonEnd = a.RSSAnon, b.RSSAnon
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// Line is the one-line summary printed after a run.
func (r *Result) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s:", r.Scenario, r.Label)
	switch r.Scenario {
	case "idle":
		fmt.Fprintf(&b, " %d conns, RSS %+.0f B/conn (anon %+.0f, mapped %+.0f; after %d warm-up %+.0f, anon %+.0f), server CPU %.3fs (%.0f µs/conn), RSS %s→%s, server fds %d; %d answered after idling",
			r.Conns, r.RSSPerConn, r.AnonPerConn, r.FilePerConn, r.Warm, r.WarmRSSPerConn, r.WarmAnonPerConn, r.ServerCPUs, r.CPUNsPerMsg/1e3, mib(r.RSSStart), mib(r.RSSEnd), r.ServerFDs, r.Delivered)
	case "files":
		fmt.Fprintf(&b, " %s in %.2fs = %.0f MB/s, pad per file byte %.4f send %.4f receive, daemon peak growth RSS %s (anon %s), server CPU %.3fs, RSS %s→%s",
			mib(r.Delivered), r.Seconds, r.PerSec/1e6, r.FileSendPad, r.FileRecvPad, mib(r.PeakRSSGrowth), mib(r.PeakAnonGrowth), r.ServerCPUs, mib(r.RSSStart), mib(r.RSSEnd))
	default:
		what := "delivered"
		if r.Scenario == "dm" {
			what = "acked"
		}
		fmt.Fprintf(&b, " %s %d/%d in %.2fs = %.0f msg/s, lost %d, errors %d, latency p50 %.0fµs p99 %.0fµs max %.0fµs, server CPU %.3fs = %.0f ns/msg, client CPU %.2fs, RSS %s→%s",
			what, r.Delivered, r.Expected, r.Seconds, r.PerSec, r.Lost, r.Errors, r.P50us, r.P99us, r.MaxUs,
			r.ServerCPUs, r.CPUNsPerMsg, r.ClientCPUs, mib(r.RSSStart), mib(r.RSSEnd))
		if r.PadPerMsg > 0 {
			fmt.Fprintf(&b, ", pad %.1f B/delivery", r.PadPerMsg)
		}
		if r.FirstP50us > 0 {
			fmt.Fprintf(&b, ", first receipt p50 %.0fµs p99 %.0fµs, spread p50 %.0fµs p99 %.0fµs",
				r.FirstP50us, r.FirstP99us, r.SpreadP50us, r.SpreadP99us)
		}
		if r.Nodes > 0 {
			fmt.Fprintf(&b, ", %d nodes (server CPU is their sum), NATS CPU %.3fs", r.Nodes, r.NATSCPUs)
		}
	}
	if r.ProvisionS >= 0.05 {
		fmt.Fprintf(&b, " (provisioning %.1fs, not measured)", r.ProvisionS)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, " [%s]", r.Note)
	}
	return b.String()
}

// Append adds r as one JSON line to path.
func (r *Result) Append(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(r)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
