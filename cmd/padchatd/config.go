// The config file: `name = value` lines named like the long flags; flags on the command line win.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// configArgs finds --config FILE in args and returns the file's settings as
// flags placed before args, so the command line overrides the file.
func configArgs(args []string) (path string, out []string, err error) {
	for i, a := range args {
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--config needs a file")
			}
			path = args[i+1]
			args = append(append([]string{}, args[:i]...), args[i+2:]...)
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			path = a[strings.Index(a, "=")+1:]
			args = append(append([]string{}, args[:i]...), args[i+1:]...)
		default:
			continue
		}
		break
	}
	if path == "" {
		return "", args, nil
	}
	fromFile, err := readConfig(path)
	if err != nil {
		return "", nil, err
	}
	return path, append(fromFile, args...), nil
}

// readConfig turns "listen = 0.0.0.0:7070" lines into "--listen=0.0.0.0:7070".
// Blank lines and lines starting with # are skipped.
func readConfig(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.HasPrefix(name, "-") {
			return nil, fmt.Errorf("config %s:%d: want `name = value`, got %q", path, n, line)
		}
		out = append(out, "--"+name+"="+strings.Trim(value, `"`))
	}
	return out, sc.Err()
}
