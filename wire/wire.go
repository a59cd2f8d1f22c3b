// Package wire encodes the plaintext messages carried inside padchat's OTP frames.
//
// One or more messages per frame (protocol version 2), back to back, each
// delimited by its own lengths; all integers big-endian:
//
//	op u8 | flags u8 | seq u32 | id u32 | time i64 |
//	room_len u8 | room | user_len u8 | user | text_len u32 | text
//
// Requests carry a client-chosen Seq that the server echoes in the reply (OK or
// Error), so a client can match replies to requests. Every field is present in
// every message; unused ones are empty or zero. docs/PROTOCOL.md says which
// fields each op uses.
package wire

import "encoding/binary"

// ProtocolVersion is the version of this encoding; Hello carries it.
const ProtocolVersion = 2

// Op says what a message is.
type Op uint8

// Requests, client → server.
const (
	OpHello   Op = 1  // first frame: authenticates (pad possession); Text = client name
	OpJoin    Op = 2  // Room: join, creating it if needed
	OpPart    Op = 3  // Room: leave
	OpList    Op = 4  // rooms with member counts
	OpWho     Op = 5  // Room: its members; empty Room: everyone online
	OpSay     Op = 6  // Room, Text: to every other member
	OpDM      Op = 7  // User, Text: direct message (stored if the user is offline)
	OpQuit    Op = 8  // Text: optional reason
	OpPing    Op = 9  // reply: OK
	OpAck     Op = 10 // User (original sender), ID: a delivered direct message was received; FlagReceipt: a stored receipt was
	OpHistory Op = 11 // Room, ID = how many messages
	OpPong    Op = 12 // answer to a server Ping
	OpTopic   Op = 13 // Room, Text: set the room's topic (members only); empty Text: ask for it. Reply OK, Text = the topic
	OpAway    Op = 14 // Text: away message; empty Text: back. Reply OK

	// Files (docs/PROTOCOL.md §7). A file's offer carries Time = size and
	// Text = sha256 [32] || name; chunks carry ID = transfer, Time = offset.
	OpFileOffer  Op = 16 // User or Room = to whom, Time = size, Text = sha256 || name. Reply OK: ID = transfer, Time = bytes the server has
	OpFileChunk  Op = 17 // ID, Time = offset, Text = bytes (at most FileChunk). Answered by OpFileAcked
	OpFileAccept Op = 18 // ID, Time = bytes the recipient already has: send the rest
	OpFileReject Op = 19 // ID: the recipient does not want it
	OpFileGot    Op = 20 // ID, Time = bytes the recipient has written (opens the window)
	OpFileDone   Op = 21 // ID: the recipient verified the sha256 (FlagFileBad: it did not)
)

// Events and replies, server → client.
const (
	OpOK        Op = 64 // Seq of the request; ID and Text depend on it (DM: ID = message id)
	OpError     Op = 65 // Seq of the request; ID = error Code; Text = what went wrong
	OpWelcome   Op = 66 // User = your name; Text = greeting
	OpMessage   Op = 67 // Room, User (sender), Text, Time, ID; FlagHistory when replayed
	OpDirect    Op = 68 // User (sender), Text, Time, ID; acknowledge with OpAck
	OpJoined    Op = 69 // Room, User joined
	OpParted    Op = 70 // Room, User left; Text = "left" or "quit" or a reason
	OpRooms     Op = 71 // reply to List: Text = lines "room\tmembers[\tplain]"
	OpUsers     Op = 72 // reply to Who: Room; Text = one name per line
	OpDelivered Op = 73 // User (recipient), ID: your direct message was received
	OpSrvPing   Op = 74 // answer with OpPong
	OpBye       Op = 75 // ID: a ByeReason; Text: the server is closing this session and why
	OpHandle    Op = 76 // Text: 16 random bytes to present next time instead of the pad id (docs/PROTOCOL.md §3)
	OpTopicIs   Op = 77 // Room, User (who set it), Text = topic, Time: to every member when it changes, to a joiner before history

	OpFileAcked   Op = 80 // ID, Time = bytes of the file the server holds (the sender's resume point)
	OpFileOffered Op = 81 // ID, User = sender, Room (a room's file), Time = size, Text = sha256 || name
	OpFileData    Op = 82 // ID, Time = offset, Text = bytes: answer with OpFileGot
	OpFileReceipt Op = 83 // ID, User = recipient, Text = "received" or "rejected"; FlagFileBad: its sha256 did not match
	OpFileFailed  Op = 84 // ID, Text: the transfer is over without the file (sha256 mismatch at the server, removed)
)

// FileChunk is the most file data one OpFileChunk or OpFileData carries: a
// chunk and its message header fit a 64 KiB frame, so pad per file byte
// stays under 1.001 on each side.
const FileChunk = 60 << 10

// ByeReason, in OpBye.ID, says why a session ends. A client reconnects after
// the reasons that are not final and stops, printing Text, after the final ones.
type ByeReason uint32

const (
	ByeUnspecified  ByeReason = 0 // older servers: treat as not final
	ByeShutdown     ByeReason = 1 // the server is going away; reconnect
	ByeIdle         ByeReason = 2 // no traffic for too long; reconnect
	ByeReplaced     ByeReason = 3 // another session of this account took over (final)
	ByeRemoved      ByeReason = 4 // the account was removed (final)
	ByeRenewed      ByeReason = 5 // the account has new pads; this bundle is void (final)
	ByeLocked       ByeReason = 6 // the account is locked, Text says why (final)
	ByePadExhausted ByeReason = 7 // a pad ran out: ask for `padchatd user renew NAME` (final)
	ByeProtocol     ByeReason = 8 // the client broke the protocol (final)
)

// Final reports whether a client must not reconnect after this reason.
func (r ByeReason) Final() bool {
	switch r {
	case ByeReplaced, ByeRemoved, ByeRenewed, ByeLocked, ByePadExhausted, ByeProtocol:
		return true
	}
	return false
}

// Flags qualify a message.
const (
	FlagHistory = 1 << 0 // a stored room message replayed on join or on request
	FlagMe      = 1 << 1 // an action ("/me waves"), shown as "* user waves"
	FlagPlain   = 1 << 2 // the room is open to plain-text (unencrypted) members
	// FlagReceipt on OpDelivered: a receipt kept in your mailbox while you were
	// away; acknowledge it with an OpAck that carries FlagReceipt too.
	FlagReceipt = 1 << 3
	// FlagFileBad on OpFileDone and OpFileReceipt: the recipient's sha256 of
	// the file did not match the offer's.
	FlagFileBad = 1 << 4
)

// Code names an error in OpError.ID.
type Code uint32

const (
	CodeBadRequest  Code = 1
	CodeNoSuchRoom  Code = 2
	CodeNoSuchUser  Code = 3
	CodeNotInRoom   Code = 4
	CodeTooLong     Code = 5
	CodeBadName     Code = 6
	CodeUnavailable Code = 7 // the store cannot take durable work
	CodePlainRoom   Code = 8 // the room is plain text and not opened to native members
	CodeRoomFull    Code = 9
	CodeFileRefused Code = 10 // over the per-file or mailbox limit, or no such transfer; Text says which
)

// HeaderSize is the size of a message with all variable fields empty.
const HeaderSize = 1 + 1 + 4 + 4 + 8 + 1 + 1 + 4

// MaxName bounds room and user names.
const MaxName = 32

// Msg is one decoded message. Decode makes Room, User and Text alias the input,
// so a Msg is valid only as long as the buffer it came from.
type Msg struct {
	Op    Op
	Flags uint8
	Seq   uint32
	ID    uint32
	Time  int64 // server time, Unix nanoseconds
	Room  []byte
	User  []byte
	Text  []byte
}

// Append encodes m onto dst. Room and User longer than 255 bytes are cut; the
// sender validates names before that can matter.
func Append(dst []byte, m *Msg) []byte {
	dst = append(dst, byte(m.Op), m.Flags)
	dst = binary.BigEndian.AppendUint32(dst, m.Seq)
	dst = binary.BigEndian.AppendUint32(dst, m.ID)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Time))
	dst = appendShort(dst, m.Room)
	dst = appendShort(dst, m.User)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.Text)))
	return append(dst, m.Text...)
}

func appendShort(dst, b []byte) []byte {
	if len(b) > 255 {
		b = b[:255]
	}
	dst = append(dst, byte(len(b)))
	return append(dst, b...)
}

// Decode parses exactly one message from b into m without allocating.
func Decode(b []byte, m *Msg) error {
	rest, err := DecodeNext(b, m)
	if err == nil && len(rest) > 0 {
		err = ErrTrailing
	}
	return err
}

// DecodeNext parses the first message of b into m without allocating and
// returns the bytes after it: a frame's plaintext is one or more messages
// back to back, and a message's own lengths say where it ends.
func DecodeNext(b []byte, m *Msg) (rest []byte, err error) {
	if len(b) < HeaderSize {
		return nil, ErrTruncated
	}
	m.Op = Op(b[0])
	m.Flags = b[1]
	m.Seq = binary.BigEndian.Uint32(b[2:])
	m.ID = binary.BigEndian.Uint32(b[6:])
	m.Time = int64(binary.BigEndian.Uint64(b[10:]))
	rest = b[18:]
	var ok bool
	if m.Room, rest, ok = takeShort(rest); !ok {
		return nil, ErrTruncated
	}
	if m.User, rest, ok = takeShort(rest); !ok {
		return nil, ErrTruncated
	}
	if len(rest) < 4 {
		return nil, ErrTruncated
	}
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, ErrTruncated
	}
	m.Text = rest[:n:n]
	return rest[n:], nil
}

func takeShort(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, false
	}
	n := int(b[0])
	return b[1 : 1+n], b[1+n:], true
}
