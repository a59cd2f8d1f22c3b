// Rooms and presence between nodes: plain NATS subjects, no persistence.
package cluster

import (
	"encoding/hex"
	"strings"

	"github.com/nats-io/nats.go"
)

// Subjects: padchat.room.<node>.<hex room> carries a room's events said on
// <node>, in the order that node said them; padchat.presence.<node> carries
// the node's heartbeat, everyone online there and their rooms.
const (
	roomPrefix     = "padchat.room."
	presencePrefix = "padchat.presence."
)

// Listen subscribes to the other nodes' room events and heartbeats. Each
// callback runs on the loop (through Options.Post) with the sending node's name
// and the payload, in the order the node published them.
func (n *Node) Listen(onRoom, onPresence func(from string, data []byte)) error {
	sub := func(prefix string, f func(string, []byte)) error {
		_, err := n.nc.Subscribe(prefix+">", func(m *nats.Msg) {
			from, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, prefix), ".")
			if from == n.opt.Node {
				return
			}
			n.opt.Post(func() { f(from, m.Data) })
		})
		return err
	}
	if err := sub(roomPrefix, onRoom); err != nil {
		return err
	}
	if err := sub(presencePrefix, onPresence); err != nil {
		return err
	}
	return n.nc.Flush()
}

// PublishRoom sends one room event to the other nodes. It only queues the
// bytes in nats.go's buffer (data may be reused after it returns); an error
// means the connection is closed, not that a node missed it.
func (n *Node) PublishRoom(room string, data []byte) error {
	return n.nc.Publish(roomPrefix+n.opt.Node+"."+hex.EncodeToString([]byte(room)), data)
}

// PublishPresence sends this node's heartbeat.
func (n *Node) PublishPresence(data []byte) error {
	return n.nc.Publish(presencePrefix+n.opt.Node, data)
}
