// UDP chat's return-routability cookie: an address joins only by echoing a line only its receiver saw.
package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// A cookie is a keyed MAC of the address and a time bucket, so the server
// keeps nothing for an address that has not answered: a spoofed source costs
// one reply of at most 3× its datagram and no table entry.
const (
	udpCookieLen    = 10 // base32 characters: 50 bits of MAC
	udpCookiePrefix = "join "
	udpCookieBucket = time.Minute // a cookie lives for one to two buckets
	// udpAmplification is QUIC's anti-amplification limit (RFC 9000 §8.1):
	// an address not yet proven gets at most this many times its bytes.
	udpAmplification = 3
)

var udpCookieEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// udpCookies mints and checks cookies under a key drawn at start: a restart
// makes the old ones useless, which only costs a newcomer one more round.
type udpCookies struct{ key [32]byte }

func newUDPCookies() (*udpCookies, error) {
	c := &udpCookies{}
	if _, err := rand.Read(c.key[:]); err != nil {
		return nil, fmt.Errorf("udp cookie key: %w", err)
	}
	return c, nil
}

// mint is the cookie of sa in the bucket that holds now (unix nanos).
func (c *udpCookies) mint(sa unix.Sockaddr, now int64) string {
	return c.at(sa, now/int64(udpCookieBucket))
}

func (c *udpCookies) at(sa unix.Sockaddr, bucket int64) string {
	port, ip := sockaddrPort(sa)
	m := hmac.New(sha256.New, c.key[:])
	var b [8 + 2 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(bucket))
	binary.BigEndian.PutUint16(b[8:10], uint16(port))
	copy(b[10:], ip.To16())
	m.Write(b[:])
	return udpCookieEnc.EncodeToString(m.Sum(nil)[:7])[:udpCookieLen]
}

// parseUDPCookie returns the cookie of a "join <cookie>" line, nc's line end
// and surrounding spaces allowed; ok is false for anything else.
func parseUDPCookie(text []byte) (cookie []byte, ok bool) {
	for len(text) > 0 && (text[len(text)-1] == '\n' || text[len(text)-1] == '\r' || text[len(text)-1] == ' ') {
		text = text[:len(text)-1]
	}
	for len(text) > 0 && text[0] == ' ' {
		text = text[1:]
	}
	if len(text) != len(udpCookiePrefix)+udpCookieLen || string(text[:len(udpCookiePrefix)]) != udpCookiePrefix {
		return nil, false
	}
	cookie = text[len(udpCookiePrefix):]
	for _, ch := range cookie {
		if !(ch >= 'a' && ch <= 'z' || ch >= '2' && ch <= '7') {
			return nil, false
		}
	}
	return cookie, true
}

// valid reports whether text is the join line of sa for this bucket or the one before.
func (c *udpCookies) valid(sa unix.Sockaddr, text []byte, now int64) bool {
	cookie, ok := parseUDPCookie(text)
	if !ok {
		return false
	}
	bucket := now / int64(udpCookieBucket)
	for _, b := range []int64{bucket, bucket - 1} {
		if subtle.ConstantTimeCompare(cookie, []byte(c.at(sa, b))) == 1 {
			return true
		}
	}
	return false
}

// challenge is the longest invitation to echo the cookie that fits in
// udpAmplification× the n bytes received, or nil when none does.
func (c *udpCookies) challenge(sa unix.Sockaddr, now int64, welcome string, n int) []byte {
	line := udpCookiePrefix + c.mint(sa, now)
	for _, s := range []string{
		welcome + " To join, send: " + line,
		"To join, send: " + line,
		line,
	} {
		if len(s) <= udpAmplification*n {
			return []byte(s)
		}
	}
	return nil
}
