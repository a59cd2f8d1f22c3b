// The per-sender record of direct messages already shown, kept in the bundle so a restart honours it.
package client

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"padchat/internal/durable"
	"padchat/wire"
)

// SeenFile is the name of the record inside the bundle directory.
const SeenFile = "seen"

// seenDMs remembers, per sender, the id of the last direct message shown. The
// server delivers a stored message again until it gets our ack, and an ack can
// be lost with a crash, so without this a restart could show a message twice.
type seenDMs struct {
	path string
	last map[string]uint32
}

// loadSeen reads the record; a missing file is an empty record.
func loadSeen(dir string) (*seenDMs, error) {
	s := &seenDMs{path: filepath.Join(dir, SeenFile), last: map[string]uint32{}}
	err := readLines(s.path, func(line string) error {
		user, id, ok := strings.Cut(line, " ")
		n, err := strconv.ParseUint(id, 10, 32)
		if !ok || err != nil || wire.CheckName(user) != nil {
			return fmt.Errorf("%s: bad line %q", s.path, line)
		}
		s.last[user] = uint32(n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seen messages: %w", err)
	}
	return s, nil
}

// fresh reports whether id from sender comes after the last one shown. Ids
// wrap from 2^32-1 to 1, so "after" is serial-number order (RFC 1982).
func (s *seenDMs) fresh(sender string, id uint32) bool {
	last, ok := s.last[sender]
	return !ok || serialAfter(id, last)
}

func serialAfter(a, b uint32) bool { return a != b && int32(a-b) > 0 }

// mark records id as shown and writes the record durably before returning, so
// the ack that follows never promises more than the disk holds.
func (s *seenDMs) mark(sender string, id uint32) error {
	s.last[sender] = id
	users := make([]string, 0, len(s.last))
	for u := range s.last {
		users = append(users, u)
	}
	slices.Sort(users)
	var b []byte
	for _, u := range users {
		b = fmt.Appendf(b, "%s %d\n", u, s.last[u])
	}
	if err := durable.WriteFile(s.path, b); err != nil {
		return fmt.Errorf("seen messages: %w", err)
	}
	return nil
}
