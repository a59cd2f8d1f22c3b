// Room history batched per room: what lands on disk is what one put and trim per message left.
package server

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// onDiskHistory is a room's stored history as seq → text, and its sequence.
func onDiskHistory(t *testing.T, s *Store, room string) (map[uint64]string, uint64) {
	t.Helper()
	got := map[uint64]string{}
	var seq uint64
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktHistory).Bucket([]byte(room))
		if b == nil {
			return nil
		}
		seq = b.Sequence()
		return b.ForEach(func(k, v []byte) error {
			got[binary.BigEndian.Uint64(k)] = decodedText(t, v)
			return nil
		})
	}))
	return got, seq
}

// Batches of every size, over rooms taking turns, with the caller reusing
// its buffer: each room keeps exactly its last histN messages, under their
// own seqs, in order, and each batch writes each of them once. A batch
// lost, reordered, cut or written twice fails here. Every third batch
// commits behind the loop while the next one is appended (the race detector
// sees any run both sides touch), and is checked with that next one.
func TestHistoryBatchKeepsWhatPutsWould(t *testing.T) {
	for _, histN := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("histN=", histN), func(t *testing.T) {
			s, err := openStore(t.TempDir(), histN)
			require.NoError(t, err)
			defer s.close()
			rng := rand.New(rand.NewPCG(uint64(histN), 13))
			rooms := []string{"dev", "ops", "x"}
			seqs := map[string]uint64{}
			model := map[string]map[uint64]string{} // what a put and trim per message leaves
			rec := make([]byte, 0, 64)
			var puts uint64 // what the batches must write: each room's last histN of each
			for batch := range 40 {
				n := rng.IntN(4 * histN) // empty, small and larger than 2×histN
				said := map[string]int{}
				for range n {
					room := rooms[rng.IntN(len(rooms))]
					seqs[room]++
					seq := seqs[room]
					text := fmt.Sprintf("%s-%d-b%d", room, seq, batch)
					rec = append(rec[:0], msgText(text)...)
					s.appendHistory(room, rec, seq)
					clear(rec[:cap(rec)]) // the store copied it
					if model[room] == nil {
						model[room] = map[uint64]string{}
					}
					model[room][seq] = text
					said[room]++
					if seq > uint64(histN) {
						delete(model[room], seq-uint64(histN))
					}
				}
				for _, k := range said {
					puts += uint64(min(k, histN))
				}
				if batch%3 == 1 {
					s.commitBehind()
					continue
				}
				s.commit()
				s.join() // a batch behind lands at the next commit, or here if that had nothing
				require.Equal(t, puts, s.histPuts, "records written once each, batch %d", batch)
				for _, room := range rooms {
					got, last := onDiskHistory(t, s, room)
					want := model[room]
					if want == nil {
						want = map[uint64]string{}
					}
					require.Equal(t, want, got, "room %s after batch %d", room, batch)
					require.Equal(t, seqs[room], last, "room %s's sequence", room)
				}
			}
			// The replay reads them back oldest first.
			for _, room := range rooms {
				got := s.history(room, histN+5, 0)
				require.Len(t, got, len(model[room]))
				first := seqs[room] - uint64(len(got)) + 1
				for i, rec := range got {
					assert.Equal(t, model[room][first+uint64(i)], decodedText(t, rec))
				}
			}
		})
	}
}

// A batch that keeps one room flowing reuses its run's memory: appending
// allocates nothing once the buffers have grown.
func TestHistoryRunAllocatesNothingWhenWarm(t *testing.T) {
	s, err := openStore(t.TempDir(), 100)
	require.NoError(t, err)
	defer s.close()
	rec := msgText("hello, room")
	var seq uint64
	appendMany := func() {
		for range 1000 {
			seq++
			s.appendHistory("dev", rec, seq)
		}
	}
	appendMany()
	s.commit()
	allocs := testing.AllocsPerRun(5, func() {
		appendMany()
		s.hist.reset() // the commit's own reset, without the disk
	})
	assert.Zero(t, allocs)
}

// Past histRoomsKept rooms the runs are let go after a commit; the rooms'
// next messages start runs afresh and land after the stored ones.
func TestHistoryRunsLetGoPastTheLimit(t *testing.T) {
	s, err := openStore(t.TempDir(), 2)
	require.NoError(t, err)
	defer s.close()
	room := func(i int) string { return fmt.Sprintf("r%d", i) }
	for seq := uint64(1); seq <= 3; seq++ {
		for i := range histRoomsKept + 10 {
			s.appendHistory(room(i), msgText(fmt.Sprint(room(i), "-", seq)), seq)
		}
		s.appendHistory(room(0), msgText(fmt.Sprint("r0-", seq, "b")), seq) // the same seq twice: last one wins, as a put would
		s.commit()
		assert.LessOrEqual(t, len(s.hist.runs), histRoomsKept)
	}
	for _, i := range []int{0, 1, histRoomsKept + 9} {
		got, last := onDiskHistory(t, s, room(i))
		assert.Equal(t, uint64(3), last)
		want := map[uint64]string{2: room(i) + "-2", 3: room(i) + "-3"}
		if i == 0 {
			want = map[uint64]string{2: "r0-2b", 3: "r0-3b"}
		}
		assert.Equal(t, want, got, "room %s", room(i))
	}
}
