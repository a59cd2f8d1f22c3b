// padchatd is the padchat daemon: `padchatd [flags]` serves, `padchatd user …` provisions.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "padchatd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "user":
			return runUser(args[1:], stdout, stderr)
		case "check-config":
			return checkConfig(args[1:], stdout)
		case "version", "-version", "--version":
			fmt.Fprintln(stdout, version())
			return nil
		case "help":
			usage(stdout)
			return nil
		}
	}
	return serve(ctx, args, stdout, stderr)
}

const usageHead = `usage:
  padchatd [--config FILE] [flags]   serve (flags override the file)
  padchatd check-config FILE         check a config file and print the settings it gives
  padchatd user add NAME [--pad-size 64MiB] [--server HOST:PORT] [--out DIR] [--data DIR]
  padchatd user list [--data DIR]
  padchatd user remove NAME [--data DIR]
  padchatd --version

Sizes take units (4096, 64K, 4MiB, 1GiB); durations too (10s, 5m).
The config file holds "name = value" lines named like the flags.
Plain-text protocols: docs/DIALECTS.md. Operations: docs/OPERATIONS.md.

flags:
`

func usage(w io.Writer) {
	fs := newServeFlags(&serveOptions{})
	fmt.Fprint(w, usageHead)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// checkConfig is `padchatd check-config FILE`: the effective settings as a
// config file would hold them, or every mistake with its file and line.
func checkConfig(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: padchatd check-config FILE")
	}
	_, fs, err := parseServe([]string{"--config", args[0]})
	if errors.Is(err, flag.ErrHelp) {
		return errors.New("usage: padchatd check-config FILE")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# %s: OK; effective settings (defaults included)\n", args[0])
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			fmt.Fprintf(stdout, "%s = %s\n", f.Name, f.Value)
		}
	})
	return nil
}

// version is the module version and the commit it was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "padchatd (no build info)"
	}
	v := "padchatd " + bi.Main.Version
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " commit " + rev + dirty
		if at != "" {
			v += " (" + at + ")"
		}
	}
	return v + " " + bi.GoVersion
}
