// Config: every limit and address of the daemon, with defaults that suit a laptop and a small server.
package server

import (
	"math"
	"time"

	"golang.org/x/sys/unix"

	"padchat/cluster"
)

// Config is what padchatd runs with. Zero values take the defaults below.
type Config struct {
	Listen        string        // native OTP listener, host:port
	DataDir       string        // users, pads, store
	MaxMessage    int           // bytes of text in one chat message
	MaxFrame      int           // bytes of plaintext in one native frame
	OutLimit      int           // bytes queued for one connection before it is cut off
	MaxConns      int           // connections at once; accept pauses past it; 0: DefaultMaxConns()
	MaxPerIP      int           // connections from one IP (0: no limit)
	PerIPLoopback bool          // apply MaxPerIP to loopback peers too
	IdleTimeout   time.Duration // no bytes from a peer for this long: close (pinged at half)
	AuthTimeout   time.Duration // a native peer must authenticate within this
	HistorySize   int           // room messages kept for replay on join (0: none)
	LogMessages   bool          // print every message as "<user>: text" (the line-chat console format)
	Welcome       string        // text of the welcome event
	ReserveStep   int64         // minimum pad reserve-ahead step
	ReserveMax    int64         // largest pad reserve-ahead step (0: otp's default)
	BurnPads      bool          // zero consumed pad ranges
	MailBatch     int           // mailbox messages pushed per refill
	FileMax       int64         // bytes of one offered file
	FileMailbox   int64         // bytes of files waiting for one recipient
	SelectBackend bool          // use the portable select(2) poller

	// Plain-text protocols (dialects.go), each off unless Listeners has an
	// address for its name ("linechat", "rooms", "msgsvc", "udp"), and HTTP.
	Listeners       map[string]string
	ProtocolOptions map[string]int // a protocol's own settings by name (Protocol.Options); unset: default
	HTTP            string         // web service (the message service's FormatMSG), /healthz, /metrics
	PlainRoom       string         // the room dialect users are put in
	OpenPlain       bool           // native clients may join PlainRoom (it is not encrypted)
	// Cluster makes the daemon one node of several over NATS JetStream
	// (docs/CLUSTER.md); off while Cluster.URL is empty.
	Cluster cluster.Options
}

// Defaults.
const (
	DefaultListen      = "127.0.0.1:7070"
	DefaultDataDir     = "var"
	DefaultMaxMessage  = 4096
	DefaultMaxFrame    = 64 << 10
	DefaultOutLimit    = 4 << 20
	DefaultMaxPerIP    = 256
	DefaultIdleTimeout = 5 * time.Minute
	DefaultAuthTimeout = 10 * time.Second
	DefaultHistorySize = 100
	DefaultWelcome     = "Welcome to the best chat in the universe!"
	DefaultMailBatch   = 256
	DefaultPlainRoom   = "lobby"
	DefaultFileMax     = 1 << 30
	DefaultFileMailbox = 4 << 30
)

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	def(&c.MaxMessage, DefaultMaxMessage)
	def(&c.MaxFrame, DefaultMaxFrame)
	def(&c.OutLimit, DefaultOutLimit)
	def(&c.MaxConns, DefaultMaxConns())
	def(&c.MailBatch, DefaultMailBatch)
	if c.FileMax <= 0 {
		c.FileMax = DefaultFileMax
	}
	if c.FileMailbox <= 0 {
		c.FileMailbox = DefaultFileMailbox
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AuthTimeout <= 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.PlainRoom == "" {
		c.PlainRoom = DefaultPlainRoom
	}
	if c.Welcome == "" {
		c.Welcome = DefaultWelcome
	}
	if c.MaxFrame < c.MaxMessage+1024 {
		c.MaxFrame = c.MaxMessage + 1024
	}
}

// FDReserve is what the default --max-conns leaves of the fd limit for what
// is not a connection: the listeners (native, plain-text, HTTP, admin: under
// 10), the store, mail log and log file, the poller and its wake-up, the
// NATS connection, the two pad files a login opens for a moment, the state
// file a reservation writes, and file transfers in the spool (one each).
// Past it, accept pauses on EMFILE anyway (listener.go), logged.
const FDReserve = 512

// DefaultMaxConns is --max-conns when not set: the fd limit (RLIMIT_NOFILE,
// which Go raises to the hard limit at start) less FDReserve, so that a
// daemon under `ulimit -n 20000` holds 19,488 connections. An idle one costs
// one fd, its socket (pads and state files are closed while idle).
func DefaultMaxConns() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return maxConnsFor(1024)
	}
	return maxConnsFor(uint64(lim.Cur))
}

// maxConnsFor is DefaultMaxConns under an fd limit of nofile: at least half
// of a small limit stays for the rest.
func maxConnsFor(nofile uint64) int {
	n := nofile - min(FDReserve, nofile/2)
	return int(min(n, math.MaxInt32)) // RLIM_INFINITY
}
