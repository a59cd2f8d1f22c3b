// The store's session handles: handle → the account's send pad id, written with the batch.
package server

import (
	bolt "go.etcd.io/bbolt"

	"padchat/otp"
)

var bktHandles = []byte("handles") // handles/<handle [16]> = the account's send pad id [16]

// loadHandles reads every outstanding session handle.
func (s *Store) loadHandles() (map[otp.PadID]otp.PadID, error) {
	m := map[otp.PadID]otp.PadID{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktHandles)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
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
