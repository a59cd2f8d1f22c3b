// Errors of package server: the hub's refusals (sent as OpError codes) and the sentinels callers test with errors.Is.
package server

import (
	"errors"

	"padchat/wire"
)

// hubError is a refusal of a request, carried to the client as OpError.
type hubError struct {
	code wire.Code
	msg  string
}

func (e *hubError) Error() string { return e.msg }

// Refusals the hub gives; the client shows the text.
var (
	ErrNoSuchRoom  = &hubError{wire.CodeNoSuchRoom, "no such room"}
	ErrNoSuchUser  = &hubError{wire.CodeNoSuchUser, "no such user"}
	ErrNotInRoom   = &hubError{wire.CodeNotInRoom, "you are not in that room"}
	ErrTooLong     = &hubError{wire.CodeTooLong, "message too long"}
	ErrBadName     = &hubError{wire.CodeBadName, "bad name: use 1-32 of A-Z a-z 0-9 _ . -"}
	ErrBadRequest  = &hubError{wire.CodeBadRequest, "bad request"}
	ErrPlainRoom   = &hubError{wire.CodePlainRoom, "that room carries plain text and is not open to encrypted members"}
	ErrUnavailable = &hubError{wire.CodeUnavailable, "store unavailable: nothing durable can be accepted now"}
	ErrEmpty       = &hubError{wire.CodeBadRequest, "empty message"}
	ErrBadText     = &hubError{wire.CodeBadRequest, "text must be UTF-8 without control characters"}

	errNoTransfer = &hubError{wire.CodeFileRefused, "no such file transfer"}
)

var (
	// ErrStoreBroken: an earlier commit failed; durable work is refused until restart.
	ErrStoreBroken = errors.New("store: an earlier commit failed")
	// ErrUserExists: provisioning a name that an account already holds.
	ErrUserExists = errors.New("user already exists")
	// ErrNoUser: an account operation names a user with no account.
	ErrNoUser = errors.New("no such user")

	// errDialLimit: an outgoing connection (a message-service push) would pass MaxConns.
	errDialLimit = errors.New("dial: connection limit reached")
	// errDialWatch: the poller refused the socket of an outgoing connection.
	errDialWatch = errors.New("dial: cannot watch the socket")
	// errPushTimeout: a message-service push did not connect and deliver within its one timeout.
	errPushTimeout = errors.New("push timed out")

	// Why a plain-text client cannot have the name it asked for (Hub.claimName).
	errNameInvalid = errors.New("invalid name")
	errNameTaken   = errors.New("name in use")
	// errEncryptedRoom: a plain-text client asked for a room that carries encrypted traffic.
	errEncryptedRoom = errors.New("room is encrypted")
	// Why plain-text input is refused (checkText, line reading). Both close the
	// connection: a client that sends them is not one of the course programs.
	errLineTooLong = errors.New("line too long")
	errBadText     = errors.New("not UTF-8 text")

	// A mail log record that does not decode (maillog_record.go): the end of
	// what a crash left, or damage.
	errLogShort   = errors.New("mail log: record cut short")
	errLogCorrupt = errors.New("mail log: corrupt record")
)

// codeOf maps any error to the code sent in OpError.
func codeOf(err error) wire.Code {
	var he *hubError
	if errors.As(err, &he) {
		return he.code
	}
	return wire.CodeBadRequest
}
