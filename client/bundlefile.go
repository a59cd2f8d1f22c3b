// The small files the client keeps beside the pads in its bundle: read line by line, replaced atomically.
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

// writeFileSync replaces path atomically: a crash leaves the old or the new file.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
