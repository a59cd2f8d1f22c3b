// The serve command: flags (and the config file) to server.Config, logging, demo users, then the loop.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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

func parseServe(args []string, stderr io.Writer) (*serveOptions, error) {
	path, args, err := configArgs(args)
	if err != nil {
		return nil, err
	}
	o := &serveOptions{config: path}
	cfg := &o.cfg
	fs := flag.NewFlagSet("padchatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "config file of `name = value` lines named like these flags")
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "native (OTP) listen address")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data directory: users, pads, store")
	fs.IntVar(&cfg.MaxMessage, "max-message", server.DefaultMaxMessage, "max bytes of text in one message")
	fs.IntVar(&cfg.MaxFrame, "max-frame", server.DefaultMaxFrame, "max plaintext bytes in one native frame")
	fs.IntVar(&cfg.OutLimit, "out-limit", server.DefaultOutLimit, "bytes queued for one client before it is cut off (reloadable)")
	fs.IntVar(&cfg.MaxConns, "max-conns", server.DefaultMaxConns, "max connections; accept pauses past it (reloadable)")
	fs.IntVar(&cfg.MaxPerIP, "max-per-ip", server.DefaultMaxPerIP, "connections from one IP address, 0: no limit (reloadable)")
	fs.BoolVar(&cfg.PerIPLoopback, "per-ip-loopback", false, "apply --max-per-ip to loopback clients too (exempt by default)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close peers silent this long, pinged at half (reloadable)")
	fs.DurationVar(&cfg.AuthTimeout, "auth-timeout", server.DefaultAuthTimeout, "time a peer has to authenticate")
	fs.IntVar(&cfg.HistorySize, "history", server.DefaultHistorySize, "messages of history kept per room")
	fs.BoolVar(&cfg.LogMessages, "log-messages", false, "log every message as <user>: text (private traffic!) (reloadable)")
	fs.BoolVar(&cfg.BurnPads, "burn", false, "zero consumed pad ranges (see README for limits)")
	fs.BoolVar(&cfg.SelectBackend, "select", false, "use the portable select(2) poller instead of epoll/kqueue")
	fs.StringVar(&cfg.ListenLineChat, "listen-linechat", "", "line-chat listener (plain text, docs/DIALECTS.md), e.g. 127.0.0.1:9998")
	fs.StringVar(&cfg.ListenRooms, "listen-rooms", "", "rooms (\"Wassop\") listener (plain text)")
	fs.StringVar(&cfg.ListenMsgSvc, "listen-msgsvc", "", "message-service listener (plain text, no authentication)")
	fs.IntVar(&cfg.MsgSvcMinPushPort, "msgsvc-min-push-port", server.DefaultMinPushPort, "lowest port the message service connects back to (1: any)")
	fs.StringVar(&cfg.ListenUDP, "listen-udp", "", "UDP chat address (plain text)")
	fs.StringVar(&cfg.HTTP, "http", "", "HTTP listener: /format web service, /healthz, /metrics")
	fs.StringVar(&cfg.PlainRoom, "plain-room", server.DefaultPlainRoom, "room the plain-text dialects put their users in")
	fs.BoolVar(&cfg.OpenPlain, "open-plain", false, "let native (encrypted) clients join the plain-text room")
	reserve := fs.String("pad-reserve", "1MiB", "minimum pad reserve-ahead step")
	reserveMax := fs.String("pad-reserve-max", "256MiB", "largest pad reserve-ahead step (a crash wastes at most one)")
	fs.BoolVar(&o.demo, "demo", false, "on first run, create users alice and bob and print how to chat")
	fs.StringVar(&o.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFile, "log-file", "", "append logs to this file (reopened on SIGHUP) instead of stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (did you mean `padchatd user …`?)", fs.Arg(0))
	}
	if cfg.ReserveMax, err = parseSize(*reserveMax); err != nil {
		return nil, fmt.Errorf("--pad-reserve-max: %w", err)
	}
	if cfg.ReserveStep, err = parseSize(*reserve); err != nil {
		return nil, fmt.Errorf("--pad-reserve: %w", err)
	}
	return o, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, stderr)
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
			n, err := parseServe(args, io.Discard)
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
