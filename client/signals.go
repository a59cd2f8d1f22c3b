// Terminal signals (resize, continue) reach the loop through a self-pipe the poller watches.
package client

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"padchat/poller"
)

// suspendProcess stops the process as the terminal's ctrl-Z would; a
// variable so that a test can stand in for the shell's fg.
var suspendProcess = func() error { return unix.Kill(unix.Getpid(), unix.SIGTSTP) }

// watchSignals forwards SIGWINCH and SIGCONT, one byte each, into a pipe the
// poller watches, so the loop handles them between events like any input.
func (c *client) watchSignals() (stop func(), err error) {
	var fds [2]int
	// pipe + fcntl rather than pipe2, which macOS does not have.
	if err := unix.Pipe(fds[:]); err != nil {
		return nil, os.NewSyscallError("pipe", err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return nil, os.NewSyscallError("fcntl", err)
		}
	}
	c.sigFd = fds[0]
	if err := c.p.Add(fds[0], poller.Readable, tagSignal); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGWINCH, syscall.SIGCONT)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case s := <-ch:
				// A full pipe already holds a wake-up; dropping this byte loses nothing.
				_, _ = unix.Write(fds[1], []byte{byte(s.(syscall.Signal))})
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
		_ = c.p.Remove(fds[0])
		unix.Close(fds[0])
		unix.Close(fds[1])
		c.sigFd = -1
	}, nil
}

// readSignals handles the signals that arrived.
func (c *client) readSignals() {
	var buf [16]byte
	n, err := unix.Read(c.sigFd, buf[:])
	if err != nil || n <= 0 {
		return
	}
	for _, b := range buf[:n] {
		switch syscall.Signal(b) {
		case syscall.SIGWINCH:
			c.tty.edited() // redraw fits the prompt row to the new width
		case syscall.SIGCONT:
			c.resumeTerminal()
		}
	}
}

// suspend gives the terminal back as it was, stops the process, and takes
// it again when the shell continues it.
func (c *client) suspend() {
	c.tty.hide()
	if c.rawState != nil {
		_ = term.Restore(c.stdinFd, c.rawState)
	}
	if err := suspendProcess(); err != nil {
		c.warn("cannot suspend: %v", err)
	}
	c.resumeTerminal()
}

// resumeTerminal puts the terminal back in raw mode (the shell may have
// reset it while the job was stopped) and redraws. Doing it twice is harmless.
func (c *client) resumeTerminal() {
	if c.rawState == nil || c.done {
		return
	}
	if _, err := term.MakeRaw(c.stdinFd); err != nil {
		c.fail(err)
		return
	}
	if !c.tty.active {
		c.tty.active = true
		c.tty.w.WriteString(pasteOn)
	}
	c.tty.edited()
}
