package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// One batch's puts to a mailbox share an op (mailPut), but an op queued in
// between (here a drop of the box) still sees exactly the puts before it.
func TestMailPutsKeepTheirPlaceAmongOtherOps(t *testing.T) {
	s, err := openStore(t.TempDir(), 10)
	require.NoError(t, err)
	defer s.close()
	put := func(box, rec string) { s.mailPut(bktMail, box, []byte(rec)) }
	put("r", "a")
	put("q", "x")
	put("r", "b")
	s.do(func(tx *bolt.Tx) error { return dropMailbox(tx, "r") })
	put("r", "c")
	put("q", "y")
	put("r", "d")
	var committed error = errNotRun
	s.after(func(err error) { committed = err })
	s.commit()
	require.NoError(t, committed)

	scan := func(box string) (recs []string) {
		var last uint64
		s.mailScan(bktMail, box, 0, func(key uint64, rec []byte) bool {
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
