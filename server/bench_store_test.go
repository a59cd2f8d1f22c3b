// Micro-benchmark of the durable DM path's store work: what one DM costs in a group commit.
package server

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkStoreDMBatch stores 100-byte DMs from 4 senders to 10 offline
// mailboxes (as padchat-bench dm does), committing every 256 DMs with the
// store's real fsyncs on the test's temp dir: the DM id, the mailbox put, the
// batch's write and fdatasync, per DM. log-B/DM is what the mail log wrote.
func BenchmarkStoreDMBatch(b *testing.B) {
	s, err := openStore(b.TempDir(), 10)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	const batch = 256
	var senders, boxes []string
	for i := range 4 {
		senders = append(senders, fmt.Sprintf("p%04d", i))
	}
	for i := range 10 {
		boxes = append(boxes, fmt.Sprintf("r%04d", i))
	}
	text := make([]byte, 100)
	acked := 0
	size0 := s.log.end
	b.ResetTimer()
	for i := range b.N {
		from := senders[i%len(senders)]
		id := s.nextDMID(from)
		s.mail.put(boxes[i%len(boxes)], encodeMail(from, id, int64(i), text))
		s.after(func(err error) {
			if err == nil {
				acked++
			}
		})
		if i%batch == batch-1 {
			s.commit()
		}
	}
	s.commit()
	b.StopTimer()
	if acked != b.N {
		b.Fatalf("%d of %d DMs committed", acked, b.N)
	}
	b.ReportMetric(float64(s.log.end-size0)/float64(b.N), "log-B/DM")
}

// BenchmarkStoreHistory queues 100-byte room messages in one room, with
// --history at its default, committing every 4096 (the most a lazy batch
// held before it had to commit) with the store's real fdatasync: what a room
// message's history costs per message, commit included.
func BenchmarkStoreHistory(b *testing.B) {
	s, err := openStore(b.TempDir(), DefaultHistorySize)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	rec := msgText(strings.Repeat("a", 100))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.appendHistory("dev", rec, uint64(i+1))
		if i%lazyMax == lazyMax-1 {
			s.commit()
		}
	}
	s.commit()
}
