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
)

// codeOf maps any error to the code sent in OpError.
func codeOf(err error) wire.Code {
	var he *hubError
	if errors.As(err, &he) {
		return he.code
	}
	return wire.CodeBadRequest
}
