// The daemon's command line as an operator meets it: help, version, config checks.
package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runDaemonCmd runs padchatd to completion and returns its output and exit code.
func runDaemonCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := execCommand("padchatd", args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &ee)
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

func TestHelpExitsZeroAndListsSubcommands(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		out, _, code := runDaemonCmd(t, arg)
		assert.Zero(t, code, arg)
		for _, want := range []string{"padchatd check-config FILE", "padchatd user add NAME", "padchatd user list",
			"padchatd user remove NAME", "--version", "-listen-linechat", "-out-limit"} {
			assert.Contains(t, out, want, arg)
		}
		for _, course := range []string{"001", "002", "003", "004", "seed"} {
			assert.NotContains(t, out, course, "no course document numbers in %s", arg)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := runDaemonCmd(t, "--version")
	assert.Zero(t, code)
	assert.True(t, strings.HasPrefix(out, "padchatd "), "%q", out)
	assert.Contains(t, out, "go1.")
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	require.NoError(t, os.WriteFile(good, []byte("# ok\nout-limit = 4MiB\nidle-timeout = 5m\nlisten-rooms = 127.0.0.1:0\n"), 0o600))
	out, errOut, code := runDaemonCmd(t, "check-config", good)
	require.Zero(t, code, errOut)
	assert.Contains(t, out, "out-limit = 4MiB\n")
	assert.Contains(t, out, "idle-timeout = 5m0s\n")
	assert.Contains(t, out, "listen-rooms = 127.0.0.1:0\n")
	assert.Contains(t, out, "pad-reserve = 1MiB\n", "defaults are shown too")

	bad := filepath.Join(dir, "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("out-limit = 4MiB\n\nlisten-lobby = :1\nmax-conns = many\nidle-timeout = 5 minutes\nno equals sign\n"), 0o600))
	out, errOut, code = runDaemonCmd(t, "check-config", bad)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, bad+`:6: want`, "a malformed line")

	bad2 := filepath.Join(dir, "bad2.conf")
	require.NoError(t, os.WriteFile(bad2, []byte("out-limit = 4MiB\n\nlisten-lobby = :1\nmax-conns = many\nidle-timeout = 5 minutes\n"), 0o600))
	_, errOut, code = runDaemonCmd(t, "check-config", bad2)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, bad2+`:3: unknown setting "listen-lobby"`)
	assert.Contains(t, errOut, bad2+`:4: max-conns`)
	assert.Contains(t, errOut, bad2+`:5: idle-timeout`)
	assert.NotContains(t, errOut, "Usage", "no usage dump for a config mistake")
	assert.NotContains(t, errOut, "-auth-timeout")

	// Serving with the same file fails the same way, before binding anything.
	_, errOut, code = runDaemonCmd(t, "--config", bad2, "--data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, bad2+`:3: unknown setting "listen-lobby"`)
}
