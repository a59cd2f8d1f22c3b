// The message service is no relay: pushes carry no line breaks and go only to unprivileged ports.
package tests

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessageServiceRefusesRelay(t *testing.T) {
	d, addr := startMsgSvc(t)
	victim := newInbox(t) // stands in for Redis or any line protocol on loopback
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Eve", "eve", "01/01/2000"))
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Mallory", "mal", "01/01/2000"))

	for _, port := range []string{"1", "22", "80", "443", "1023"} {
		assert.Equal(t, []string{"3"}, call(t, addr, "CONNECT", "mal", port), "port %s", port)
	}
	for _, alias := range []string{"a\r\nb", "a\nb", "a\x1bb"} {
		assert.Equal(t, []string{"2"}, call(t, addr, "REGISTER", "X", alias, "01/01/2000"), "alias %q", alias)
	}
	require.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "mal", victim.port()))

	for _, text := range []string{
		"\r\nCONFIG SET dir /tmp\r\nSET pwned 1\r\n",
		"line\nbreak",
		"carriage\rreturn",
		"bell\a",
		"escape\x1b[2J",
		"nul-free but \x01",
	} {
		assert.Equal(t, []string{"2"}, call(t, addr, "SEND", "eve", "mal", text), "text %q", text)
	}
	victim.quiet(t, 300*time.Millisecond)

	// A tab is text, and a clean message still goes through.
	reply := call(t, addr, "SEND", "eve", "mal", "tab\tseparated")
	require.Len(t, reply, 2)
	assert.Equal(t, "0", reply[0])
	victim.expect(t, "SEND_MESSAGE", "eve", reply[1], "tab\tseparated")
	assert.NotContains(t, d.logs.String(), "pwned")
}

func TestMessageServiceMinPushPort(t *testing.T) {
	in := newInbox(t)
	port, err := strconv.Atoi(in.port())
	require.NoError(t, err)
	_, addr := startMsgSvc(t, "--msgsvc-min-push-port", strconv.Itoa(port+1))
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	assert.Equal(t, []string{"3"}, call(t, addr, "CONNECT", "ann", strconv.Itoa(port)), "below the configured minimum")
	assert.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "ann", strconv.Itoa(port+1)), "at the minimum")

	_, addr = startMsgSvc(t, "--msgsvc-min-push-port", "1")
	require.Equal(t, []string{"0"}, call(t, addr, "REGISTER", "Ann", "ann", "01/01/2000"))
	assert.Equal(t, []string{"0"}, call(t, addr, "CONNECT", "ann", "1023"), "1: any port")
}

func TestMessageServiceWarnsBeyondLoopback(t *testing.T) {
	const warning = "message service listening beyond loopback"
	d, _ := startMsgSvc(t)
	assert.NotContains(t, d.logs.String(), warning)
	d = startServer(t, "--listen-msgsvc", "0.0.0.0:0")
	logAddr(t, d, "s> init server ")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(d.logs.String(), warning) }, "the warning\n%s", d.logs)
}
