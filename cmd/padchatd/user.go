// The user command: add, list and remove provisioned users.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"padchat/internal/bytesize"
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
		size, err := bytesize.Parse(*padSize)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, bytesize.Human(u.SendLeft), bytesize.Human(u.RecvLeft))
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
