// Targets: start the measured server (or attach to a running one) and provision its users.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"padchat/internal/benchpeer"
	"padchat/server"
)

// userSpec is a padchat bench user and the pad it needs, in bytes. AddUser
// makes both of a user's pads this size.
type userSpec struct {
	name string
	pad  int64
}

// plan is what a scenario needs from its target.
type plan struct {
	users []userSpec // native only
	dm    bool       // durable storage on: Redis AOF always, NATS JetStream
	conns int        // connections the server must accept
}

// env is a target ready to measure.
type env struct {
	dial      benchpeer.Dialer
	bundles   func(user string) string // native, started by the bench: a user's bundle dir
	pid       int
	addr      string
	provision time.Duration // native: creating the users' pads, not measured
	metrics   string        // native, started by the bench: padchatd's /metrics URL
	stop      func()
	// --nodes (cluster.go): every node's address, the pids of nodes 2..N,
	// the NATS server's pid, and how to stop what pid does not cover.
	addrs   []string
	pids    []int
	natsPid int
	rest    []func()
}

// minPad is the smallest pad a bench user gets: the handshake, joins, pings.
const minPad = 64 << 10

func startTarget(ctx context.Context, o *options, p plan, stderr io.Writer) (*env, error) {
	if o.addr != "" {
		return attachTarget(o, p)
	}
	dir, err := os.MkdirTemp(o.tmpDir, "padchat-bench-"+o.target+"-")
	if err != nil {
		return nil, err
	}
	e := &env{}
	cleanup := func() {
		if o.keep {
			fmt.Fprintf(stderr, "kept %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}
	var s *spawned
	switch o.target {
	case "native", "line":
		var padRoot string
		if padRoot, err = padDirs(o, filepath.Join(dir, "data")); padRoot != "" {
			inner := cleanup
			cleanup = func() { inner(); os.RemoveAll(padRoot) }
		}
		if err != nil {
			break
		}
		start := time.Now()
		err = provision(filepath.Join(dir, "data"), p.users, o.dialers)
		e.provision = time.Since(start)
		switch {
		case err == nil && o.nodes > 0:
			s, err = spawnCluster(ctx, o, dir, p, e)
		case err == nil:
			s, err = spawnPadchatd(ctx, o, dir, p)
		}
	case "irc":
		s, err = spawnNgircd(ctx, o, dir)
	case "redis":
		s, err = spawnRedis(ctx, o, dir, p)
	case "nats":
		s, err = spawnNATS(ctx, o, dir, p)
	}
	if err != nil {
		e.stopRest()
		cleanup()
		return nil, err
	}
	e.pid, e.addr, e.metrics = s.cmd.Process.Pid, s.addr, s.metrics
	var once sync.Once
	e.stop = func() { once.Do(func() { s.stop(); e.stopRest(); cleanup() }) }
	// Interrupted: stopping the server ends every blocked read of the run.
	context.AfterFunc(ctx, e.stop)
	bundles := func(u string) string { return server.BundleDir(filepath.Join(dir, "data"), u) }
	e.bundles = bundles
	if len(e.addrs) > 1 {
		e.dial, err = spreadDialer(o.target, e.addrs, bundles)
	} else {
		e.dial, err = benchpeer.New(o.target, e.addr, bundles)
	}
	if err != nil {
		e.stop()
		return nil, err
	}
	if p.dm && o.target == "nats" {
		if err := benchpeer.CreateStream(e.addr, "DM", "dm.>"); err != nil {
			e.stop()
			return nil, err
		}
	}
	return e, nil
}

// attachTarget measures a server someone else started.
func attachTarget(o *options, p plan) (*env, error) {
	e := &env{addr: o.addr, pid: o.pid, stop: func() {}}
	var err error
	if e.pid == 0 {
		if e.pid, err = pidListening(o.addr); err != nil {
			return nil, err
		}
	}
	if o.target == "native" {
		start := time.Now()
		if err := provision(o.dataDir, p.users, o.dialers); err != nil {
			return nil, err
		}
		e.provision = time.Since(start)
	}
	bundles := func(u string) string { return server.BundleDir(o.dataDir, u) }
	if e.dial, err = benchpeer.New(o.target, o.addr, bundles); err != nil {
		return nil, err
	}
	if p.dm && o.target == "nats" {
		err = benchpeer.CreateStream(o.addr, "DM", "dm.>")
	}
	return e, err
}

// padDirs puts the users' pads and bundles under --pad-dir (a tmpfs, say) and
// links them into the data dir, while the store stays where the data dir is.
func padDirs(o *options, data string) (string, error) {
	if err := os.MkdirAll(data, 0o700); err != nil || o.padDir == "" {
		return "", err
	}
	root, err := os.MkdirTemp(o.padDir, "padchat-bench-pads-")
	if err != nil {
		return "", err
	}
	for _, d := range []string{"users", "bundles"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			return root, err
		}
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(data, d)); err != nil {
			return root, err
		}
	}
	return root, nil
}

// provision creates the bench users, several at once (each pad is fsynced).
// Users that exist already (a reused --data dir) are left as they are.
func provision(dataDir string, users []userSpec, workers int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	ch := make(chan userSpec)
	for range max(1, min(workers, 16)) {
		wg.Go(func() {
			for u := range ch {
				err := server.AddUser(dataDir, u.name, max(u.pad, minPad), "127.0.0.1:0", "", nil)
				if err != nil && !errors.Is(err, server.ErrUserExists) {
					mu.Lock()
					first = cmp(first, fmt.Errorf("provision %s: %w", u.name, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, u := range users {
		ch <- u
	}
	close(ch)
	wg.Wait()
	return first
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// spawned is a server process this run started.
type spawned struct {
	cmd     *exec.Cmd
	addr    string
	metrics string // padchatd: its /metrics URL
	done    chan struct{}
	log     *os.File
}

// start runs the server with its output in dir/server.log; the process gets
// SIGTERM if padchat-bench dies first.
func start(ctx context.Context, dir, bin string, args ...string) (*spawned, error) {
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &spawned{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(s.done) }()
	return s, nil
}

// stop asks the server to end, then kills it after a grace period.
func (s *spawned) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
}

// fail stops the server and returns err with the end of its log.
func (s *spawned) fail(err error) error {
	s.stop()
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Errorf("%w\n--- %s:\n%s", err, s.log.Name(), b)
}

// waitListening polls until addr accepts connections or the server exits.
func (s *spawned) waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			s.addr = addr
			return nil
		}
		select {
		case <-s.done:
			return errors.New("server exited at start")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not listening on %s after 15s", addr)
}

// freePort asks the kernel for an unused loopback port.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func spawnPadchatd(ctx context.Context, o *options, dir string, p plan) (*spawned, error) {
	reserve := o.padReserve
	if reserve == "" {
		var big int64 = minPad
		for _, u := range p.users {
			big = max(big, u.pad)
		}
		reserve = strconv.FormatInt(big, 10)
	}
	// The output limit matches Redis's and NATS's in bench/: a flood run
	// measures the server's pace, not how soon it cuts off a reader that lags.
	args := []string{"--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--pad-reserve", reserve, "--max-conns", strconv.Itoa(p.conns + 100), "--log-level", "info",
		"--out-limit", strconv.Itoa(benchOutLimit)}
	// Every listener binds port 0 and the log says where it ended up: a port
	// picked beforehand (freePort) can be taken by the time padchatd binds
	// it, by the client's own connections among others.
	if o.target == "native" {
		args = append(args, "--http", "127.0.0.1:0")
	}
	if o.target == "line" {
		args = append(args, "--listen-rooms", "127.0.0.1:0")
	}
	args = append(args, o.serverArgs...)
	s, err := start(ctx, dir, o.padchatd, args...)
	if err != nil {
		return nil, err
	}
	at, err := listeningAddrs(ctx, s)
	if err != nil {
		return nil, s.fail(err)
	}
	s.addr = at.native
	if o.target == "line" {
		if s.addr = at.dialects["rooms"]; s.addr == "" {
			return nil, s.fail(errors.New("padchatd did not log its rooms listener"))
		}
	}
	if o.target == "native" {
		if at.http == "" {
			return nil, s.fail(errors.New("padchatd did not log its HTTP listener"))
		}
		s.metrics = "http://" + at.http + "/metrics"
	}
	return s, nil
}

// benchOutLimit is the per-client output limit of every started server (bench/redis.conf, bench/nats.conf).
const benchOutLimit = 256 << 20

// listening is where a started padchatd listens, as its log says.
type listening struct {
	native, http string
	dialects     map[string]string // by dialect name
}

// listeningAddrs reads the server log until padchatd says it is listening;
// the HTTP and dialect listeners log their addresses before that line.
func listeningAddrs(ctx context.Context, s *spawned) (listening, error) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(s.log.Name()); err == nil {
			at := listening{dialects: map[string]string{}}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var l struct{ Message, Addr, Dialect string }
				if json.Unmarshal(sc.Bytes(), &l) != nil {
					continue
				}
				switch l.Message {
				case "http listening":
					at.http = l.Addr
				case "dialect listening":
					at.dialects[l.Dialect] = l.Addr
				case "padchatd listening":
					f.Close()
					at.native = l.Addr
					return at, nil
				}
			}
			f.Close()
		}
		select {
		case <-s.done:
			return listening{}, errors.New("padchatd exited at start")
		case <-ctx.Done():
			return listening{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return listening{}, errors.New("padchatd did not log its address within 15s")
}

var portsLine = regexp.MustCompile(`(?m)^\s*Ports\s*=.*$`)

// spawnNgircd copies bench/ngircd.conf with a free port and runs ngircd in the foreground.
func spawnNgircd(ctx context.Context, o *options, dir string) (*spawned, error) {
	conf, err := os.ReadFile(filepath.Join(o.confDir, "ngircd.conf"))
	if err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf = portsLine.ReplaceAll(conf, []byte("\tPorts = "+port))
	path := filepath.Join(dir, "ngircd.conf")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		return nil, err
	}
	s, err := start(ctx, dir, o.ngircd, append([]string{"--nodaemon", "--config", path}, o.serverArgs...)...)
	if err != nil {
		return nil, err
	}
	if err := s.waitListening(ctx, addr); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

func spawnRedis(ctx context.Context, o *options, dir string, p plan) (*spawned, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf, err := filepath.Abs(filepath.Join(o.confDir, "redis.conf"))
	if err != nil {
		return nil, err
	}
	args := []string{conf, "--port", port, "--dir", dir, "--maxclients", strconv.Itoa(p.conns + 100)}
	if p.dm {
		// Durable like padchatd's store: the reply waits for the AOF fsync.
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	s, err := start(ctx, dir, o.redisServer, append(args, o.serverArgs...)...)
	if err != nil {
		return nil, err
	}
	if err := s.waitListening(ctx, addr); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

func spawnNATS(ctx context.Context, o *options, dir string, p plan) (*spawned, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"-c", filepath.Join(o.confDir, "nats.conf"), "-a", "127.0.0.1", "-p", port}
	if p.dm {
		args = append(args, "-js", "-sd", filepath.Join(dir, "js"))
	}
	s, err := start(ctx, dir, o.natsServer, append(args, o.serverArgs...)...)
	if err != nil {
		return nil, err
	}
	if err := s.waitListening(ctx, addr); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

// perfRecord profiles pid until the returned stop is called (no-op without --perf).
func perfRecord(o *options, pid int, stderr io.Writer) func() {
	if o.perfOut == "" {
		return func() {}
	}
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", o.perfOut)
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "perf:", err)
		return func() {}
	}
	time.Sleep(200 * time.Millisecond) // perf attaches before the measured phase starts
	return func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		fmt.Fprintf(stderr, "perf profile of pid %d in %s (perf report -i %s --no-children)\n", pid, o.perfOut, o.perfOut)
	}
}
