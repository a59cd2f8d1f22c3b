// Subcommands and their flags: one flag set shared by every scenario, defaults per scenario.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"padchat/internal/benchpeer"
	"padchat/internal/bytesize"
)

const usage = `usage: padchat-bench <scenario|report|chart> [flags]

scenarios (each starts the target server itself unless --addr is given):
  fanout    S subscribers in one room, P publishers × M messages of B bytes
  latency   paced fan-out (defaults: 100 subscribers, 1 publisher at 1000 msg/s)
  idle      hold N authenticated idle connections; server RSS per connection
  dm        durable direct messages to offline users; acknowledgements per second
  files     one --file-size file fa → fb: MB/s, pad per file byte, daemon RSS growth (--file-rate: slow reader)
results:
  report    --in results.jsonl --md out.md [--svg out.svg]: table with ratios to padchatd
  chart     --in results.jsonl --svg out.svg: throughput and CPU ns/delivery vs subscribers

run 'padchat-bench <scenario> -h' for the flags.
`

// options are the flags of every scenario.
type options struct {
	scenario string
	target   string
	addr     string
	pid      int
	dataDir  string

	padchatd, ngircd, redisServer, natsServer string
	confDir                                   string
	serverArgs                                multiFlag
	padReserve                                string
	tmpDir                                    string
	padDir                                    string
	strict                                    bool
	keep                                      bool

	jsonOut string
	label   string
	timeout time.Duration
	stall   time.Duration
	quiet   bool
	perfOut string
	room    string
	dialers int

	subs, pubs, msgs, size int
	nodes                  int // native: padchatd nodes over NATS (cluster.go); 0: one standalone
	rate                   float64
	window                 int
	conns                  int
	warm                   int
	recipients             int
	settle                 time.Duration
	fileSize               int64   // files; fan-out: a file sent beside the run (0: none)
	fileRate               float64 // bytes per second the file's reader takes (0: all it can)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "report":
		return runReport(args[1:], stdout, stderr)
	case "chart":
		return runChart(args[1:], stdout, stderr)
	case "fanout", "latency", "idle", "dm", "files":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	o, err := parseScenario(args[0], args[1:], stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var r *Result
	switch o.scenario {
	case "fanout", "latency":
		r, err = runFanout(ctx, o, stderr)
	case "idle":
		r, err = runIdle(ctx, o, stderr)
	case "dm":
		r, err = runDM(ctx, o, stderr)
	case "files":
		r, err = runFiles(ctx, o, stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Line())
	if o.jsonOut != "" {
		if err := r.Append(o.jsonOut); err != nil {
			return err
		}
	}
	if o.strict && (r.Lost != 0 || r.Errors != 0 || r.Delivered != r.Expected) {
		return fmt.Errorf("--strict: %d of %d delivered, %d lost, %d errors", r.Delivered, r.Expected, r.Lost, r.Errors)
	}
	return nil
}

func parseScenario(name string, args []string, stderr io.Writer) (*options, error) {
	o := &options{scenario: name}
	fs := flag.NewFlagSet("padchat-bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.target, "target", "native", "server to measure: "+strings.Join(benchpeer.Targets, ", "))
	fs.StringVar(&o.addr, "addr", "", "use a running server at host:port instead of starting one")
	fs.IntVar(&o.pid, "server-pid", 0, "pid of the --addr server for CPU and RSS (default: found by its listening port)")
	fs.StringVar(&o.dataDir, "data", "", "native with --addr: the server's data dir, where bench users are provisioned")
	fs.StringVar(&o.padchatd, "padchatd", "bin/padchatd", "padchatd binary to start")
	fs.StringVar(&o.ngircd, "ngircd", "ngircd", "ngircd binary to start")
	fs.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary to start")
	fs.StringVar(&o.natsServer, "nats-server", "nats-server", "nats-server binary to start")
	fs.StringVar(&o.confDir, "conf", "bench", "directory of ngircd.conf, redis.conf and nats.conf")
	fs.Var(&o.serverArgs, "server-arg", "extra argument for the started server (repeatable)")
	fs.StringVar(&o.padReserve, "pad-reserve", "", "padchatd --pad-reserve (default: the largest pad, one reservation per run)")
	fs.StringVar(&o.tmpDir, "tmp", "", "where the started server's data dir goes (default $TMPDIR)")
	fs.StringVar(&o.padDir, "pad-dir", "", "native: provision the users' pads here (e.g. /dev/shm) and link them into the data dir; the store stays in --tmp")
	fs.BoolVar(&o.strict, "strict", false, "fail when a message is lost or an error is seen (for CI)")
	fs.BoolVar(&o.keep, "keep", false, "keep the started server's data dir and log")
	fs.StringVar(&o.jsonOut, "json", "", "append the result as one JSON line to this file")
	fs.StringVar(&o.label, "label", "", "label of this run in reports (default: the target)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "stop publishing after this long")
	fs.DurationVar(&o.stall, "stall", 5*time.Second, "end the run after this long without progress; the rest is lost")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.StringVar(&o.perfOut, "perf", "", "record the server with `perf record -g` during the measured phase into this file")
	fs.StringVar(&o.room, "room", "bench", "room, channel or subject")
	fs.IntVar(&o.dialers, "dialers", 32, "connections opened at once during setup")
	fs.IntVar(&o.nodes, "nodes", 0, "native: run this many padchatd nodes over one NATS server (--nats-server, JetStream), connections spread over them; 0: one standalone padchatd")

	// Scenario defaults.
	subs, pubs, msgs, rate, window := 10, 2, 1000, 0.0, 256
	switch name {
	case "latency":
		subs, pubs, msgs, rate = 100, 1, 5000, 1000
	case "dm":
		pubs, msgs, window = 4, 2000, 128
	}
	fs.IntVar(&o.subs, "subs", subs, "subscribers")
	fs.IntVar(&o.pubs, "pubs", pubs, "publishers (dm: senders)")
	fs.IntVar(&o.msgs, "msgs", msgs, "messages per publisher")
	fs.IntVar(&o.size, "size", 100, "message bytes (at least 32)")
	fs.Float64Var(&o.rate, "rate", rate, "messages per second per publisher; 0 = as fast as the window allows")
	fs.IntVar(&o.window, "window", window, "fan-out: messages a subscriber may lag behind, 0 = flood (no window); dm: unacknowledged per sender")
	flood := fs.Bool("flood", false, "fan-out: same as --window 0")
	fs.IntVar(&o.conns, "conns", 1000, "idle: connections to hold")
	fs.IntVar(&o.warm, "warm", 32, "idle: connections opened before the baseline sample, so what the first logins pay once is not counted per connection (also reported from cold)")
	fs.IntVar(&o.recipients, "recipients", 10, "dm: offline recipients")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "idle: wait this long before sampling RSS (padchatd parks a session idle for 2 s, at most 1,024 a second)")
	fileSize, fileRate := "", 0.0
	if name == "files" {
		fileSize = "200MiB"
	}
	fs.StringVar(&fileSize, "file-size", fileSize, "files: the file's size; fanout, latency: also send a file this big fa → fb during the run")
	fs.Float64Var(&fileRate, "file-rate", 0, "MB/s the file's reader takes (0: as fast as it can)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fileSize != "" {
		n, err := bytesize.Parse(fileSize)
		if err != nil {
			return nil, fmt.Errorf("--file-size: %w", err)
		}
		o.fileSize = n
	}
	o.fileRate = fileRate * 1e6
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.label == "" {
		o.label = o.target
	}
	if *flood {
		o.window = 0
	}
	switch {
	case o.size < payloadHeader:
		return nil, fmt.Errorf("--size must be at least %d (the timestamp header)", payloadHeader)
	case o.subs < 1 || o.pubs < 1 || o.msgs < 1 || o.window < 0 || o.conns < 1 || o.warm < 0 || o.recipients < 1:
		return nil, errors.New("counts must be positive")
	case o.window == 0 && o.scenario == "dm":
		return nil, errors.New("dm needs a --window of at least 1")
	case o.target == "native" && o.addr != "" && o.dataDir == "":
		return nil, errors.New("native with --addr needs --data (the server's data dir) to provision bench users")
	case o.nodes < 0 || o.nodes > 0 && (o.target != "native" || o.addr != "" || o.scenario != "fanout"):
		return nil, errors.New("--nodes: fanout of a native target the bench starts")
	}
	if _, err := benchpeer.New(o.target, "", nil); err != nil {
		return nil, err
	}
	return o, nil
}
