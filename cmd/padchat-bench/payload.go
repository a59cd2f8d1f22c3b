// Message payloads: a printable header (send time, sequence, publisher) every protocol carries as text.
package main

import "time"

// payloadHeader is "T" + 16 hex digits of send time + 8 of sequence + 4 of
// publisher + "."; the rest of the payload is filler. Sequence 0 is the warm-up.
const payloadHeader = 1 + 16 + 8 + 4 + 1

// clock is monotonic nanoseconds since the run began; publishers and
// subscribers share the process, so send and receive times compare directly.
type clock struct{ base time.Time }

func newClock() clock      { return clock{time.Now()} }
func (c clock) now() int64 { return int64(time.Since(c.base)) }

func newPayload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

const hexDigits = "0123456789abcdef"

func putHex(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hexDigits[v&15]
		v >>= 4
	}
}

func getHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// stamp writes the header into b.
func stamp(b []byte, sent int64, seq uint32, pub int) {
	b[0] = 'T'
	putHex(b[1:17], uint64(sent))
	putHex(b[17:25], uint64(seq))
	putHex(b[25:29], uint64(pub))
	b[29] = '.'
}

// parseStamp reads the header back.
func parseStamp(b []byte) (sent int64, seq uint32, pub int, ok bool) {
	if len(b) < payloadHeader || b[0] != 'T' || b[29] != '.' {
		return 0, 0, 0, false
	}
	t, ok1 := getHex(b[1:17])
	s, ok2 := getHex(b[17:25])
	p, ok3 := getHex(b[25:29])
	return int64(t), uint32(s), int(p), ok1 && ok2 && ok3
}
