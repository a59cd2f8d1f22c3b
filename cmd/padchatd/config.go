// The config file: `name = value` lines named like the long flags; flags on the command line win.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"padchat/internal/bytesize"
	"padchat/server"
)

// configLine is one setting from the file, as a flag, with where it came from.
type configLine struct {
	arg  string // --name=value
	path string
	n    int
}

// splitConfig finds --config FILE in args and returns the file's path and the
// remaining args.
func splitConfig(args []string) (path string, rest []string, err error) {
	for i, a := range args {
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return "", nil, errors.New("--config needs a file")
			}
			return args[i+1], append(append([]string{}, args[:i]...), args[i+2:]...), nil
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			return a[strings.Index(a, "=")+1:], append(append([]string{}, args[:i]...), args[i+1:]...), nil
		}
	}
	return "", args, nil
}

// readConfig turns "listen = 0.0.0.0:7070" lines into "--listen=0.0.0.0:7070".
// Blank lines and lines starting with # are skipped.
func readConfig(path string) ([]configLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	var out []configLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.HasPrefix(name, "-") {
			return nil, fmt.Errorf("%s:%d: want `name = value`, got %q", path, n, line)
		}
		out = append(out, configLine{arg: "--" + name + "=" + strings.Trim(value, `"`), path: path, n: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// applyConfig sets each file line on fs, one at a time, so that an unknown
// name or a bad value is reported with the file and line it is on. Every
// mistake in the file is reported, not only the first.
func applyConfig(fs *flag.FlagSet, lines []configLine) error {
	var errs []error
	for _, l := range lines {
		name, value, _ := strings.Cut(strings.TrimPrefix(l.arg, "--"), "=")
		if name == "config" {
			errs = append(errs, fmt.Errorf("%s:%d: a config file cannot name another", l.path, l.n))
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q", l.path, l.n, name))
			continue
		}
		if err := fs.Set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s = %q: %v", l.path, l.n, name, value, err))
		}
	}
	return errors.Join(errs...)
}

// sizeFlag is a byte count given with units ("4MiB", "64K", "4096").
type sizeFlag[T int | int64] struct{ p *T }

func (s sizeFlag[T]) String() string {
	if s.p == nil {
		return ""
	}
	return server.FormatSize(int64(*s.p))
}

func (s sizeFlag[T]) Set(v string) error {
	n, err := bytesize.Parse(v)
	if err != nil {
		return err
	}
	if int64(T(n)) != n {
		return fmt.Errorf("size %q too large", v)
	}
	*s.p = T(n)
	return nil
}
