// Command padchat is the terminal client: it parses flags and hands over to package client.
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

	"padchat/client"
	"padchat/internal/bytesize"
)

// errUsage: the command line was wrong; the flag package has said how.
var errUsage = errors.New("usage")

func main() {
	// The client notices the cancelled context through a poller wake-up and
	// quits in order, restoring the terminal, on any of these signals.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("padchat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: padchat --bundle DIR [--server HOST:PORT] [--room ROOM]")
		fs.PrintDefaults()
	}
	var cfg client.Config
	fs.StringVar(&cfg.Bundle, "bundle", "", "bundle `dir` written by padchatd user add (required)")
	fs.StringVar(&cfg.Server, "server", "", "server `host:port` (default: the bundle profile's)")
	fs.StringVar(&cfg.Room, "room", client.DefaultRoom, "`room` to join on connect")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object per event on stdout (warnings stay on stderr)")
	fs.StringVar(&cfg.Downloads, "downloads", "", "`dir` for received files (default: downloads beside the bundle dir)")
	autoAccept := fs.String("auto-accept", "", "accept files up to `size` (e.g. 20MiB) without asking")
	bell := fs.Bool("bell", true, "ring the terminal bell on a direct message or a mention of your name")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if cfg.Bundle == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg.Stdin, cfg.Stdout, cfg.Stderr = stdin, stdout, stderr
	cfg.NoBell = !*bell
	cfg.AutoAccept = -1 // the profile's, if it names one
	if *autoAccept != "" {
		n, err := bytesize.Parse(*autoAccept)
		if err != nil {
			fmt.Fprintf(stderr, "padchat: --auto-accept: %v\n", err)
			return errUsage
		}
		cfg.AutoAccept = n
	}
	if err := client.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "padchat: %v\n", err)
		return err
	}
	return nil
}
