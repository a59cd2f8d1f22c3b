// Durable direct messages: every user's mailbox is a subject of one JetStream stream.
package cluster

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MailStream holds every mailbox: subject padchat.mail.<hex mailbox> (the account key), one record
// per message or receipt, deleted when its recipient acknowledges it.
const (
	MailStream = "PADCHAT_MAIL"
	mailPrefix = "padchat.mail."
	// dupWindow: a retried publish with the same message id within it is stored once.
	dupWindow = 2 * time.Minute
)

func (n *Node) openMail(ctx context.Context) (err error) {
	n.mail, err = n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: MailStream, Description: "padchat: mailboxes of direct messages and receipts",
		Subjects: []string{mailPrefix + ">"}, Storage: jetstream.FileStorage,
		Replicas: n.opt.Replicas, Duplicates: dupWindow,
	})
	return err
}

func mailSubject(user string) string { return mailPrefix + hex.EncodeToString([]byte(user)) }

// Store appends rec to user's mailbox. done runs on the loop with the stored
// record's stream sequence once JetStream acknowledged it (then, and only then,
// is it durable), or with the error. Records stored one after the other from
// the loop keep their order. msgID de-duplicates retries.
func (n *Node) Store(user string, rec []byte, msgID string, done func(seq uint64, err error)) {
	paf, err := n.js.PublishAsync(mailSubject(user), rec, jetstream.WithMsgID(msgID))
	if err != nil {
		done(0, err)
		return
	}
	go func() {
		select {
		case ack := <-paf.Ok():
			n.opt.Post(func() { done(ack.Sequence, nil) })
		case err := <-paf.Err():
			n.opt.Post(func() { done(0, err) })
		}
	}()
}

// Remove deletes an acknowledged record; done runs on the loop.
func (n *Node) Remove(seq uint64, done func(err error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		err := n.mail.DeleteMsg(ctx, seq)
		n.opt.Post(func() { done(err) })
	}()
}

// Follow hands f (on the loop) every record of user's mailbox from stream
// sequence from on (0: the oldest), then each new one as it is stored, until
// the returned stop is called. A record may come twice (the consumer is
// recreated after a reconnect), and some may still come after stop: f must
// tell by the sequence.
func (n *Node) Follow(user string, from uint64, f func(seq uint64, rec []byte)) (stop func()) {
	var (
		mu      sync.Mutex
		stopped bool
		cc      jetstream.ConsumeContext
	)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{mailSubject(user)}, DeliverPolicy: jetstream.DeliverAllPolicy}
		if from > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
		}
		cons, err := n.mail.OrderedConsumer(ctx, cfg)
		if err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: mailbox of "+user+" not followed", err) })
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		cc, err = cons.Consume(func(m jetstream.Msg) {
			md, err := m.Metadata()
			if err != nil {
				return
			}
			seq, data := md.Sequence.Stream, m.Data()
			n.opt.Post(func() { f(seq, data) })
		})
		if err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: mailbox of "+user+" not followed", err) })
		}
	}()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped && cc != nil {
			cc.Stop()
		}
		stopped = true
	}
}
