// Room history, history cursors and topics shared by the nodes: a stream with
// a per-room limit and two KV buckets.
package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HistoryStream holds every room's last Options.History messages, subject
// padchat.hist.<hex room>, one record per message (the encoded wire event).
// CursorBucket holds, per account and room, the stream sequence of the last
// message the account has had there; TopicBucket each room's topic.
const (
	HistoryStream = "PADCHAT_HISTORY"
	histPrefix    = "padchat.hist."
	CursorBucket  = "padchat_cursors"
	TopicBucket   = "padchat_topics"
	// histPending bounds history records on their way to JetStream; past it a
	// record is dropped (and counted) rather than blocking the loop.
	histPending = 4096
	fetchBatch  = 256
)

// Record is one stored history message and its stream sequence.
type Record struct {
	Seq  uint64
	Data []byte
}

func histSubject(room string) string { return histPrefix + hex.EncodeToString([]byte(room)) }

func cursorKey(account, room string) string {
	return hex.EncodeToString([]byte(account)) + "." + hex.EncodeToString([]byte(room))
}

// openHistory creates the topic bucket and, when history is kept, the
// history stream and the cursor bucket. The stream's per-room limit is this
// node's: the nodes of one cluster should keep the same --history.
func (n *Node) openHistory(ctx context.Context) (err error) {
	n.topics, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: TopicBucket, Description: "padchat: each room's topic",
		History: 1, Storage: jetstream.FileStorage, Replicas: n.opt.Replicas,
	})
	if err != nil || n.opt.History <= 0 {
		return err
	}
	n.hist, err = n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: HistoryStream, Description: "padchat: the last messages of every room",
		Subjects: []string{histPrefix + ">"}, MaxMsgsPerSubject: int64(n.opt.History),
		Discard: jetstream.DiscardOld, Storage: jetstream.FileStorage,
		Replicas: n.opt.Replicas, Duplicates: dupWindow,
	})
	if err != nil {
		return err
	}
	n.cursors, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: CursorBucket, Description: "padchat: the last history message each account had in each room",
		History: 1, Storage: jetstream.FileStorage, Replicas: n.opt.Replicas,
	})
	if err != nil {
		return err
	}
	// History has a publisher of its own, so a JetStream slower than the
	// room never stalls the loop nor the mail's acknowledged publishes.
	n.histJS, err = jetstream.New(n.nc, jetstream.WithPublishAsyncMaxPending(histPending),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { n.histLost.Add(1) }))
	return err
}

// KeepsHistory reports whether this node shares room history.
func (n *Node) KeepsHistory() bool { return n.hist != nil }

// AppendHistory stores a room message (rec is copied). It never blocks: a
// record JetStream cannot take now is dropped and counted (HistoryLost).
func (n *Node) AppendHistory(room string, rec []byte, msgID string) {
	if n.hist == nil {
		return
	}
	_, err := n.histJS.PublishAsync(histSubject(room), append([]byte(nil), rec...),
		jetstream.WithMsgID(msgID), jetstream.WithStallWait(1))
	if err != nil {
		n.histLost.Add(1)
	}
}

// HistoryLost is how many history records could not be stored since the
// last call.
func (n *Node) HistoryLost() uint64 { return n.histLost.Swap(0) }

// Replay hands done (on the loop) up to max of room's messages the account
// has not had, oldest first, and moves the account's cursor past the room's
// last message, as a join does.
func (n *Node) Replay(account, room string, max int, done func(recs []Record, err error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		recs, after, rev, err := n.unread(ctx, account, room, max)
		if err == nil && len(recs) > 0 && recs[len(recs)-1].Seq > after {
			err = n.putCursor(ctx, account, room, recs[len(recs)-1].Seq, rev)
		}
		n.opt.Post(func() { done(recs, err) })
	}()
}

// History hands done (on the loop) the last max messages of room.
func (n *Node) History(room string, max int, done func(recs []Record, err error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		recs, err := n.fetch(ctx, room, 0, max)
		n.opt.Post(func() { done(recs, err) })
	}()
}

// Seen moves the account's cursor in room to the last stored message that
// had recognizes (one a member got live), as a part does. A message had does
// not recognize stays after the cursor: replayed again rather than lost. had
// runs on another goroutine: it must not share loop state.
func (n *Node) Seen(account, room string, had func(rec []byte) bool) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		recs, _, rev, err := n.unread(ctx, account, room, 0)
		for i := len(recs) - 1; err == nil && i >= 0; i-- {
			if had(recs[i].Data) {
				err = n.putCursor(ctx, account, room, recs[i].Seq, rev)
				break
			}
		}
		if err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: history cursor of "+room+" not moved", err) })
		}
	}()
}

// unread reads the account's cursor in room and the messages after it (the
// last max; all when max is 0).
func (n *Node) unread(ctx context.Context, account, room string, max int) (recs []Record, after, rev uint64, err error) {
	if after, rev, err = n.cursor(ctx, account, room); err == nil {
		recs, err = n.fetch(ctx, room, after, max)
	}
	return recs, after, rev, err
}

// fetch reads room's messages after seq after, keeping the last max (all
// when max is 0).
func (n *Node) fetch(ctx context.Context, room string, after uint64, max int) ([]Record, error) {
	subj := histSubject(room)
	last, err := n.hist.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil || last.Sequence <= after {
		return nil, err
	}
	cons, err := n.hist.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subj}, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1,
	})
	if err != nil {
		return nil, err
	}
	var recs []Record
	for seq := after; seq < last.Sequence && ctx.Err() == nil; {
		batch, err := cons.Fetch(fetchBatch, jetstream.FetchMaxWait(opTimeout/5))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			got++
			seq = md.Sequence.Stream
			recs = append(recs, Record{Seq: seq, Data: m.Data()})
			if seq >= last.Sequence {
				break
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		if got == 0 {
			break // trimmed away meanwhile
		}
	}
	if max > 0 && len(recs) > max {
		recs = recs[len(recs)-max:]
	}
	return recs, nil
}

// cursor reads the account's cursor in room (0, 0 when it has none).
func (n *Node) cursor(ctx context.Context, account, room string) (seq, rev uint64, err error) {
	e, err := n.cursors.Get(ctx, cursorKey(account, room))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	seq, err = strconv.ParseUint(string(e.Value()), 10, 64)
	return seq, e.Revision(), err
}

// putCursor moves the cursor to seq if it is still where it was read (rev);
// if another node moved it meanwhile, the later of the two wins.
func (n *Node) putCursor(ctx context.Context, account, room string, seq, rev uint64) error {
	key, v := cursorKey(account, room), []byte(strconv.FormatUint(seq, 10))
	for range 3 {
		var err error
		if rev == 0 {
			_, err = n.cursors.Create(ctx, key, v)
		} else {
			_, err = n.cursors.Update(ctx, key, v, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
		var cur uint64
		if cur, rev, err = n.cursor(ctx, account, room); err != nil || cur >= seq {
			return err
		}
	}
	return errors.New("cluster: history cursor contended")
}

// PutTopic stores room's topic (rec: its encoded event) for every node.
func (n *Node) PutTopic(room string, rec []byte) {
	rec = append([]byte(nil), rec...)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := n.topics.Put(ctx, hex.EncodeToString([]byte(room)), rec); err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: topic of "+room+" not shared", err) })
		}
	}()
}

// WatchTopics hands f (on the loop) every room's topic, then each new one.
func (n *Node) WatchTopics(f func(room string, rec []byte)) error {
	put := func(e jetstream.KeyValueEntry) {
		room, err := hex.DecodeString(e.Key())
		if err != nil || e.Operation() != jetstream.KeyValuePut {
			return
		}
		rec := e.Value()
		n.opt.Post(func() { f(string(room), rec) })
	}
	return n.watchAll(n.topics, put, put)
}

// Forget deletes what the cluster keeps for a removed account: its mailbox
// and its history cursors (a KV purge leaves only a marker without data).
func (n *Node) Forget(account string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		err := n.mail.Purge(ctx, jetstream.WithPurgeSubject(mailSubject(account)))
		if err == nil && n.cursors != nil {
			var keys jetstream.KeyLister
			if keys, err = n.cursors.ListKeysFiltered(ctx, hex.EncodeToString([]byte(account))+".*"); err == nil {
				for k := range keys.Keys() {
					if err = n.cursors.Purge(ctx, k); err != nil {
						break
					}
				}
			}
		}
		if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			n.opt.Post(func() { n.opt.Log("cluster: removed account's mailbox or cursors not deleted", err) })
		}
	}()
}
