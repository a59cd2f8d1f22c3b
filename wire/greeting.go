// The clear-text greeting that opens a native session, and the clear refusal that can end it.
package wire

// Greeting: "PCG" | version u8 | nonce [16]. Each side sends one as its first
// bytes; every frame's tag is bound to both nonces.
const GreetingSize = 3 + 1 + 16

// AppendGreeting encodes a greeting carrying nonce.
func AppendGreeting(dst []byte, nonce [16]byte) []byte {
	dst = append(dst, 'P', 'C', 'G', ProtocolVersion)
	return append(dst, nonce[:]...)
}

// ParseGreeting reads a greeting from exactly GreetingSize bytes.
func ParseGreeting(b []byte) (nonce [16]byte, err error) {
	if len(b) != GreetingSize || b[0] != 'P' || b[1] != 'C' || b[2] != 'G' {
		return nonce, ErrNotPadchat
	}
	if b[3] != ProtocolVersion {
		return nonce, ErrVersion
	}
	copy(nonce[:], b[4:])
	return nonce, nil
}

// Refusal: "PX" | code u8 | len u8 | text. Sent in clear in place of a frame when
// the server cannot authenticate the first frame (it has no pad to seal with),
// then the server closes. It carries no secret; anyone on the path could also
// just reset the connection.
const RefusalMin = 4

// Refusal codes.
const (
	RefuseUnknownPad = 1 // older servers: no user holds this pad (padchatd now sends RefuseBadFrame)
	RefuseBadFrame   = 2 // the first frame did not verify, whatever the cause (one answer: no oracle)
	RefuseBusy       = 3 // too many connections
	RefuseShutdown   = 4
)

// AppendRefusal encodes a refusal.
func AppendRefusal(dst []byte, code byte, text string) []byte {
	if len(text) > 255 {
		text = text[:255]
	}
	dst = append(dst, 'P', 'X', code, byte(len(text)))
	return append(dst, text...)
}

// IsRefusal reports whether b (at least 2 bytes) starts a refusal, not a frame.
func IsRefusal(b []byte) bool { return len(b) >= 2 && b[0] == 'P' && b[1] == 'X' }

// ParseRefusal returns the code and text if b holds a whole refusal; ok is false
// when more bytes are needed.
func ParseRefusal(b []byte) (code byte, text string, ok bool) {
	if len(b) < RefusalMin || len(b) < RefusalMin+int(b[3]) {
		return 0, "", false
	}
	return b[2], string(b[RefusalMin : RefusalMin+int(b[3])]), true
}
