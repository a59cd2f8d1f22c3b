package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/server"
)

// withThrowaway adds a protocol no file of cmd/padchatd names, as a newcomer's
// registerDialect call would, for the rest of the test.
func withThrowaway(t *testing.T) {
	saved := protocols
	protocols = func() []server.Protocol {
		return append(server.Protocols(), server.Protocol{Name: "echo", Help: "echo `address` (plain text)",
			Options: []server.Option{{Name: "echo-repeat", Help: "`times` each line is echoed", Default: 2, Min: 1, Max: 9}}})
	}
	t.Cleanup(func() { protocols = saved })
}

func runCmd(t *testing.T, args ...string) (string, error) {
	var out, errb strings.Builder
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), err
}

func TestConfigRegisteredProtocolGetsFlagKeyAndHelp(t *testing.T) {
	withThrowaway(t)
	out, err := runCmd(t, "-h")
	require.NoError(t, err)
	assert.Contains(t, out, "  -listen-echo address\n    \techo address (plain text)\n")
	assert.Contains(t, out, "  -echo-repeat times\n    \ttimes each line is echoed (default 2)\n")

	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	require.NoError(t, os.WriteFile(good, []byte("listen-echo = 127.0.0.1:7\necho-repeat = 3\n"), 0o600))
	out, err = runCmd(t, "check-config", good)
	require.NoError(t, err)
	assert.Contains(t, out, "\nlisten-echo = 127.0.0.1:7\n")
	assert.Contains(t, out, "\necho-repeat = 3\n")

	o, _, err := parseServe([]string{"--config", good, "--echo-repeat", "4"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"echo": "127.0.0.1:7"}, o.cfg.Listeners)
	assert.Equal(t, map[string]int{"echo-repeat": 4}, o.cfg.ProtocolOptions, "the command line wins over the file")

	bad := filepath.Join(dir, "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("# range\necho-repeat = 10\necho-repeat = often\n"), 0o600))
	_, err = runCmd(t, "check-config", bad)
	assert.ErrorContains(t, err, bad+`:2: echo-repeat = "10": 10 is outside 1..9`)
	assert.ErrorContains(t, err, bad+`:3: echo-repeat = "often": not a whole number`)
}

// The registry keeps the names operators already use.
func TestConfigProtocolFlagNames(t *testing.T) {
	o, _, err := parseServe([]string{"--listen-linechat", "a:1", "--listen-rooms", "b:2", "--listen-msgsvc", "c:3",
		"--listen-udp", "d:4", "--msgsvc-min-push-port", "1"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"linechat": "a:1", "rooms": "b:2", "msgsvc": "c:3", "udp": "d:4"}, o.cfg.Listeners)
	assert.Equal(t, map[string]int{"msgsvc-min-push-port": 1}, o.cfg.ProtocolOptions)

	o, fs, err := parseServe(nil)
	require.NoError(t, err)
	assert.Empty(t, o.cfg.Listeners, "every protocol is off by default")
	assert.Equal(t, "1024", fs.Lookup("msgsvc-min-push-port").Value.String())
}
