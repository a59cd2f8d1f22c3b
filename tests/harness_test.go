// Helpers for black-box tests: build the real binaries once, start them on port 0, talk to them.
package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/server"
	"padchat/wire"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "padchat-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../cmd/padchatd", "../cmd/padchat")
	if os.Getenv("PADCHAT_NO_CLIENT") != "" {
		build.Args = build.Args[:len(build.Args)-1]
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output for inspection while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is a running padchatd.
type daemon struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	data string
	args []string
	logs *lockedBuffer
	// logFile: the daemon logs there (--log-file); start tails it for the address.
	logFile string
	// nofile, when set, is the daemon's RLIMIT_NOFILE (set by a shell before exec).
	nofile int
	// env is added to the daemon's environment at the next start.
	env  []string
	done chan error
}

// startServer runs padchatd on 127.0.0.1:0 with a fresh data dir.
func startServer(t testing.TB, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, data: t.TempDir(), args: args}
	t.Cleanup(d.kill) // registered first: a start that fails must not leak the process
	d.start()
	return d
}

// startServerLogFile is startServer for a daemon that logs to a file.
func startServerLogFile(t *testing.T, logFile string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, data: t.TempDir(), args: args, logFile: logFile}
	t.Cleanup(d.kill)
	d.start()
	return d
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

// start (re)starts the daemon on its data dir and waits for its address.
func (d *daemon) start() {
	d.t.Helper()
	listen := "127.0.0.1:0"
	if d.addr != "" {
		listen = d.addr // a restart keeps the address the bundles name
	}
	args := append([]string{"--data", d.data, "--listen", listen, "--log-level", "debug"}, d.args...)
	d.cmd = exec.Command(filepath.Join(binDir, "padchatd"), args...)
	if d.nofile > 0 {
		sh := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, d.nofile)
		d.cmd = exec.Command("sh", append([]string{"-c", sh, filepath.Join(binDir, "padchatd")}, args...)...)
	}
	if len(d.env) > 0 {
		d.cmd.Env = append(os.Environ(), d.env...)
	}
	d.logs = &lockedBuffer{}
	pr, pw := io.Pipe()
	d.cmd.Stderr = io.MultiWriter(d.logs, pw)
	d.cmd.Stdout = d.logs
	require.NoError(d.t, d.cmd.Start())
	d.done = make(chan error, 1)
	exited := make(chan struct{})
	go func() { err := d.cmd.Wait(); close(exited); d.done <- err; pw.Close() }()
	addr := make(chan string, 1)
	if d.logFile != "" {
		go tailFile(d.logFile, pw, exited)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "padchatd listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case d.addr = <-addr:
	case err := <-d.done:
		d.done = nil // consumed: kill must not wait for it again
		d.t.Fatalf("padchatd exited at start: %v\n%s", err, d.logs)
	case <-time.After(10 * time.Second):
		d.t.Fatalf("padchatd did not start\n%s", d.logs)
	}
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (d *daemon) stop() error {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done = nil
		return err
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		return fmt.Errorf("padchatd did not stop on SIGTERM")
	}
}

// kill9 crashes the daemon.
func (d *daemon) kill9() {
	d.cmd.Process.Kill()
	if d.done != nil {
		<-d.done
		d.done = nil
	}
}

func (d *daemon) kill() {
	if d.done != nil {
		d.kill9()
	}
}

// addUser provisions a user with small pads and returns its bundle dir.
func (d *daemon) addUser(name string, padSize int64) string {
	d.t.Helper()
	if padSize == 0 {
		padSize = 1 << 20
	}
	require.NoError(d.t, server.AddUser(d.data, name, padSize, d.addr, "", nil))
	return server.BundleDir(d.data, name)
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(s string) {
	d.t.Helper()
	waitFor(d.t, 10*time.Second, func() bool { return strings.Contains(d.logs.String(), s) }, "log line %q\n%s", s, d.logs)
}

func waitFor(t testing.TB, limit time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+msg, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dial connects a native test client as user (provisioning it if needed).
func dial(t *testing.T, d *daemon, user string) *pcclient.Client {
	t.Helper()
	dir := server.BundleDir(d.data, user)
	if _, err := os.Stat(dir); err != nil {
		dir = d.addUser(user, 0)
	}
	c, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// expect reads messages until one satisfies match, failing after 10 s.
func expect(t *testing.T, c *pcclient.Client, what string, match func(m *wire.Msg) bool) wire.Msg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		var m wire.Msg
		if err := c.Recv(&m); err != nil {
			t.Fatalf("%s: waiting for %s: %v", c.User, what, err)
		}
		if match(&m) {
			return clone(m)
		}
	}
}

// request sends m and returns the reply with the same Seq.
func request(t *testing.T, c *pcclient.Client, m wire.Msg) wire.Msg {
	t.Helper()
	seq, err := c.Send(&m)
	require.NoError(t, err)
	return expect(t, c, fmt.Sprintf("reply to op %d", m.Op), func(r *wire.Msg) bool {
		return r.Seq == seq && r.Op >= wire.OpOK && r.Op != wire.OpMessage && r.Op != wire.OpDirect
	})
}

func clone(m wire.Msg) wire.Msg {
	m.Room = append([]byte(nil), m.Room...)
	m.User = append([]byte(nil), m.User...)
	m.Text = append([]byte(nil), m.Text...)
	return m
}

func join(t *testing.T, c *pcclient.Client, room string) {
	t.Helper()
	r := request(t, c, wire.Msg{Op: wire.OpJoin, Room: []byte(room)})
	require.Equal(t, wire.OpOK, r.Op, "join %s: %s", room, r.Text)
}

// tailFile copies a growing log file into w until done is closed.
func tailFile(path string, w io.Writer, done <-chan struct{}) {
	var off int64
	for {
		if b, err := os.ReadFile(path); err == nil && int64(len(b)) > off {
			w.Write(b[off:])
			off = int64(len(b))
		}
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func execCommand(name string, args ...string) *exec.Cmd {
	return exec.Command(filepath.Join(binDir, name), args...)
}
