// Sentinel errors of the wire package; callers test them with errors.Is.
package wire

import "errors"

var (
	// ErrTruncated: the message ends before its fields do.
	ErrTruncated = errors.New("wire: truncated message")
	// ErrTrailing: bytes follow the last field.
	ErrTrailing = errors.New("wire: trailing bytes after message")
	// ErrBadName: a user or room name is empty, too long or has characters outside [A-Za-z0-9_.-].
	ErrBadName = errors.New("wire: bad name (1-32 of A-Z a-z 0-9 _ . -)")
	// ErrNotPadchat: the peer's first bytes are not a padchat greeting.
	ErrNotPadchat = errors.New("wire: peer is not a padchat server")
	// ErrVersion: the peer speaks another protocol version.
	ErrVersion = errors.New("wire: unsupported protocol version")
)
