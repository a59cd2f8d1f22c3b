// The store's session handles: handle → the account's send pad id, records in the mail log written with the batch.
package server

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"padchat/otp"
)

// loadHandles gives every outstanding session handle: the mail log's map as
// replayed, for the caller to build its own from and hand back (ownHandles).
// Handles a data dir from before the log kept in bbolt's handles bucket are
// moved into the log first: the log is rewritten with them and synced before
// the bucket is emptied, so a crash in between loads them twice, the same.
func (s *Store) loadHandles() (map[otp.PadID]otp.PadID, error) {
	m := s.log.handles
	var old [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktHandles).ForEach(func(k, v []byte) error {
			old = append(old, bytes.Clone(k)) // k lives as long as the transaction
			if len(k) == otp.IDSize && len(v) == otp.IDSize {
				m[otp.PadID(k)] = otp.PadID(v)
			}
			return nil
		})
	})
	if err != nil || len(old) == 0 {
		return m, err
	}
	if err := s.log.compactAll(); err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktHandles)
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return m, err
}

// ownHandles makes sh, built from loadHandles' map, the live set of
// handles the log writes out when it compacts.
func (s *Store) ownHandles(sh *sessionHandles) { s.log.adoptHandles(sh) }

// putHandle and dropHandle join this iteration's batch.
func (s *Store) putHandle(handle, pad otp.PadID) { s.log.putHandle(handle, pad) }

func (s *Store) dropHandle(handle otp.PadID) { s.log.dropHandle(handle) }
