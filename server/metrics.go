// Metrics: plain counters owned by the loop, published once per tick as an immutable snapshot.
package server

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"time"
)

// counters are touched only by the loop goroutine: no atomics in the hot path.
type counters struct {
	accepted   uint64
	msgsIn     uint64
	msgsOut    uint64
	bytesIn    uint64
	bytesOut   uint64
	closed     [numReasons]uint64
	commits    uint64
	commitNs   uint64 // sum of commit durations
	lastCommit time.Duration
}

// Snapshot is what /metrics and /healthz read, from any goroutine.
type Snapshot struct {
	Time     time.Time
	Conns    int
	Rooms    int
	Online   int
	C        counters
	PadLeft  []PadLeft // users whose pads were opened this run, in no order
	Draining bool
}

func (l *Loop) publish() {
	s := &Snapshot{Time: time.Unix(0, l.now), Conns: l.nconns, Rooms: len(l.hub.rooms),
		Online: len(l.hub.online) + len(l.hub.sessions), C: l.stats, PadLeft: l.hub.acct.padLeft()}
	st := l.hub.store
	s.C.lastCommit, s.C.commits, s.C.commitNs = st.lastSync, st.commits, st.commitNs
	l.snap.Store(s)
}

// PadLeft is one user's pad bytes left, [send, recv]. A slice of these, not
// a map: the snapshot is rebuilt every second with an entry per online user.
type PadLeft struct {
	User string
	Left [2]int64
}

// Metrics returns the latest snapshot (at most one housekeeping tick old).
func (l *Loop) Metrics() *Snapshot { return l.snap.Load() }

// WriteMetrics renders s in the Prometheus text format.
func WriteMetrics(w io.Writer, s *Snapshot) {
	g := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
	}
	c := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	g("padchat_connections", "Open client connections.", s.Conns)
	g("padchat_rooms", "Rooms that exist.", s.Rooms)
	g("padchat_online_users", "Users with a session.", s.Online)
	c("padchat_accepted_total", "Connections accepted.", s.C.accepted)
	c("padchat_messages_in_total", "Requests and messages received.", s.C.msgsIn)
	c("padchat_messages_out_total", "Events and replies sent.", s.C.msgsOut)
	c("padchat_bytes_in_total", "Bytes read from clients.", s.C.bytesIn)
	c("padchat_bytes_out_total", "Bytes written to clients.", s.C.bytesOut)
	c("padchat_store_commits_total", "Store transactions committed.", s.C.commits)
	fmt.Fprintf(w, "# HELP padchat_store_commit_seconds_sum Time spent committing.\n# TYPE padchat_store_commit_seconds_sum counter\npadchat_store_commit_seconds_sum %g\n",
		float64(s.C.commitNs)/1e9)
	g("padchat_store_last_commit_seconds", "Duration of the last commit.", s.C.lastCommit.Seconds())
	fmt.Fprintf(w, "# HELP padchat_closed_total Connections closed, by reason.\n# TYPE padchat_closed_total counter\n")
	for r, n := range s.C.closed {
		if n > 0 {
			fmt.Fprintf(w, "padchat_closed_total{reason=%q} %d\n", Reason(r).String(), n)
		}
	}
	pads := slices.Clone(s.PadLeft) // the snapshot is shared: sort a copy
	sort.Slice(pads, func(i, j int) bool { return pads[i].User < pads[j].User })
	fmt.Fprintf(w, "# HELP padchat_pad_bytes_left Pad bytes left per user and direction.\n# TYPE padchat_pad_bytes_left gauge\n")
	for _, p := range pads {
		fmt.Fprintf(w, "padchat_pad_bytes_left{user=%q,direction=\"send\"} %d\n", p.User, p.Left[0])
		fmt.Fprintf(w, "padchat_pad_bytes_left{user=%q,direction=\"recv\"} %d\n", p.User, p.Left[1])
	}
}

// serveHealth answers 200 while the loop keeps publishing, 503 once it has
// missed three housekeeping ticks (stuck in a syscall or a bug).
func (l *Loop) serveHealth(w http.ResponseWriter, _ *http.Request) {
	age := time.Since(l.Metrics().Time)
	if age > 3*housekeeping {
		http.Error(w, fmt.Sprintf("event loop stalled for %v\n", age.Round(time.Millisecond)), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (l *Loop) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	WriteMetrics(w, l.Metrics())
	fmt.Fprintf(w, "# HELP go_goroutines Goroutines of the daemon (the loop, signals, HTTP).\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
}
