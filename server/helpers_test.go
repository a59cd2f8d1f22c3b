package server

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"padchat/wire"
)

var errNotRun = errors.New("waiter not run")

func msgText(s string) *wire.Msg { return &wire.Msg{Op: wire.OpMessage, Text: []byte(s)} }

func decodedText(t *testing.T, b []byte) string {
	var m wire.Msg
	require.NoError(t, wire.Decode(b, &m))
	return string(m.Text)
}
