// The mail log's records: how one put, delete, drop, DM id, session handle or batch end is framed on disk.
package server

import (
	"encoding/binary"
	"hash/crc32"

	"padchat/otp"
)

// A record is length u32 | crc32c(body) u32 | body, and the body is
// kind u8 | name_len u16 | name | the kind's fields:
//
//	logPut       name = mailbox (account key)  key u64 | mail record (store_mail.go)
//	logDelete    name = mailbox                key u64
//	logDrop      name = mailbox                -
//	logDMID      name = sender name            last DM id u32
//	logCommit    name empty                    -  (ends a batch: replay applies whole batches only)
//	logHandle    name = session handle [16]    the account's send pad id [16] (handles.go)
//	logUnhandle  name = session handle [16]    -  (the handle was consumed or replaced)
const (
	logPut byte = 1 + iota
	logDelete
	logDrop
	logDMID
	logCommit
	logHandle
	logUnhandle
)

// The file's first 8 bytes. Version 2 added the session handles; a daemon
// that knows version 1 only refuses the file instead of taking the first
// handle record for a torn tail and zeroing everything after it. A version 1
// file is rewritten as version 2 at open.
const (
	logHeader   = "PCMAIL2\n"
	logHeaderV1 = "PCMAIL1\n"
	logFrame    = 8       // length + checksum
	maxLogBody  = 1 << 20 // far above a mail record (13 + 255 + --max-message); larger is corruption
	maxLogName  = 1<<16 - 1
	logBodyHead = 3 // kind + name length
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// logRecord is one decoded record; rec aliases the decoded buffer.
type logRecord struct {
	kind byte
	name string
	key  uint64 // logPut, logDelete; the DM id for logDMID
	rec  []byte // logPut; the send pad id for logHandle
}

// appendLogRecord frames r onto b.
func appendLogRecord(b []byte, r logRecord) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, r.kind)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.name)))
	b = append(b, r.name...)
	switch r.kind {
	case logPut:
		b = binary.BigEndian.AppendUint64(b, r.key)
		b = append(b, r.rec...)
	case logHandle:
		b = append(b, r.rec...)
	case logDelete:
		b = binary.BigEndian.AppendUint64(b, r.key)
	case logDMID:
		b = binary.BigEndian.AppendUint32(b, uint32(r.key))
	}
	body := b[start+logFrame:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
	return b
}

// logRecordSize is what appendLogRecord adds for r.
func logRecordSize(r logRecord) int {
	n := logFrame + logBodyHead + len(r.name)
	switch r.kind {
	case logPut:
		n += 8 + len(r.rec)
	case logHandle:
		n += len(r.rec)
	case logDelete:
		n += 8
	case logDMID:
		n += 4
	}
	return n
}

// decodeLogRecord reads the record at the start of b and how many bytes it
// took. errLogShort: b ends inside it (a torn tail, or more to read);
// errLogCorrupt: its length, checksum or fields are wrong. The length is
// checked before anything is read past the frame.
func decodeLogRecord(b []byte) (logRecord, int, error) {
	if len(b) < logFrame {
		return logRecord{}, 0, errLogShort
	}
	n := binary.BigEndian.Uint32(b)
	if n < logBodyHead || n > maxLogBody {
		return logRecord{}, 0, errLogCorrupt
	}
	if uint64(len(b)-logFrame) < uint64(n) {
		return logRecord{}, 0, errLogShort
	}
	body := b[logFrame : logFrame+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return logRecord{}, 0, errLogCorrupt
	}
	r := logRecord{kind: body[0]}
	nl := int(binary.BigEndian.Uint16(body[1:]))
	rest := body[logBodyHead:]
	if len(rest) < nl {
		return logRecord{}, 0, errLogCorrupt
	}
	r.name, rest = string(rest[:nl]), rest[nl:]
	switch {
	case r.kind == logPut && len(rest) >= 8:
		r.key, r.rec = binary.BigEndian.Uint64(rest), rest[8:]
	case r.kind == logDelete && len(rest) == 8:
		r.key = binary.BigEndian.Uint64(rest)
	case r.kind == logDrop && len(rest) == 0:
	case r.kind == logDMID && len(rest) == 4:
		r.key = uint64(binary.BigEndian.Uint32(rest))
	case r.kind == logCommit && len(rest) == 0 && nl == 0:
	case r.kind == logHandle && nl == otp.IDSize && len(rest) == otp.IDSize:
		r.rec = rest
	case r.kind == logUnhandle && nl == otp.IDSize && len(rest) == 0:
	default:
		return logRecord{}, 0, errLogCorrupt
	}
	return r, logFrame + int(n), nil
}
