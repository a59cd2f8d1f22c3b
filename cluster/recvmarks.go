// The users' sending pads as seen by every node: how far each node has
// accepted frames, so a copied bundle replaying its pad range on another
// node is caught there as pad reuse.
package cluster

import (
	"context"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// RecvBucket holds, per client→server pad (key: its id), the highest offset
// up to which some node accepted frames. It only rises, by compare-and-set.
const RecvBucket = "padchat_recv"

// raiseTries bounds the compare-and-set retries of one RaiseRecv: each lost
// race means another node raised the mark meanwhile, usually past ours.
const raiseTries = 5

func (n *Node) openRecv(ctx context.Context) (err error) {
	n.recv, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: RecvBucket, Description: "padchat: how far some node accepted each user's frames",
		History: 1, Storage: jetstream.FileStorage, Replicas: n.opt.Replicas,
	})
	return err
}

// RaiseRecv raises pad's shared receive mark to mark, never lowering it.
func (n *Node) RaiseRecv(pad string, mark int64) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var err error
		for range raiseTries {
			var e jetstream.KeyValueEntry
			if e, err = n.recv.Get(ctx, pad); errors.Is(err, jetstream.ErrKeyNotFound) {
				_, err = n.recv.Create(ctx, pad, strconv.AppendInt(nil, mark, 10))
			} else if err == nil {
				if recvMark(e) >= mark {
					return
				}
				_, err = n.recv.Update(ctx, pad, strconv.AppendInt(nil, mark, 10), e.Revision())
			}
			if err == nil || !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				break
			}
		}
		if err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: receive mark not shared", err) })
		}
	}()
}

// WatchRecv returns every pad's shared receive mark now, then hands f (on the
// loop) each rise.
func (n *Node) WatchRecv(f func(pad string, mark int64)) (map[string]int64, error) {
	return watchValues(n, n.recv, recvMark, f)
}

func recvMark(e jetstream.KeyValueEntry) int64 {
	if e.Operation() != jetstream.KeyValuePut {
		return 0
	}
	m, _ := strconv.ParseInt(string(e.Value()), 10, 64)
	return m
}
