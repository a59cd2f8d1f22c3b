// Input history for Up/Down, kept per bundle in a file beside its pads.
package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"padchat/internal/durable"
)

const (
	// HistoryFile is the input history's name inside the bundle directory.
	HistoryFile = "history"
	historyMax  = 500 // lines kept; the file is cut back to these when it doubles
)

// history is the list Up and Down walk, oldest first, with its file.
type history struct {
	path    string
	lines   []string
	onDisk  int    // lines in the file, to know when to rewrite it
	pos     int    // the entry shown; len(lines) is the line being typed
	draft   []rune // the line being typed, kept while Up shows older ones
	browsed bool
}

// loadHistory reads the file; each line is one Go-quoted entry, so a
// multi-line message stays one entry. A missing file is an empty history.
func loadHistory(dir string) (*history, error) {
	h := &history{path: filepath.Join(dir, HistoryFile)}
	err := readLines(h.path, func(line string) error {
		h.onDisk++
		if s, err := strconv.Unquote(line); err == nil {
			h.lines = append(h.lines, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("input history: %w", err)
	}
	if len(h.lines) > historyMax {
		h.lines = h.lines[len(h.lines)-historyMax:]
	}
	h.pos = len(h.lines)
	return h, nil
}

// add records a submitted line (not a repeat of the last) and appends it to
// the file; the file is rewritten with the last historyMax entries when it
// has grown to twice that. Errors are returned for a warning, never fatal.
func (h *history) add(line string) error {
	h.pos, h.draft, h.browsed = len(h.lines), nil, false
	if line == "" || (len(h.lines) > 0 && h.lines[len(h.lines)-1] == line) {
		return nil
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > historyMax {
		h.lines = h.lines[len(h.lines)-historyMax:]
	}
	h.pos = len(h.lines)
	if h.onDisk+1 > 2*historyMax {
		var b []byte
		for _, l := range h.lines {
			b = append(strconv.AppendQuote(b, l), '\n')
		}
		h.onDisk = len(h.lines)
		if err := durable.WriteFile(h.path, b); err != nil {
			return fmt.Errorf("input history: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("input history: %w", err)
	}
	_, err = f.Write(append(strconv.AppendQuote(nil, line), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	h.onDisk++
	return err
}

// move steps by delta (-1 older, +1 newer) from cur, the editor's buffer,
// and returns the buffer to show, or ok false when there is nowhere to go.
func (h *history) move(delta int, cur []rune) (buf []rune, ok bool) {
	to := h.pos + delta
	if to < 0 || to > len(h.lines) {
		return nil, false
	}
	if h.pos == len(h.lines) {
		h.draft = append(h.draft[:0], cur...)
	}
	h.pos = to
	if to == len(h.lines) {
		return h.draft, true
	}
	return []rune(h.lines[to]), true
}
