// Admin socket: how `padchatd user …` tells a running daemon what it changed.
//
// The daemon listens on DATA/admin.sock (a unix socket, mode 0600, never the
// network) while it serves. The user commands edit the files under DATA/users
// themselves, then send one line per account, "sync NAME"; the loop re-reads
// that one account (its pad id, account id and lock: three small files) and
// applies the change at once: a new account is known, a removed one's session
// ends with its reason and its pads and mailbox go, a renewed one's old bundle
// is refused from that moment. Before a remove or a renew touches the files,
// "hold NAME" opens the pads of a session that parked while idle, so its
// Bye can still be sealed. The answer is one line, "ok WHAT" or
// "error WHY". With no daemon listening the commands finish the work
// themselves (the mailbox of a removed account is dropped from the store).
//
// This is the only way the account index changes after start: nothing a peer
// sends makes the daemon read the users directory.
package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"padchat/wire"
)

// AdminSocket is the admin socket's name in the data dir.
const AdminSocket = "admin.sock"

func adminPath(dataDir string) string { return filepath.Join(dataDir, AdminSocket) }

// maxAdminLine bounds one command; a longer one closes the connection.
const maxAdminLine = 4 << 10

// startAdmin listens on the admin socket. The store's lock on the data dir
// keeps other daemons out, so a socket file found here is a dead daemon's.
func (l *Loop) startAdmin() error {
	path := adminPath(l.cfg.DataDir)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("admin socket: %w", err)
	}
	if _, err := l.listenOn("unix", path, func(*Conn) handler { return &adminConn{l: l} }); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	// The data dir is 0700 already; the socket says the same on its own.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	l.adminSock = path
	return nil
}

// stopAdmin removes the socket file, so the user commands know no daemon runs.
func (l *Loop) stopAdmin() {
	if l.adminSock != "" {
		os.Remove(l.adminSock)
		l.adminSock = ""
	}
}

// adminConn serves one admin client: a line in, a line out.
type adminConn struct{ l *Loop }

func (a *adminConn) onData(c *Conn, b []byte) int {
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			if len(b)-used > maxAdminLine {
				c.kill(ReasonProtocol)
			}
			return used
		}
		answer := a.l.adminCommand(string(b[used : used+i]))
		used += i + 1
		c.queue([]byte(answer + "\n"))
	}
}

// isAdmin: the operator's connections are not clients, so the metrics of
// accepted and closed connections leave them out.
func isAdmin(c *Conn) bool { _, ok := c.h.(*adminConn); return ok }

func (a *adminConn) onDeadline(*Conn, int64) int64 { return 0 }
func (a *adminConn) onClose(*Conn)                 {}

// adminCommand runs one command line and returns its answer line.
func (l *Loop) adminCommand(line string) string {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch cmd {
	case "sync":
		what, err := l.hub.acct.sync(arg)
		if err != nil {
			return "error " + err.Error()
		}
		l.log.Info().Str("user", arg).Str("change", what).Msg("account changed by the operator")
		l.hub.clusterSynced(arg, what)
		return "ok " + what
	}
	if cmd == "hold" {
		return "ok " + l.hub.hold(arg)
	}
	if cmd == "list" {
		b, err := json.Marshal(l.hub.acct.list())
		if err != nil {
			return "error " + err.Error()
		}
		return "ok " + string(b)
	}
	return fmt.Sprintf("error unknown admin command %q", cmd)
}

// sync makes the index agree with the account name has on disk now, and says
// what changed.
func (a *Accounts) sync(name string) (string, error) {
	if err := wire.CheckName(name); err != nil {
		return "", fmt.Errorf("bad user name %q", name)
	}
	old := a.byName[name]
	u, err := loadUser(filepath.Join(a.dir, name), name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if old == nil {
			return "", fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		online := old.session != nil
		a.evict(old, wire.ByeRemoved, "this account was removed by the operator")
		return "removed" + closed(online), nil
	case err != nil:
		return "", err
	case old == nil:
		a.add(u)
		return "added", nil
	case old.sendID == u.sendID && old.id == u.id:
		was := old.lockWhy
		old.lockWhy = u.lockWhy
		switch {
		case was != "" && u.lockWhy == "":
			return "unlocked", nil
		case was == "" && u.lockWhy != "":
			return "locked", nil
		}
		return "unchanged", nil
	}
	online := old.session != nil
	what := "replaced by a new account"
	if old.id != "" && old.id == u.id {
		what = "renewed"
		a.evict(old, wire.ByeRenewed, "this account was renewed: its old bundle is no longer accepted; use the new one")
	} else {
		a.evict(old, wire.ByeRemoved, "this account was removed by the operator")
	}
	a.add(u)
	return what + closed(online), nil
}

func closed(online bool) string {
	if online {
		return "; its session was closed"
	}
	return ""
}

// tellSync tells a running daemon that name's account changed on disk and
// returns what the daemon did; with no daemon running, offline.
func tellSync(dataDir, name, offline string) (answer string, running bool, err error) {
	answer, running, err = tellDaemon(dataDir, "sync "+name)
	if !running && err == nil {
		answer = offline
	}
	return answer, running, err
}

// tellDaemon sends one admin command to the daemon serving dataDir and
// returns its answer; running is false when no daemon listens there.
func tellDaemon(dataDir, line string) (answer string, running bool, err error) {
	c, err := net.DialTimeout("unix", adminPath(dataDir), 2*time.Second)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return "", false, nil // no socket, or a dead daemon's
		}
		return "", false, fmt.Errorf("admin socket: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
		return "", true, fmt.Errorf("admin socket: %w", err)
	}
	r, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", true, fmt.Errorf("admin socket: no answer from the daemon: %w", err)
	}
	r = strings.TrimSuffix(r, "\n")
	if why, ok := strings.CutPrefix(r, "error "); ok {
		return "", true, errors.New(why)
	}
	return strings.TrimPrefix(r, "ok "), true, nil
}
