// The serve command: flags to server.Config, logging, demo users, then the loop.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"padchat/server"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg server.Config
	fs := flag.NewFlagSet("padchatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "native (OTP) listen address")
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data directory: users, pads, store")
	fs.IntVar(&cfg.MaxMessage, "max-message", server.DefaultMaxMessage, "max bytes of text in one message")
	fs.IntVar(&cfg.MaxFrame, "max-frame", server.DefaultMaxFrame, "max plaintext bytes in one native frame")
	fs.IntVar(&cfg.OutLimit, "out-limit", server.DefaultOutLimit, "bytes queued for one client before it is cut off")
	fs.IntVar(&cfg.MaxConns, "max-conns", server.DefaultMaxConns, "max connections; accept pauses past it")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close peers silent this long (pinged at half)")
	fs.DurationVar(&cfg.AuthTimeout, "auth-timeout", server.DefaultAuthTimeout, "time a peer has to authenticate")
	fs.IntVar(&cfg.HistorySize, "history", server.DefaultHistorySize, "messages of history kept per room")
	fs.BoolVar(&cfg.LogMessages, "log-messages", false, "log every message as <user>: text (private traffic!)")
	fs.BoolVar(&cfg.BurnPads, "burn", false, "zero consumed pad ranges (see README for limits)")
	fs.BoolVar(&cfg.SelectBackend, "select", false, "use the portable select(2) poller instead of epoll/kqueue")
	fs.StringVar(&cfg.Listen001, "listen-001", "", "seed 001 line-chat listener (plain text), e.g. 127.0.0.1:9998")
	fs.StringVar(&cfg.Listen002, "listen-002", "", "seed 002 Wassop rooms listener (plain text)")
	fs.StringVar(&cfg.Listen003, "listen-003", "", "seed 003 message-service listener (plain text)")
	fs.StringVar(&cfg.ListenUDP, "listen-004", "", "seed 004 UDP chat address (plain text)")
	fs.StringVar(&cfg.HTTP, "http", "", "HTTP listener: /format web service, /healthz, /metrics")
	fs.StringVar(&cfg.PlainRoom, "plain-room", server.DefaultPlainRoom, "room the plain-text dialects put their users in")
	fs.BoolVar(&cfg.OpenPlain, "open-plain", false, "let native (encrypted) clients join the plain-text room")
	reserve := fs.String("pad-reserve", "1MiB", "minimum pad reserve-ahead step")
	demo := fs.Bool("demo", false, "on first run, create users alice and bob and print how to chat")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (did you mean `padchatd user …`?)", fs.Arg(0))
	}
	var err error
	if cfg.ReserveStep, err = parseSize(*reserve); err != nil {
		return fmt.Errorf("--pad-reserve: %w", err)
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	if *demo {
		if err := demoUsers(cfg.DataDir, cfg.Listen, stdout); err != nil {
			return err
		}
	}
	l, err := server.New(cfg, log)
	if err != nil {
		return err
	}
	return l.Run(ctx)
}

// newLogger writes human-readable lines on a terminal and JSON otherwise.
func newLogger(w io.Writer, level string) (zerolog.Logger, error) {
	lv, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		w = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lv).With().Timestamp().Logger(), nil
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
