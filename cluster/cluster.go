// Package cluster makes padchatd one node of several over NATS JetStream.
//
// Its goroutines (nats.go's) never touch chat state: whatever they learn is
// handed to the event loop through Options.Post, which queues a function and
// wakes the poller, so one thread stays one thread.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"padchat/otp"
)

// PadBucket is the JetStream KV bucket holding each server-side sending pad's
// reserve mark, keyed by pad id.
const PadBucket = "padchat_pads"

// MaxReplicas is JetStream's own limit on the copies of a stream.
const MaxReplicas = 5

// opTimeout bounds one round trip to JetStream; a reservation that cannot be
// won within it fails, and the frames it should have covered stay unsent.
const opTimeout = 5 * time.Second

// Options: where the NATS server is and how to prove who this node is.
type Options struct {
	URL   string // nats://host:port or tls://host:port (comma-separated for several)
	Node  string // this node's name, unique in the cluster
	Creds string // NATS user credentials file (optional)
	// TLS: CA that signs the NATS server's certificate, and this node's
	// client certificate and key (optional, for mutual TLS).
	CA, Cert, Key string
	// Post hands f to the event loop; it runs there, on the loop goroutine.
	Post func(f func())
	// Replicas: copies JetStream keeps of the KV buckets and the streams
	// (0 means 1; more than 1 needs a NATS cluster of at least that many
	// JetStream servers; at most MaxReplicas).
	Replicas int
	// History: messages kept per room in the shared history (0: none).
	History int
	// Log reports a failure of a background operation; it runs on the loop.
	Log func(what string, err error)
}

// Node is this process's link to the cluster.
type Node struct {
	opt  Options
	nc   *nats.Conn
	js   jetstream.JetStream
	pads jetstream.KeyValue
	mail jetstream.Stream
	// Room history and topics (history.go).
	hist            jetstream.Stream
	cursors, topics jetstream.KeyValue
	histJS          jetstream.JetStream
	histLost        atomic.Uint64
	watches         watches            // watch.go
	locks, recv     jetstream.KeyValue // locks.go, recvmarks.go
}

// Connect dials NATS, creating the pad bucket if it does not exist yet.
func Connect(opt Options) (*Node, error) {
	if opt.Node == "" || !validToken(opt.Node) {
		return nil, fmt.Errorf("cluster: node name %q: letters, digits, - and _ only", opt.Node)
	}
	if opt.Replicas == 0 {
		opt.Replicas = 1
	}
	if opt.Replicas < 1 || opt.Replicas > MaxReplicas {
		return nil, fmt.Errorf("%w: %d: want 1 to %d", ErrReplicas, opt.Replicas, MaxReplicas)
	}
	if opt.Post == nil {
		opt.Post = func(f func()) { f() }
	}
	if opt.Log == nil {
		opt.Log = func(string, error) {}
	}
	n := &Node{opt: opt}
	nopts := []nats.Option{
		nats.Name("padchatd-" + opt.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// The buckets' watchers would be blind for 10 s or more (watch.go).
		nats.ReconnectHandler(func(*nats.Conn) { n.rewatchWanted() }),
	}
	if opt.Creds != "" {
		nopts = append(nopts, nats.UserCredentials(opt.Creds))
	}
	if opt.CA != "" || opt.Cert != "" {
		tc, err := tlsConfig(opt)
		if err != nil {
			return nil, err
		}
		nopts = append(nopts, nats.Secure(tc))
	}
	var err error
	if n.nc, err = nats.Connect(opt.URL, nopts...); err != nil {
		return nil, fmt.Errorf("cluster: connect %s: %w", Redacted(opt.URL), err)
	}
	if n.js, err = jetstream.New(n.nc); err != nil {
		n.nc.Close()
		return nil, err
	}
	if err = n.open(); err != nil {
		n.nc.Close()
		return nil, err
	}
	return n, nil
}

// open creates (or updates to this node's settings) the buckets and streams,
// each with opt.Replicas copies.
func (n *Node) open() error {
	if r := n.opt.Replicas; r > 1 && n.nc.ConnectedClusterName() == "" {
		return fmt.Errorf("%w: %d, but the NATS server %s is not in a cluster (a single server keeps 1)",
			ErrReplicas, r, n.nc.ConnectedServerName())
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var err error
	n.pads, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: PadBucket, Description: "padchat: reserve mark of each server-side sending pad",
		History: 1, Storage: jetstream.FileStorage, Replicas: n.opt.Replicas,
	})
	if err != nil {
		return n.replicasErr("pad bucket", err)
	}
	if err = n.openMail(ctx); err != nil {
		return n.replicasErr("mail stream", err)
	}
	if err = n.openHistory(ctx); err != nil {
		return n.replicasErr("history", err)
	}
	if err = n.openLocks(ctx); err != nil {
		return n.replicasErr("lock bucket", err)
	}
	if err = n.openRecv(ctx); err != nil {
		return n.replicasErr("receive mark bucket", err)
	}
	return nil
}

// JetStream's answers when a stream cannot have as many copies as asked for
// (nats-server's JSClusterNoPeersErrF, JSInsufficientResourcesErr).
const (
	jsNoPeers      jetstream.ErrorCode = 10005
	jsInsufficient jetstream.ErrorCode = 10023
)

// replicasErr names what could not be created, and says so when the reason
// is fewer JetStream servers than replicas.
func (n *Node) replicasErr(what string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jsNoPeers || apiErr.ErrorCode == jsInsufficient) && n.opt.Replicas > 1 {
		return fmt.Errorf("%w: %d: %s: the NATS cluster %s has fewer JetStream servers: %w",
			ErrReplicas, n.opt.Replicas, what, n.nc.ConnectedClusterName(), err)
	}
	return fmt.Errorf("cluster: %s: %w", what, err)
}

func tlsConfig(opt Options) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if opt.CA != "" {
		pem, err := os.ReadFile(opt.CA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster: no certificate in %s", opt.CA)
		}
	}
	if opt.Cert != "" || opt.Key != "" {
		c, err := tls.LoadX509KeyPair(opt.Cert, opt.Key)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// validToken: usable in a NATS subject token and a KV key.
func validToken(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// Redacted is urls (comma-separated) with any password replaced, for logs.
func Redacted(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// Connected: the node's NATS connection is up now. While it is not, a
// request would wait for the reconnection or its timeout.
func (n *Node) Connected() bool { return n.nc.IsConnected() }

// Name is this node's name.
func (n *Node) Name() string { return n.opt.Node }

// Close drains the connection.
func (n *Node) Close() {
	n.stopWatches()
	if n.nc != nil {
		_ = n.nc.Drain()
	}
}

// PadClaim is the Claimer of the server-side sending pad id: its reserve mark
// in the pad bucket, advanced only by compare-and-set.
func (n *Node) PadClaim(id otp.PadID) otp.Claimer {
	return padClaim{kv: n.pads, key: id.String()}
}

type padClaim struct {
	kv  jetstream.KeyValue
	key string
}

func (c padClaim) Load() (int64, uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	e, err := c.kv.Get(ctx, c.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("cluster: pad mark %s: %w", c.key, err)
	}
	mark, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil || mark < 0 {
		return 0, 0, fmt.Errorf("cluster: pad mark %s: bad value %q", c.key, e.Value())
	}
	return mark, e.Revision(), nil
}

func (c padClaim) Advance(mark int64, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	v := []byte(strconv.FormatInt(mark, 10))
	var (
		nrev uint64
		err  error
	)
	if rev == 0 {
		nrev, err = c.kv.Create(ctx, c.key, v)
	} else {
		nrev, err = c.kv.Update(ctx, c.key, v, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("%w (pad %s): %w", otp.ErrClaimLost, c.key, err)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: pad mark %s: %w", c.key, err)
	}
	return nrev, nil
}

// Replicas reports, for each of the account's streams (a KV bucket is a
// stream too), how many servers hold a copy: its leader and its replicas.
func (n *Node) Replicas() (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out := map[string]int{}
	l := n.js.ListStreams(ctx)
	for si := range l.Info() {
		copies := 1
		if si.Cluster != nil {
			copies += len(si.Cluster.Replicas)
		}
		out[si.Config.Name] = copies
	}
	return out, l.Err()
}
