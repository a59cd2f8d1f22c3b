// The small files the client keeps beside the pads in its bundle, read line by line (written by durable.WriteFile).
package client

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
)

// readLines calls each for every line of path, in order; a missing file has none.
// Lines may be up to 1 MiB (an editor line of 64 Ki runes, Go-quoted, fits).
func readLines(path string, each func(line string) error) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if err := each(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}
