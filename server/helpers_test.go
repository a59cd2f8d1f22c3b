package server

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"padchat/wire"
)

var errNotRun = errors.New("waiter not run")

// msgText is a room message as the hub encodes it for delivery and history.
func msgText(s string) []byte {
	return wire.Append(nil, &wire.Msg{Op: wire.OpMessage, Text: []byte(s)})
}

func decodedText(t *testing.T, b []byte) string {
	var m wire.Msg
	require.NoError(t, wire.Decode(b, &m))
	return string(m.Text)
}

// provision adds a user to l's data dir and to its index, as the admin socket
// does for a running daemon (these tests drive the loop by hand).
func provision(tb testing.TB, l *Loop, name string, size int64) {
	tb.Helper()
	require.NoError(tb, AddUser(l.cfg.DataDir, name, size, "x", "", nil))
	_, err := l.hub.acct.sync(name)
	require.NoError(tb, err)
}
