// The user command: add, list and remove provisioned users.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"padchat/internal/bytesize"
	"padchat/otp"
	"padchat/server"
)

const userUsage = `usage:
  padchatd user add NAME... [--pad-size 64MiB] [--server HOST:PORT] [--out DIR] [--data DIR]
  padchatd user list [--json] [--data DIR]
  padchatd user remove NAME [--data DIR]
  padchatd user renew NAME [--pad-size 64MiB] [--server HOST:PORT] [--out DIR] [--data DIR]
  padchatd user unlock NAME [--data DIR]

With a daemon running on DATA, each change applies at once (through DATA/admin.sock)`

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
	asJSON := fs.Bool("json", false, "user list: one JSON array, for scripts")
	// Accept the names before or after the flags.
	var names []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		names, args = append(names, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	names = append(names, fs.Args()...)
	var name string
	if len(names) > 0 {
		name = names[0]
	}
	switch cmd {
	case "add", "remove", "renew", "unlock":
		if name == "" {
			return errors.New(userUsage)
		}
	case "list":
	default:
		return fmt.Errorf("unknown user command %q\n%s", cmd, userUsage)
	}
	if len(names) > 1 && cmd != "add" {
		return fmt.Errorf("user %s takes one name\n%s", cmd, userUsage)
	}
	size, err := bytesize.Parse(*padSize)
	if err != nil {
		return fmt.Errorf("--pad-size: %w", err)
	}
	// Progress is for a person watching: on a terminal only, and only for
	// pads big enough to take a while.
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && size >= 16<<20 {
		progress = stderr
	}
	bundleDir := func(name string) string {
		if *out != "" {
			return *out
		}
		return server.BundleDir(*data, name)
	}
	switch cmd {
	case "add":
		if len(names) > 1 && *out != "" {
			return errors.New("--out names one bundle: add one user with it")
		}
		if err := checkFreeSpace(*data, int64(len(names))*4*size); err != nil {
			return err
		}
		if len(names) == 1 {
			err = server.AddUser(*data, name, size, *addr, *out, progress)
		} else {
			err = server.AddUsers(*data, names, size, *addr, progress)
		}
		if err != nil {
			return err
		}
		for _, name := range names {
			dir := bundleDir(name)
			fmt.Fprintf(stdout, "user %s added; hand over the bundle %s out of band, then: padchat --bundle %s\n", name, dir, dir)
		}
	case "renew":
		what, err := server.RenewUser(*data, name, size, *addr, *out, progress)
		if err != nil {
			return err
		}
		dir := bundleDir(name)
		fmt.Fprintf(stdout, "user %s %s: the old bundle is refused from now on; hand over the new bundle %s out of band\n", name, what, dir)
	case "unlock":
		what, err := server.UnlockUser(*data, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %s: its bundle is accepted again. The lock meant a copy of the bundle was used from two places; if that copy may still exist, renew instead (padchatd user renew %s)\n", name, what, name)
	case "list":
		users, err := server.ListUsers(*data)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(users)
		}
		left := func(n int64) string {
			if n < 0 {
				return "unreadable"
			}
			return fmt.Sprintf("%s (~%d msgs)", bytesize.Human(n), otp.MessagesLeft(n))
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tSTATE\tCAN SEND\tCAN RECEIVE")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.State, left(u.SendLeft), left(u.RecvLeft))
		}
		tw.Flush()
	case "remove":
		what, err := server.RemoveUser(*data, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %s\n", name, what)
	}
	return nil
}

// checkFreeSpace refuses, before anything is written, a provisioning that
// would not fit on the data dir's file system: each user takes its two pads
// twice (the server's copies and the bundle's).
func checkFreeSpace(dataDir string, need int64) error {
	dir := dataDir
	for {
		free, err := freeBytes(dir)
		if err == nil {
			if free < need {
				return fmt.Errorf("not enough space on %s: the pads need %s, %s is free", dataDir, bytesize.Human(need), bytesize.Human(free))
			}
			return nil
		}
		if !errors.Is(err, unix.ENOENT) || dir == filepath.Dir(dir) {
			return fmt.Errorf("free space of %s: %w", dataDir, err)
		}
		dir = filepath.Dir(dir) // not made yet: its parent's file system
	}
}
