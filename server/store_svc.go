// The store's side of the message service: its users (svc_users) and its mail record (svc_mail).
package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// svcRecord is a message-service user as stored (JSON).
type svcRecord struct {
	Name   string `json:"name"`
	Date   string `json:"date"`
	LastID uint32 `json:"last_id"` // id of the last message this user sent
	Addr   string `json:"addr,omitempty"`
}

// svcUsers calls fn with every stored message-service user.
func (s *Store) svcUsers(fn func(alias string, rec svcRecord)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSvcUsers).ForEach(func(k, v []byte) error {
			var rec svcRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("user %q: %w", k, err)
			}
			fn(string(k), rec)
			return nil
		})
	})
}

// putSvcUser writes a message-service user with the batch.
func (s *Store) putSvcUser(alias string, rec *svcRecord) {
	v, _ := json.Marshal(rec)
	s.do(func(tx *bolt.Tx) error { return tx.Bucket(bktSvcUsers).Put([]byte(alias), v) })
}

// dropSvcUser deletes a message-service user and its undelivered mail with the batch.
func (s *Store) dropSvcUser(alias string) {
	s.do(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktSvcUsers).Delete([]byte(alias)); err != nil {
			return err
		}
		return dropBox(tx, bktSvcMail, alias)
	})
}

// svc mail record: from_len u8 | from | id u32 | text
func encodeSvcMail(from string, id uint32, text string) []byte {
	b := make([]byte, 0, 1+len(from)+4+len(text))
	b = append(b, byte(len(from)))
	b = append(b, from...)
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, text...)
}

func decodeSvcMail(b []byte) (from string, id uint32, text string, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0])+4 {
		return "", 0, "", false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), binary.BigEndian.Uint32(b[1+n:]), string(b[5+n:]), true
}
