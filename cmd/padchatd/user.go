// The user command: add, list and remove provisioned users.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"padchat/server"
)

const userUsage = `usage:
  padchatd user add NAME [--pad-size 64MiB] [--server HOST:PORT] [--out DIR] [--data DIR]
  padchatd user list [--data DIR]
  padchatd user remove NAME [--data DIR]`

func runUser(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("padchatd user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", server.DefaultDataDir, "data directory")
	padSize := fs.String("pad-size", "64MiB", "size of each of the user's two pads")
	addr := fs.String("server", server.DefaultListen, "server address written into the bundle")
	out := fs.String("out", "", "where to write the client bundle (default DATA/bundles/NAME)")
	// Accept the name before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	switch cmd {
	case "add":
		if name == "" {
			return errors.New(userUsage)
		}
		size, err := parseSize(*padSize)
		if err != nil {
			return fmt.Errorf("--pad-size: %w", err)
		}
		if err := server.AddUser(*data, name, size, *addr, *out, stderr); err != nil {
			return err
		}
		dir := *out
		if dir == "" {
			dir = server.BundleDir(*data, name)
		}
		fmt.Fprintf(stdout, "user %s added; hand over the bundle %s out of band, then: padchat --bundle %s\n", name, dir, dir)
	case "list":
		users, err := server.ListUsers(*data)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tSEND PAD LEFT\tRECV PAD LEFT")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, human(u.SendLeft), human(u.RecvLeft))
		}
		tw.Flush()
	case "remove":
		if name == "" {
			return errors.New(userUsage)
		}
		if err := server.RemoveUser(*data, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s removed\n", name)
	default:
		return fmt.Errorf("unknown user command %q\n%s", cmd, userUsage)
	}
	return nil
}

// parseSize reads "64MiB", "1GiB", "512KiB", "16M" or plain bytes.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (e.g. 64MiB)", s)
	}
	return n * mult, nil
}

func human(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
