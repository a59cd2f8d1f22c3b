package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One batch's puts to a mailbox share an op (mailboxes.put), but an op queued in
// between (here a drop of the box) still sees exactly the puts before it.
func TestMailPutsKeepTheirPlaceAmongOtherOps(t *testing.T) {
	s, err := openStore(t.TempDir(), 10)
	require.NoError(t, err)
	defer s.close()
	put := func(box, rec string) { s.mail.put(box, []byte(rec)) }
	put("r", "a")
	put("q", "x")
	put("r", "b")
	s.mail.drop("r")
	put("r", "c")
	put("q", "y")
	put("r", "d")
	var committed error = errNotRun
	s.after(func(err error) { committed = err })
	s.commit()
	require.NoError(t, committed)

	scan := func(box string) (recs []string) {
		var last uint64
		s.mail.scan(box, 0, func(key uint64, rec []byte) bool {
			assert.Greater(t, key, last, "keys grow in put order")
			last = key
			recs = append(recs, string(rec))
			return true
		})
		return recs
	}
	assert.Equal(t, []string{"c", "d"}, scan("r"), "the drop removed a and b, not what came after it")
	assert.Equal(t, []string{"x", "y"}, scan("q"))

	// The next batch appends after what is stored.
	put("q", "z")
	s.commit()
	assert.Equal(t, []string{"x", "y", "z"}, scan("q"))
}
