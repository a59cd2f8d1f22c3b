package client

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"padchat/otp"
	"padchat/wire"
)

// FuzzDecoder: any server stream, split anywhere, decodes to the same items
// (or the same error) as when it arrives whole, and never panics or buffers
// more than one frame.
func FuzzDecoder(f *testing.F) {
	g := wire.AppendGreeting(nil, [otp.NonceSize]byte{9})
	f.Add(append(g, wire.AppendRefusal(nil, 1, "no")...), uint8(1))
	f.Add(append(g, bytes.Repeat([]byte("PC\x01\x02"), 20)...), uint8(3))
	f.Add([]byte("PCG\x01"), uint8(0))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		whole, errWhole := decodeAll(t, stream, len(stream)+1)
		split, errSplit := decodeAll(t, stream, int(cut)+1)
		require.Equal(t, errWhole == nil, errSplit == nil, "whole: %v, split: %v", errWhole, errSplit)
		require.Equal(t, whole, split)
		for _, it := range whole {
			require.LessOrEqual(t, len(it.frame), otp.Overhead+otp.DefaultMaxFrame)
		}
	})
}
