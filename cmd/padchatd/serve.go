// The serve command: flags (and the config file) to server.Config, logging, demo users, then the loop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"padchat/server"
)

// serveOptions are the settings of the serve command that are not server.Config.
type serveOptions struct {
	cfg     server.Config
	demo    bool
	level   string
	logFile string
	config  string
}

// newServeFlags declares every serve setting on a FlagSet that reports
// errors instead of printing them; usage is printed only when asked for.
func newServeFlags(o *serveOptions) *flag.FlagSet {
	cfg := &o.cfg
	fs := flag.NewFlagSet("padchatd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.String("config", "", "config `FILE` of name = value lines named like these flags")
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "native (OTP) listen address")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data directory: users, pads, store")
	cfg.MaxMessage, cfg.MaxFrame, cfg.OutLimit = server.DefaultMaxMessage, server.DefaultMaxFrame, server.DefaultOutLimit
	fs.Var(sizeFlag[int]{&cfg.MaxMessage}, "max-message", "max bytes of text in one message")
	fs.Var(sizeFlag[int]{&cfg.MaxFrame}, "max-frame", "max plaintext bytes in one native frame")
	fs.Var(sizeFlag[int]{&cfg.OutLimit}, "out-limit", "bytes queued for one client before it is cut off (reloadable)")
	cfg.FileMax, cfg.FileMailbox = server.DefaultFileMax, server.DefaultFileMailbox
	fs.Var(sizeFlag[int64]{&cfg.FileMax}, "file-max", "max bytes of one file sent through the daemon")
	fs.Var(sizeFlag[int64]{&cfg.FileMailbox}, "file-mailbox", "max bytes of files waiting for one recipient")
	fs.IntVar(&cfg.MaxConns, "max-conns", 0, fmt.Sprintf("max connections; accept pauses past it; 0: the fd limit (ulimit -n) less %d, now %d (reloadable)", server.FDReserve, server.DefaultMaxConns()))
	fs.IntVar(&cfg.MaxPerIP, "max-per-ip", server.DefaultMaxPerIP, "connections from one IP address, 0: no limit (reloadable)")
	fs.BoolVar(&cfg.PerIPLoopback, "per-ip-loopback", false, "apply --max-per-ip to loopback clients too (exempt by default)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close peers silent this long, pinged at half (reloadable)")
	fs.DurationVar(&cfg.AuthTimeout, "auth-timeout", server.DefaultAuthTimeout, "time a peer has to authenticate")
	fs.IntVar(&cfg.HistorySize, "history", server.DefaultHistorySize, "messages of history kept per room")
	fs.BoolVar(&cfg.LogMessages, "log-messages", false, "log every message as <user>: text (private traffic!) (reloadable)")
	fs.BoolVar(&cfg.BurnPads, "burn", false, "zero consumed pad ranges (see README for limits)")
	fs.BoolVar(&cfg.SelectBackend, "select", false, "use the portable select(2) poller instead of epoll/kqueue")
	addProtocolFlags(fs, cfg, protocols())
	fs.StringVar(&cfg.HTTP, "http", "", "HTTP listener: /format web service, /healthz, /metrics")
	fs.StringVar(&cfg.PlainRoom, "plain-room", server.DefaultPlainRoom, "room the plain-text dialects put their users in")
	fs.BoolVar(&cfg.OpenPlain, "open-plain", false, "let native (encrypted) clients join the plain-text room")
	fs.StringVar(&cfg.Cluster.URL, "nats", "", "NATS server URL(s): run as one node of a cluster (docs/CLUSTER.md)")
	fs.StringVar(&cfg.Cluster.Node, "node", "", "this node's name in the cluster (with --nats)")
	fs.StringVar(&cfg.Cluster.Creds, "nats-creds", "", "NATS user credentials file")
	fs.StringVar(&cfg.Cluster.CA, "nats-tls-ca", "", "CA certificate that signs the NATS server's")
	fs.StringVar(&cfg.Cluster.Cert, "nats-tls-cert", "", "this node's TLS client certificate for NATS")
	fs.StringVar(&cfg.Cluster.Key, "nats-tls-key", "", "this node's TLS client key for NATS")
	fs.IntVar(&cfg.Cluster.Replicas, "nats-replicas", 1, "copies JetStream keeps of padchat's streams and buckets (1-5, at most the NATS cluster's size)")
	cfg.ReserveStep, cfg.ReserveMax = 1<<20, 256<<20
	fs.Var(sizeFlag[int64]{&cfg.ReserveStep}, "pad-reserve", "minimum pad reserve-ahead step")
	fs.Var(sizeFlag[int64]{&cfg.ReserveMax}, "pad-reserve-max", "largest pad reserve-ahead step (a crash wastes at most one)")
	fs.BoolVar(&o.demo, "demo", false, "on first run, create users alice and bob and print how to chat")
	fs.StringVar(&o.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFile, "log-file", "", "append logs to this file (reopened on SIGHUP) instead of stderr")
	return fs
}

// parseServe reads the config file, then the command line over it. A
// mistake in the file names the file and line; -h gives flag.ErrHelp.
func parseServe(args []string) (*serveOptions, *flag.FlagSet, error) {
	path, args, err := splitConfig(args)
	if err != nil {
		return nil, nil, err
	}
	o := &serveOptions{config: path}
	fs := newServeFlags(o)
	if path != "" {
		lines, err := readConfig(path)
		if err != nil {
			return nil, nil, err
		}
		if err := applyConfig(fs, lines); err != nil {
			return nil, nil, err
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w (see padchatd -h)", err)
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q (see padchatd -h)", fs.Arg(0))
	}
	if _, err := zerolog.ParseLevel(o.level); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	return o, fs, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, _, err := parseServe(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	logw, err := newLogWriter(o.logFile, stderr)
	if err != nil {
		return err
	}
	defer logw.Close()
	log, err := newLogger(logw, o.level)
	if err != nil {
		return err
	}
	if o.demo {
		if err := demoUsers(o.cfg.DataDir, o.cfg.Listen, stdout); err != nil {
			return err
		}
	}
	l, err := server.New(o.cfg, log)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := logw.Reopen(); err != nil {
				log.Error().Err(err).Msg("SIGHUP: cannot reopen log file")
			}
			n, _, err := parseServe(args)
			if err != nil {
				log.Error().Err(err).Msg("SIGHUP: config not reloaded")
				continue
			}
			c := n.cfg
			l.Reload(server.Limits{OutLimit: c.OutLimit, MaxConns: c.MaxConns, MaxPerIP: c.MaxPerIP,
				IdleTimeout: c.IdleTimeout, LogMessages: c.LogMessages})
		}
	}()
	return l.Run(ctx)
}

// demoUsers makes `make run` a chat in two commands: alice and bob, once.
func demoUsers(dataDir, addr string, stdout io.Writer) error {
	users, err := server.ListUsers(dataDir)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		for _, name := range []string{"alice", "bob"} {
			if err := server.AddUser(dataDir, name, 16<<20, addr, "", nil); err != nil {
				return fmt.Errorf("demo user %s: %w", name, err)
			}
		}
	}
	fmt.Fprintf(stdout, "padchat demo: chat from two other terminals with\n")
	for _, name := range []string{"alice", "bob"} {
		if _, err := os.Stat(server.BundleDir(dataDir, name)); err == nil {
			fmt.Fprintf(stdout, "  bin/padchat --bundle %s\n", server.BundleDir(dataDir, name))
		}
	}
	return nil
}
