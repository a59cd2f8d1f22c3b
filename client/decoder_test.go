// The stream decoder, fed in pieces down to one byte, and its rejections.
package client

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/otp"
	"padchat/wire"
)

// decodeAll feeds stream in pieces of at most step bytes and collects the items.
func decodeAll(t *testing.T, stream []byte, step int) ([]item, error) {
	t.Helper()
	d := newDecoder(otp.DefaultMaxFrame)
	var items []item
	for len(stream) > 0 {
		p := stream[:min(step, len(stream))]
		stream = stream[len(p):]
		for len(p) > 0 {
			n, it, err := d.feed(p)
			if err != nil {
				return items, err
			}
			p = p[n:]
			if it.kind != itemNone {
				it.frame = append([]byte(nil), it.frame...) // valid only until the next feed
				items = append(items, it)
			}
		}
	}
	return items, nil
}

func TestDecoderSplitAnywhere(t *testing.T) {
	_, pads := newBundle(t, "carol", "127.0.0.1:1", 1<<10, 1<<16)
	var sess otp.Session
	nonce := [otp.NonceSize]byte{1, 2, 3}
	stream := wire.AppendGreeting(nil, nonce)
	var frames [][]byte
	for _, text := range []string{"one", "", "three, a longer one"} {
		start := len(stream)
		var err error
		stream, err = pads.seal.Seal(stream, wire.Append(nil, &wire.Msg{Op: wire.OpMessage, Text: []byte(text)}), otp.ToClient, &sess)
		require.NoError(t, err)
		frames = append(frames, stream[start:])
	}
	refused := append(wire.AppendGreeting(nil, nonce), wire.AppendRefusal(nil, wire.RefuseUnknownPad, "who are you")...)
	refused = append(refused, "ignored after a refusal"...)

	for _, step := range []int{1, 2, 7, 33, len(stream)} {
		items, err := decodeAll(t, stream, step)
		require.NoError(t, err, "step %d", step)
		require.Len(t, items, 4, "step %d", step)
		assert.Equal(t, item{kind: itemGreeting, nonce: nonce}, items[0])
		for i, f := range frames {
			assert.Equal(t, itemFrame, items[i+1].kind)
			assert.Equal(t, f, items[i+1].frame, "step %d frame %d", step, i)
		}

		items, err = decodeAll(t, refused, step)
		require.NoError(t, err, "step %d", step)
		require.Len(t, items, 2, "step %d", step)
		assert.Equal(t, item{kind: itemRefusal, code: wire.RefuseUnknownPad, text: "who are you"}, items[1])
	}
}

func TestDecoderRejects(t *testing.T) {
	_, pads := newBundle(t, "carol", "127.0.0.1:1", 1<<10, 1<<16)
	var sess otp.Session
	frame, err := pads.seal.Seal(nil, []byte("x"), otp.ToClient, &sess)
	require.NoError(t, err)
	huge := append([]byte(nil), frame[:otp.HeaderSize]...)
	binary.BigEndian.PutUint32(huge[otp.HeaderSize-4:], otp.DefaultMaxFrame+1)
	badMagic := append([]byte("XX"), frame[2:]...)
	greeting := wire.AppendGreeting(nil, [otp.NonceSize]byte{})

	for _, tt := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"not a greeting", []byte("SSH-2.0-OpenSSH_9.6\r\n"), wire.ErrNotPadchat},
		{"greeting of another version", append([]byte("PCG\x09"), make([]byte, 16)...), wire.ErrVersion},
		{"frame over the limit", slices.Concat(greeting, huge), otp.ErrFrameTooLarge},
		{"bad magic", slices.Concat(greeting, badMagic), otp.ErrBadFrame},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder(otp.DefaultMaxFrame)
			var err error
			for i := 0; i < len(tt.stream) && err == nil; i++ {
				_, _, err = d.feed(tt.stream[i : i+1])
			}
			require.ErrorIs(t, err, tt.want)
			// The header was judged before any buffer grew to the length it claims.
			assert.LessOrEqual(t, cap(d.buf), 64)
		})
	}
}
