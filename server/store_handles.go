// The store's session handles: handle → the account's send pad id, written with the batch.
package server

import (
	bolt "go.etcd.io/bbolt"

	"padchat/otp"
)

// loadHandles reads every outstanding session handle.
func (s *Store) loadHandles() (map[otp.PadID]otp.PadID, error) {
	m := map[otp.PadID]otp.PadID{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktHandles).ForEach(func(k, v []byte) error {
			if len(k) == otp.IDSize && len(v) == otp.IDSize {
				m[otp.PadID(k)] = otp.PadID(v)
			}
			return nil
		})
	})
	return m, err
}

// putHandle and dropHandle join this iteration's transaction.
func (s *Store) putHandle(handle, pad otp.PadID) {
	s.do(func(tx *bolt.Tx) error { return tx.Bucket(bktHandles).Put(handle[:], pad[:]) })
}

func (s *Store) dropHandle(handle otp.PadID) {
	s.do(func(tx *bolt.Tx) error { return tx.Bucket(bktHandles).Delete(handle[:]) })
}
