package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeEnv makes this test binary, started as nats-server or padchatd (by a
// link of that name), a stand-in for that server (fakeServer).
const fakeEnv = "PADCHAT_BENCH_FAKE"

// helpers are other programs this test binary can be, by the name it is
// started as (with fakeEnv set), for tests of their own files.
var helpers = map[string]func(){}

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) != "" {
		if h := helpers[filepath.Base(os.Args[0])]; h != nil {
			h()
			return
		}
		fakeServer(filepath.Base(os.Args[0]), os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

// fakeServer is a nats-server that listens where -p says, or a padchatd that
// writes its pid beside its data dir and says where it listens, except node
// n2, which fails at start. Both run until they are stopped.
func fakeServer(name string, args []string) {
	arg := func(flag string) string {
		if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	switch name {
	case "nats-server":
		if _, err := net.Listen("tcp", "127.0.0.1:"+arg("-p")); err != nil {
			os.Exit(1)
		}
	case "padchatd":
		pid := []byte(strconv.Itoa(os.Getpid()))
		if os.WriteFile(filepath.Join(filepath.Dir(arg("--data")), "pid"), pid, 0o600) != nil || arg("--node") == "n2" {
			os.Exit(1)
		}
		fmt.Println(`{"message":"padchatd listening","addr":"127.0.0.1:1"}`)
	}
	time.Sleep(time.Hour)
}

// A node that fails to start leaves no node running: node 1, which the
// caller would stop only once spawnCluster succeeded, is stopped too.
func TestSpawnClusterStopsNode1WhenAnotherFails(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	bin, dir := t.TempDir(), t.TempDir()
	for _, n := range []string{"nats-server", "padchatd"} {
		require.NoError(t, os.Symlink(self, filepath.Join(bin, n)))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o700))
	t.Setenv(fakeEnv, "1")
	o := &options{target: "native", nodes: 2, confDir: dir,
		natsServer: filepath.Join(bin, "nats-server"), padchatd: filepath.Join(bin, "padchatd")}
	e := &env{}
	_, err = spawnCluster(context.Background(), o, dir, plan{}, e)
	require.Error(t, err, "node 2 fails to start")
	e.stopRest() // as startTarget does on an error

	b, err := os.ReadFile(filepath.Join(dir, "n1", "pid"))
	require.NoError(t, err, "node 1 ran")
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	alive := syscall.Kill(pid, 0) == nil
	if alive {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	assert.False(t, alive, "node 1 left running")
}

// One sample gives the nodes' sum and each node's CPU, which add up.
func TestSampleGivesEachNodesCPU(t *testing.T) {
	self := os.Getpid()
	e := &env{pid: self, pids: []int{self}, natsPid: self}
	sum, nodes, err := e.sample()
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	assert.Equal(t, sum.CPU, nodes[0]+nodes[1])
	e.natsPid = 0
	_, nodes, err = e.sample()
	require.NoError(t, err)
	assert.Nil(t, nodes, "no per-node figures without --nodes")
}
