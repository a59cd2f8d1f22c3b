// Files between the real client and daemon: online, offline, resumed after kills, tampered, unsafe names, limits.
package tests

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/server"
	"padchat/wire"
)

const fileTestSize = 20 << 20

// filePads are big enough for a 20 MB file and its overhead, with reserve.
const filePads = 48 << 20

// randomFile writes size random bytes to dir/name and returns its path and sha256.
func randomFile(t *testing.T, dir, name string, size int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p, sha256.Sum256(b)
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// waitLine waits up to limit for an output line containing s and returns it.
func (c *chatter) waitLine(s string, limit time.Duration) string {
	c.t.Helper()
	return c.await(fmt.Sprintf("line with %q", s), limit, func(l string) bool { return strings.Contains(l, s) })
}

func assertNoPartials(t *testing.T, dir string) {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, ".padchat-*.part"))
	require.NoError(t, err)
	assert.Empty(t, parts)
}

func fileUsers(t *testing.T, d *daemon, names ...string) {
	t.Helper()
	for _, n := range names {
		d.addUser(n, filePads)
	}
}

func TestFileToOnlineUser(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	src, sum := randomFile(t, t.TempDir(), "photo.bin", fileTestSize)
	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "30MiB")
	bob.waitLine("joined lobby", 10*time.Second)
	alice := startClient(t, d, "alice")
	alice.waitLine("joined lobby", 10*time.Second)

	alice.say("/send bob " + src)
	cost := alice.waitLine("file photo.bin: 20.0 MiB, sha256 ", 10*time.Second)
	assert.Contains(t, cost, "uses 20.0 MiB of your 47.9 MiB send pad") // 48 MiB less the pad id and the hello: rounded down
	bob.waitLine("received photo.bin from alice", 60*time.Second)
	alice.waitLine("bob received photo.bin", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "photo.bin")))
	assertNoPartials(t, down)

	require.NoError(t, alice.stdin.Close())
	assert.NoError(t, alice.exit())
}

// uploadForBob starts alice and has her send bob (offline) a new random
// file of size bytes, returning once the daemon holds all of it.
func uploadForBob(t *testing.T, d *daemon, name string, size int) (alice *chatter, sum [32]byte) {
	t.Helper()
	src, sum := randomFile(t, t.TempDir(), name, size)
	alice = startClient(t, d, "alice")
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	alice.waitLine(name+" uploaded", 60*time.Second)
	return alice, sum
}

func TestFileToOfflineUserDeliveredOnConnect(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	alice, sum := uploadForBob(t, d, "report.pdf", fileTestSize)

	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down)
	offer := bob.waitLine("file offer ", 10*time.Second)
	assert.Contains(t, offer, "from alice: report.pdf, 20.0 MiB")
	id := strings.Fields(strings.TrimPrefix(offer[strings.Index(offer, "file offer "):], "file offer "))[0]
	bob.say("/accept " + id)
	bob.waitLine("received report.pdf from alice", 60*time.Second)
	alice.waitLine("bob received report.pdf", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "report.pdf")))

	// The transfer is gone from the daemon once the receipt is out.
	waitFor(t, 10*time.Second, func() bool { e, _ := os.ReadDir(filepath.Join(d.data, "files")); return len(e) == 0 }, "the spool to empty")
}

// countingProxy forwards TCP to the daemon and counts the bytes each way;
// while slowUp (slowDown) is set, it forwards that way at about 4 MB/s.
// flipUp, when not 0, is the count of client bytes at which one is inverted
// on its way to the daemon (once).
type countingProxy struct {
	ln               net.Listener
	up, down         atomic.Int64
	slowUp, slowDown atomic.Bool
	flipUp           atomic.Int64
	wg               sync.WaitGroup
}

func startProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &countingProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Go(func() { pipe(s, c, &p.up, &p.slowUp, &p.flipUp); s.Close(); c.Close() })
			p.wg.Go(func() { pipe(c, s, &p.down, &p.slowDown, nil); c.Close(); s.Close() })
		}
	})
	return p
}

func pipe(dst, src net.Conn, count *atomic.Int64, slow *atomic.Bool, flip *atomic.Int64) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && flip != nil {
			if at := flip.Load() - count.Load(); at > 0 && at <= int64(n) && flip.CompareAndSwap(flip.Load(), 0) {
				buf[at-1] ^= 0xff
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			count.Add(int64(n))
			if slow.Load() {
				time.Sleep(4 * time.Millisecond) // 16 KiB per 4 ms: about 4 MB/s
			}
		}
		if err != nil {
			return
		}
	}
}

// A transfer cut by killing the sending client, then the daemon, resumes from
// what the daemon had: the bytes clients send, counted on the wire, add up to
// one copy of the file (plus frame overhead), not one and a half.
func TestFileResumesAfterClientAndDaemonKilled(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	src, sum := randomFile(t, t.TempDir(), "big.iso", fileTestSize)
	proxy := startProxy(t, d.addr) // a restarted daemon keeps its address
	proxy.slowUp.Store(true)

	alice := startClient(t, d, "alice", "--server", proxy.ln.Addr().String())
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	waitFor(t, 30*time.Second, func() bool { return proxy.up.Load() > 8<<20 }, "8 MiB through the proxy")
	require.NoError(t, alice.cmd.Process.Kill())
	alice.exit()
	// The daemon reads what alice sent before she died, then sees her go.
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(d.logs.String(), "disconnected") }, "alice's disconnect")
	cut := proxy.up.Load()
	d.kill9()
	d.start()
	proxy.slowUp.Store(false)

	alice = startClient(t, d, "alice", "--server", proxy.ln.Addr().String())
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	resumed := alice.waitLine("resuming at", 10*time.Second)
	alice.waitLine("big.iso uploaded", 60*time.Second)
	total := proxy.up.Load()
	t.Logf("first session sent %d bytes, both sessions %d bytes for a %d-byte file (%s)", cut, total, fileTestSize, resumed)
	assert.Less(t, total, int64(fileTestSize)+fileTestSize/100+64<<10, "bytes sent again after the resume")
	assert.Greater(t, cut, int64(8<<20))

	down := t.TempDir()
	startClient(t, d, "bob", "--downloads", down, "--auto-accept", "30MiB").waitLine("received big.iso from alice", 60*time.Second)
	alice.waitLine("bob received big.iso", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "big.iso")))
}

// A file changed in the daemon's spool after its upload reaches bob damaged:
// his client checks the sha256, discards it, never gives it its name, and
// alice hears that it arrived damaged.
func TestFileTamperedIsNotCompleted(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	alice, _ := uploadForBob(t, d, "contract.txt", 1<<20)

	spool, err := filepath.Glob(filepath.Join(d.data, "files", "*", "data"))
	require.NoError(t, err)
	require.Len(t, spool, 1)
	f, err := os.OpenFile(spool[0], os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("X"), 512<<10)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "2MiB")
	bob.waitLine("contract.txt from alice is damaged", 10*time.Second)
	alice.waitLine("bob reports contract.txt arrived damaged", 10*time.Second)
	entries, err := os.ReadDir(down)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing, not even a partial file, stays behind")
	require.NoError(t, alice.stdin.Close())
	assert.Error(t, alice.exit(), "a script whose file arrived damaged exits non-zero")
	require.NoError(t, bob.stdin.Close())
	assert.Error(t, bob.exit(), "so does the one that received it damaged")
}

// The daemon checks the sha256 of a finished upload itself: bytes that do not
// match the offer are never offered as the file.
func TestFileUploadNotMatchingItsSumFails(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	a := dial(t, d, "alice")
	data := bytes.Repeat([]byte("padchat "), 1024)
	claimed := sha256.Sum256([]byte("something else"))
	ok := request(t, a, wire.Msg{Op: wire.OpFileOffer, User: []byte("bob"), Time: int64(len(data)), Text: append(claimed[:], "x.bin"...)})
	require.Equal(t, wire.OpOK, ok.Op, "%s", ok.Text)
	_, err := a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: ok.ID, Time: 0, Text: data})
	require.NoError(t, err)
	failed := expect(t, a, "file failed", func(m *wire.Msg) bool { return m.Op == wire.OpFileFailed })
	assert.Equal(t, ok.ID, failed.ID)
	assert.Contains(t, string(failed.Text), "do not match its sha256")
	e, _ := os.ReadDir(filepath.Join(d.data, "files"))
	assert.Empty(t, e)
}

// A sender-supplied name with path elements lands as a plain name.
func TestFileUnsafeNameLandsInDownloads(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	a := dial(t, d, "alice")
	data := []byte("not where you think")
	sum := sha256.Sum256(data)
	ok := request(t, a, wire.Msg{Op: wire.OpFileOffer, User: []byte("bob"), Time: int64(len(data)), Text: append(sum[:], "../../x"...)})
	require.Equal(t, wire.OpOK, ok.Op, "%s", ok.Text)
	_, err := a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: ok.ID, Text: data})
	require.NoError(t, err)
	expect(t, a, "upload acked", func(m *wire.Msg) bool { return m.Op == wire.OpFileAcked && m.Time == int64(len(data)) })

	root := t.TempDir()
	down := filepath.Join(root, "a", "b", "downloads")
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "1KiB")
	bob.waitLine("received ../../x from alice: "+filepath.Join(down, "x"), 10*time.Second)
	got, err := os.ReadFile(filepath.Join(down, "x"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	_, err = os.Stat(filepath.Join(root, "a", "x"))
	assert.True(t, os.IsNotExist(err), "nothing written outside the downloads dir")

	// The same name again does not overwrite it.
	ok = request(t, a, wire.Msg{Op: wire.OpFileOffer, User: []byte("bob"), Time: int64(len(data)), Text: append(sum[:], "x"...)})
	require.Equal(t, wire.OpOK, ok.Op)
	_, err = a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: ok.ID, Text: data})
	require.NoError(t, err)
	bob.waitLine("received x from alice: "+filepath.Join(down, "x (1)"), 10*time.Second)
}

func TestFileOverLimitsIsRefused(t *testing.T) {
	d := startServer(t, "--file-max", "1MiB", "--file-mailbox", "1536KiB")
	fileUsers(t, d, "alice", "bob")
	dir := t.TempDir()
	big, _ := randomFile(t, dir, "big.bin", 2<<20)
	one, _ := randomFile(t, dir, "one.bin", 1<<20)
	two, _ := randomFile(t, dir, "two.bin", 1<<20)
	alice := startClient(t, d, "alice")
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + big)
	alice.waitLine("big.bin not sent: file refused: 2MiB is over the server's limit of 1MiB per file", 10*time.Second)
	alice.say("/send bob " + one)
	alice.waitLine("one.bin uploaded", 10*time.Second)
	alice.say("/send bob " + two)
	alice.waitLine("two.bin not sent: file refused: bob's file mailbox would hold 2MiB, over the limit of 1536KiB", 10*time.Second)
	require.NoError(t, alice.stdin.Close())
	assert.Error(t, alice.exit(), "a script whose file was refused exits non-zero")
}

// The same on the receiving side: bob's client killed mid-download, then the
// daemon; bob resumes from his partial file, and the bytes the daemon sends
// him add up to one copy of the file, not one and a half.
func TestFileDownloadResumesAfterClientAndDaemonKilled(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	alice, sum := uploadForBob(t, d, "movie.mkv", fileTestSize)
	require.NoError(t, alice.stdin.Close())
	require.NoError(t, alice.exit())

	proxy := startProxy(t, d.addr) // a restarted daemon keeps its address
	proxy.slowDown.Store(true)
	down := t.TempDir()
	bob := startClient(t, d, "bob", "--server", proxy.ln.Addr().String(), "--downloads", down, "--auto-accept", "30MiB")
	waitFor(t, 30*time.Second, func() bool { return proxy.down.Load() > 8<<20 }, "8 MiB through the proxy")
	require.NoError(t, bob.cmd.Process.Kill())
	bob.exit()
	cut := proxy.down.Load()
	d.kill9()
	d.start()
	proxy.slowDown.Store(false)
	_, err := os.Stat(filepath.Join(down, "movie.mkv"))
	require.True(t, os.IsNotExist(err), "a partial file never has the file's name")

	bob = startClient(t, d, "bob", "--server", proxy.ln.Addr().String(), "--downloads", down, "--auto-accept", "30MiB")
	resumed := bob.waitLine("receiving movie.mkv, resuming at", 10*time.Second)
	bob.waitLine("received movie.mkv from alice", 60*time.Second)
	total := proxy.down.Load()
	t.Logf("first session received %d bytes, both sessions %d bytes for a %d-byte file (%s)", cut, total, fileTestSize, resumed)
	assert.Less(t, total, int64(fileTestSize)+fileTestSize/100+2<<20, "bytes sent again after the resume")
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "movie.mkv")))
	assertNoPartials(t, down)
}

// A file to a room goes to every other encrypted member, each with a receipt.
func TestFileToRoom(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob", "carol")
	src, sum := randomFile(t, t.TempDir(), "slides.odp", 3<<20)
	downs := map[string]string{}
	var members []*chatter
	for _, n := range []string{"bob", "carol"} {
		downs[n] = t.TempDir()
		c := startClient(t, d, n, "--downloads", downs[n], "--auto-accept", "4MiB")
		c.waitLine("joined lobby", 10*time.Second)
		members = append(members, c)
	}
	alice := startClient(t, d, "alice")
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send #lobby " + src)
	for i, c := range members {
		c.waitLine("received slides.odp from alice", 30*time.Second)
		assert.Equal(t, sum, fileSum(t, filepath.Join(downs[c.name], "slides.odp")), "member %d", i)
	}
	receipts := map[string]bool{}
	for range 2 { // in either order
		l := alice.waitLine(" received slides.odp", 10*time.Second)
		receipts[strings.Fields(strings.TrimPrefix(l, "-- "))[0]] = true
	}
	assert.Equal(t, map[string]bool{"bob": true, "carol": true}, receipts)
}

// A recipient removed while its file waits: the sender hears so, and the
// spool lets go of the file; a new bob gets nothing of it.
func TestFileToRemovedUserIsDropped(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	alice, _ := uploadForBob(t, d, "old.txt", 100<<10)
	// With the daemon running the command says the daemon will notice (and
	// exits 1); the daemon drops the account when it next looks it up.
	out, _ := runBin("padchatd", "user", "remove", "bob", "--data", d.data)
	require.Contains(t, out, "removed", out)
	alice.say("/msg bob are you there?")
	alice.waitLine("bob account removed old.txt", 10*time.Second)
	waitFor(t, 10*time.Second, func() bool { e, _ := os.ReadDir(filepath.Join(d.data, "files")); return len(e) == 0 }, "the spool to empty")
}

// The daemon restarts under two running clients in the middle of a transfer:
// both reconnect, the sender re-offers and goes on from the daemon's offset,
// the receiver asks for the rest of its partial file.
func TestFileSurvivesDaemonRestartUnderRunningClients(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	src, sum := randomFile(t, t.TempDir(), "live.bin", fileTestSize)
	proxy := startProxy(t, d.addr)
	proxy.slowUp.Store(true)
	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "30MiB")
	bob.waitLine("joined lobby", 10*time.Second)
	alice := startClient(t, d, "alice", "--server", proxy.ln.Addr().String())
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	bob.waitLine("receiving live.bin: 20%", 30*time.Second)
	d.kill9()
	d.start()
	proxy.slowUp.Store(false)
	alice.waitLine("resuming at", 30*time.Second)
	bob.waitLine("receiving live.bin, resuming at", 30*time.Second)
	bob.waitLine("received live.bin from alice", 60*time.Second)
	alice.waitLine("bob received live.bin", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "live.bin")))
	assert.Less(t, proxy.up.Load(), int64(fileTestSize)+fileTestSize/100+2<<20, "bytes alice sent again after the restart")
}

// Neither side spends its pad below the reserve on a file: the sender's
// client refuses to send it, the recipient's refuses to accept it.
func TestFilePadReserveIsKept(t *testing.T) {
	d := startServer(t)
	d.addUser("alice", filePads)
	d.addUser("bob", 2<<20)
	d.addUser("carol", 2<<20)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, "half.bin", 1536<<10)

	carol := startClient(t, d, "carol")
	carol.waitLine("joined lobby", 10*time.Second)
	carol.say("/send alice " + src)
	carol.waitLine("not sent: half.bin would leave", 10*time.Second)

	alice := startClient(t, d, "alice")
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	alice.waitLine("half.bin uploaded", 10*time.Second)
	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "2MiB")
	offer := bob.waitLine("file offer ", 10*time.Second)
	id := strings.Fields(strings.TrimPrefix(offer[strings.Index(offer, "file offer "):], "file offer "))[0]
	bob.say("/accept " + id)
	// Warnings go to stderr, unbuffered: they may come before the offer line.
	bob.await("second refusal", 10*time.Second, func(string) bool {
		n := 0
		for _, l := range bob.seen {
			if strings.Contains(l, "file "+id+" would leave") {
				n++
			}
		}
		return n == 2 // the offer's, and the /accept's
	})
	bob.say("/reject " + id)
	alice.waitLine("bob rejected half.bin", 10*time.Second)
	e, _ := os.ReadDir(down)
	assert.Empty(t, e)
}

// A script's EOF waits for its upload; the receipt for a sender who has gone
// waits in the spool until she is back.
func TestFileScriptEOFWaitsAndReceiptWaitsForSender(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	src, sum := randomFile(t, t.TempDir(), "late.bin", 4<<20)
	alice := startClient(t, d, "alice")
	alice.say("/send bob " + src)
	require.NoError(t, alice.stdin.Close()) // at once: EOF must wait for the upload
	alice.waitLine("late.bin uploaded", 30*time.Second)
	require.NoError(t, alice.exit(), "the upload finished: exit 0")

	down := t.TempDir()
	bob := startClient(t, d, "bob", "--downloads", down, "--auto-accept", "8MiB")
	bob.waitLine("received late.bin from alice", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "late.bin")))
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(d.logs.String(), `"outcome":"received"`) }, "bob's outcome")

	alice = startClient(t, d, "alice")
	alice.waitLine("bob received file", 10*time.Second) // the new client knows only the id
	waitFor(t, 10*time.Second, func() bool { e, _ := os.ReadDir(filepath.Join(d.data, "files")); return len(e) == 0 }, "the spool to empty")
}

// A chunk changed on the wire is rejected by the daemon (its frame fails
// authentication and the connection closes, nothing of it written); the
// client reconnects, resumes from the last acknowledged offset, and the file
// that arrives is the one sent.
func TestFileChunkTamperedOnTheWireIsRejected(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	src, sum := randomFile(t, t.TempDir(), "wire.bin", 4<<20)
	proxy := startProxy(t, d.addr)
	proxy.flipUp.Store(2 << 20) // inside a chunk, half way
	alice := startClient(t, d, "alice", "--server", proxy.ln.Addr().String())
	alice.waitLine("joined lobby", 10*time.Second)
	alice.say("/send bob " + src)
	alice.waitLine("connection lost", 10*time.Second)
	d.waitLog("frame failed authentication")
	alice.waitLine("resuming at", 10*time.Second)
	alice.waitLine("wire.bin uploaded", 30*time.Second)

	down := t.TempDir()
	startClient(t, d, "bob", "--downloads", down, "--auto-accept", "8MiB").waitLine("received wire.bin from alice", 30*time.Second)
	assert.Equal(t, sum, fileSum(t, filepath.Join(down, "wire.bin")))
}

// A file its only recipient rejects while it is still uploading stops there:
// the sender gets the receipt and is told the transfer is over, instead of
// sending chunks nobody will take.
func TestFileRejectedDuringUploadStopsIt(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	a, b := dial(t, d, "alice"), dial(t, d, "bob")
	data := bytes.Repeat([]byte("unwanted "), 4*wire.FileChunk/9)
	sum := sha256.Sum256(data)
	ok := request(t, a, wire.Msg{Op: wire.OpFileOffer, User: []byte("bob"), Time: int64(len(data)), Text: append(sum[:], "u.bin"...)})
	require.Equal(t, wire.OpOK, ok.Op, "%s", ok.Text)
	_, err := a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: ok.ID, Text: data[:wire.FileChunk]})
	require.NoError(t, err)
	expect(t, a, "first ack", func(m *wire.Msg) bool { return m.Op == wire.OpFileAcked && m.Time == wire.FileChunk })
	offer := expect(t, b, "offer", func(m *wire.Msg) bool { return m.Op == wire.OpFileOffered })
	_, err = b.Send(&wire.Msg{Op: wire.OpFileReject, ID: offer.ID})
	require.NoError(t, err)

	receipt := expect(t, a, "receipt", func(m *wire.Msg) bool { return m.Op == wire.OpFileReceipt })
	assert.Equal(t, "rejected", string(receipt.Text))
	failed := expect(t, a, "the end of the transfer", func(m *wire.Msg) bool { return m.Op == wire.OpFileFailed })
	assert.Equal(t, ok.ID, failed.ID)
	waitFor(t, 10*time.Second, func() bool { e, _ := os.ReadDir(filepath.Join(d.data, "files")); return len(e) == 0 }, "the spool to empty")
}

// The bundle's profile.json may carry the user's file preferences, so a
// client started without flags accepts small files into the place it names.
func TestFileProfilePreferences(t *testing.T) {
	d := startServer(t)
	fileUsers(t, d, "alice", "bob")
	dir := server.BundleDir(d.data, "bob")
	path := filepath.Join(dir, bundle.ProfileFile)
	prof, err := bundle.Load(dir)
	require.NoError(t, err)
	prof.AutoAccept, prof.Downloads = "1KiB", "inbox"
	b, err := json.Marshal(prof)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))

	a := dial(t, d, "alice")
	data := []byte("small enough to take unasked")
	sum := sha256.Sum256(data)
	ok := request(t, a, wire.Msg{Op: wire.OpFileOffer, User: []byte("bob"), Time: int64(len(data)), Text: append(sum[:], "note.txt"...)})
	require.Equal(t, wire.OpOK, ok.Op, "%s", ok.Text)
	_, err = a.Send(&wire.Msg{Op: wire.OpFileChunk, ID: ok.ID, Text: data})
	require.NoError(t, err)

	inbox := filepath.Join(dir, "inbox")
	bob := startClient(t, d, "bob")
	bob.waitLine("received note.txt from alice: "+filepath.Join(inbox, "note.txt"), 10*time.Second)
	got, err := os.ReadFile(filepath.Join(inbox, "note.txt"))
	require.NoError(t, err)
	assert.Equal(t, data, got)
}
