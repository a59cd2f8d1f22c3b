package wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	for _, m := range []Msg{
		{Op: OpHello, Text: []byte("padchat/1")},
		{Op: OpMessage, Flags: FlagHistory | FlagMe, Seq: 7, ID: 1<<32 - 1, Time: -5, Room: []byte("lobby"), User: []byte("alice"), Text: []byte("héllo ❤️")},
		{Op: OpError, ID: uint32(CodeNoSuchRoom)},
	} {
		var got Msg
		require.NoError(t, Decode(Append(nil, &m), &got))
		assert.Equal(t, m.Op, got.Op)
		assert.Equal(t, m.Flags, got.Flags)
		assert.Equal(t, m.Seq, got.Seq)
		assert.Equal(t, m.ID, got.ID)
		assert.Equal(t, m.Time, got.Time)
		assert.Equal(t, string(m.Room), string(got.Room))
		assert.Equal(t, string(m.User), string(got.User))
		assert.Equal(t, string(m.Text), string(got.Text))
	}
}

func TestDecodeRejectsEveryTruncationAndTrailingBytes(t *testing.T) {
	b := Append(nil, &Msg{Op: OpSay, Room: []byte("r"), User: []byte("u"), Text: []byte("text")})
	var m Msg
	for i := 0; i < len(b); i++ {
		assert.ErrorIs(t, Decode(b[:i], &m), ErrTruncated, "prefix of %d bytes", i)
	}
	assert.ErrorIs(t, Decode(append(b, 0), &m), ErrTrailing)
}

// TestDecodeNextSeveralPerFrame: a v2 frame's plaintext is messages back to
// back; DecodeNext walks them, and a cut anywhere inside the last is an error.
func TestDecodeNextSeveralPerFrame(t *testing.T) {
	msgs := []Msg{
		{Op: OpMessage, Room: []byte("r"), User: []byte("a"), Text: []byte("one")},
		{Op: OpJoined, Room: []byte("r"), User: []byte("b")},
		{Op: OpMessage, Room: []byte("r"), User: []byte("b"), Text: []byte("three")},
	}
	var frame []byte
	for i := range msgs {
		frame = Append(frame, &msgs[i])
	}
	var got []string
	var m Msg
	for rest := frame; len(rest) > 0; {
		var err error
		rest, err = DecodeNext(rest, &m)
		require.NoError(t, err)
		got = append(got, string(m.User)+":"+string(m.Text))
		assert.Equal(t, len(m.Text), cap(m.Text), "text does not reach into the next message")
	}
	assert.Equal(t, []string{"a:one", "b:", "b:three"}, got)
	last := len(Append(nil, &msgs[2]))
	for cut := 1; cut < last; cut++ {
		rest := frame[:len(frame)-cut]
		var err error
		for len(rest) > 0 && err == nil {
			rest, err = DecodeNext(rest, &m)
		}
		assert.ErrorIs(t, err, ErrTruncated, "cut %d", cut)
	}
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{"alice": true, "a.b-c_d9": true, "": false, ".x": false, "-x": false,
		"has space": false, "ü": false, "x/y": false, string(bytes.Repeat([]byte("a"), 33)): false} {
		assert.Equal(t, ok, ValidName([]byte(name)), "%q", name)
	}
}

func TestGreetingAndRefusal(t *testing.T) {
	nonce := [16]byte{1, 2, 3}
	got, err := ParseGreeting(AppendGreeting(nil, nonce))
	require.NoError(t, err)
	assert.Equal(t, nonce, got)
	_, err = ParseGreeting([]byte("SSH-2.0-OpenSSH_9\r\n\x00"))
	assert.ErrorIs(t, err, ErrNotPadchat)
	r := AppendRefusal(nil, RefuseUnknownPad, "no such pad")
	for i := 0; i < len(r); i++ {
		_, _, ok := ParseRefusal(r[:i])
		assert.False(t, ok)
	}
	code, text, ok := ParseRefusal(r)
	require.True(t, ok)
	assert.Equal(t, byte(RefuseUnknownPad), code)
	assert.Equal(t, "no such pad", text)
}

// FuzzDecode: any bytes either fail to decode or re-encode to exactly themselves.
func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, &Msg{Op: OpSay, Room: []byte("lobby"), Text: []byte("hi")}))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Msg
		if Decode(b, &m) != nil {
			return
		}
		require.Equal(t, b, Append(nil, &m))
	})
}
