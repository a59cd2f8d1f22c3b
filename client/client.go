// Package client is padchat's terminal client: one goroutine, one poller over stdin and the server socket.
//
// Run opens the bundle's pads, connects, exchanges greetings, authenticates
// with a Hello frame and joins a room; then every line typed is a message or
// a command, and every frame from the server becomes a line on stdout. On a
// pipe, input and output are plain lines (see render.go for the format); on a
// terminal, the client edits the line in raw mode under a prompt.
package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/term"

	"padchat/internal/bundle"
	"padchat/internal/bytesize"
	"padchat/otp"
	"padchat/poller"
	"padchat/wire"
)

// Config is what the command line decides.
type Config struct {
	Bundle string    // bundle directory (profile.json, send.pad, recv.pad)
	Server string    // host:port; empty means the profile's
	Room   string    // joined on connect; empty means DefaultRoom
	Stdin  io.Reader // an *os.File is polled; any other reader must not block
	Stdout io.Writer
	Stderr io.Writer // warnings and errors when stdout is not a terminal; nil: stdout
	NoBell bool      // never ring the terminal bell (DMs, mentions, failed completion)
	JSON   bool      // one JSON object per event on stdout, even on a terminal

	Downloads  string // where received files go; empty: "downloads" beside the bundle
	AutoAccept int64  // files up to this size are accepted without asking (0: none; <0: the profile's)
}

const (
	DefaultRoom    = "lobby"
	HelloText      = "padchat/1"
	connectTimeout = 10 * time.Second
	quitWait       = 3 * time.Second // how long /quit waits for the server to close
)

const (
	tagSocket uint64 = iota + 1
	tagStdin
	tagSignal
)

// Run runs one session until the user quits, the server ends it, or ctx is
// done (which quits like /quit). The terminal, if one was put in raw mode, is
// restored before Run returns, on every path.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.Room == "" {
		cfg.Room = DefaultRoom
	}
	if wire.CheckName(cfg.Room) != nil {
		return fmt.Errorf("bad room name %q (1-32 of A-Z a-z 0-9 _ . -)", cfg.Room)
	}
	prof, err := bundle.Load(cfg.Bundle)
	if err != nil {
		return err
	}
	if cfg.Server == "" {
		cfg.Server = prof.Server
	}
	if cfg.AutoAccept < 0 {
		cfg.AutoAccept = 0
		if prof.AutoAccept != "" {
			if cfg.AutoAccept, err = bytesize.Parse(prof.AutoAccept); err != nil {
				return fmt.Errorf("bundle %s: auto_accept: %w", cfg.Bundle, err)
			}
		}
	}
	if cfg.Downloads == "" && prof.Downloads != "" {
		cfg.Downloads = prof.Downloads // relative to the bundle, like the pads
		if !filepath.IsAbs(cfg.Downloads) {
			cfg.Downloads = filepath.Join(cfg.Bundle, cfg.Downloads)
		}
	}
	if cfg.Downloads == "" {
		cfg.Downloads = filepath.Join(filepath.Dir(filepath.Clean(cfg.Bundle)), "downloads")
	}
	c := newClient(cfg, prof.User)
	defer func() { err = errors.Join(err, c.closePads()) }()
	if err := c.openPads(prof); err != nil {
		return err
	}
	if c.seen, err = loadSeen(cfg.Bundle); err != nil {
		return err
	}
	if c.tty != nil {
		if c.ed.hist, err = loadHistory(cfg.Bundle); err != nil {
			return err
		}
	}
	if c.p, err = poller.New(); err != nil {
		return err
	}
	defer c.p.Close()
	stopWatch := c.watch(ctx)
	defer stopWatch()
	if c.sock, c.link.addr, err = dial(ctx, c.p, cfg.Server, connectTimeout, c.interrupted.Load); err != nil {
		return err
	}
	defer func() { c.closeSocket() }()
	if c.tty != nil {
		stopSignals, err := c.watchSignals()
		if err != nil {
			return err
		}
		defer stopSignals()
	}
	defer c.restoreTerminal()
	return c.run()
}

func newClient(cfg Config, user string) *client {
	c := &client{
		cfg:        cfg,
		user:       user,
		sock:       -1,
		events:     make([]poller.Event, 8),
		dec:        newDecoder(otp.DefaultMaxFrame),
		pending:    map[uint32]request{},
		plainSeen:  map[string]bool{},
		nicks:      map[string]bool{},
		knownRooms: map[string]bool{},
		unread:     map[string]int{},
		lastID:     map[string]uint32{},
		readBuf:    make([]byte, 64<<10),
		r:          renderer{now: time.Now},
	}
	c.stdinFd, c.sigFd = -1, -1
	c.errOut = cfg.Stderr
	out := bufio.NewWriterSize(cfg.Stdout, 32<<10)
	in, inIsFile := cfg.Stdin.(*os.File)
	if inIsFile {
		c.stdinFd = int(in.Fd())
	}
	outFile, outIsFile := cfg.Stdout.(*os.File)
	// TERM=dumb cannot erase a row or move the cursor: it gets the plain
	// line-at-a-time client, the kernel editing the line.
	dumb := os.Getenv("TERM") == "dumb"
	if cfg.JSON {
		c.scr = &jsonScreen{w: out}
	} else if inIsFile && outIsFile && !dumb && term.IsTerminal(c.stdinFd) && term.IsTerminal(int(outFile.Fd())) {
		c.r.tty = true
		c.r.colour = os.Getenv("NO_COLOR") == "" // https://no-color.org: present and not empty
		c.tty = &ttyScreen{w: out, fd: int(outFile.Fd()), ed: &c.ed, colour: c.r.colour}
		c.scr = c.tty
	} else {
		c.scr = &plainScreen{w: out}
	}
	return c
}

// openPads opens the sender on send.pad and the receiver on recv.pad. Their
// state files carry a lock, so a second padchat on the same bundle stops here.
func (c *client) openPads(prof bundle.Profile) error {
	dir := c.cfg.Bundle
	var err error
	if c.sendPad, err = openPad(dir, bundle.SendPad, prof.SendPad); err != nil {
		return err
	}
	if c.recvPad, err = openPad(dir, bundle.RecvPad, prof.RecvPad); err != nil {
		return err
	}
	sendState := bundle.Path(dir, bundle.SendPad+bundle.StateSuffix)
	c.sender, err = otp.OpenSender(c.sendPad, sendState, otp.SenderOptions{MaxFrame: otp.DefaultMaxFrame})
	if err != nil {
		return padError(dir, "send", err)
	}
	recvState := bundle.Path(dir, bundle.RecvPad+bundle.StateSuffix)
	c.recv, err = otp.OpenReceiver(c.recvPad, recvState, otp.ReceiverOptions{MaxFrame: otp.DefaultMaxFrame, Contiguous: true})
	if err != nil {
		return padError(dir, "receive", err)
	}
	return nil
}

func openPad(dir, name, wantID string) (*otp.Pad, error) {
	pad, err := otp.OpenPad(bundle.Path(dir, name))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	if pad.ID().String() != wantID {
		pad.Close()
		return nil, fmt.Errorf("bundle %s: %s is not the pad profile.json names", dir, name)
	}
	return pad, nil
}

func padError(dir, which string, err error) error {
	if errors.Is(err, otp.ErrPadInUse) {
		return fmt.Errorf("%s pad of bundle %s is in use by another padchat: %w", which, dir, err)
	}
	return fmt.Errorf("%s pad of bundle %s: %w", which, dir, err)
}

// closePads saves how far the receive pad was read (Receiver.Close saves), so
// frames of this session can never be accepted again, and releases the pads
// and their locks.
func (c *client) closePads() error {
	var errs []error
	if c.recv != nil {
		errs = append(errs, c.recv.Close())
	}
	if c.sender != nil {
		errs = append(errs, c.sender.Close())
	}
	for _, p := range []*otp.Pad{c.recvPad, c.sendPad} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// watch turns ctx's end (main cancels it on SIGINT, SIGTERM and SIGHUP) into
// a flag and a poller wake-up, the only way another goroutine may reach the loop.
func (c *client) watch(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			c.interrupted.Store(true)
			_ = c.p.Wake()
		case <-done:
		}
	})
	return func() { close(done); wg.Wait() }
}

// warn shows a warning or error: in the stream on a terminal, on stderr for a
// script, so its stdout carries only events.
func (c *client) warn(format string, args ...any) {
	if c.tty != nil || c.errOut == nil {
		c.scr.println(c.r.alert(format, args...))
		return
	}
	fmt.Fprintln(c.errOut, c.r.alert(format, args...))
}
