package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The output-buffer pool keeps flood-sized buffers while they are drawn from,
// and lets them go after a housekeeping tick in which nobody took one.
func TestBufPoolTrim(t *testing.T) {
	l := &Loop{}
	l.putBuf(make([]byte, 0, 512<<10))
	l.putBuf(make([]byte, 0, 512<<10))
	l.putBuf(make([]byte, 0, outBufMax+1)) // too big: dropped
	l.putBuf(make([]byte, 0, 100))         // too small: dropped
	if len(l.bufs) != 2 || l.bufBytes != 1<<20 {
		t.Fatalf("pool holds %d buffers, %d bytes; want 2, %d", len(l.bufs), l.bufBytes, 1<<20)
	}
	if b := l.getBuf(); cap(b) != 512<<10 {
		t.Fatalf("drew a buffer of %d bytes, want the pooled %d", cap(b), 512<<10)
	}
	l.trimBufs() // drawn from since the last tick: kept
	if len(l.bufs) != 1 || l.bufBytes != 512<<10 {
		t.Fatalf("after a busy tick: %d buffers, %d bytes; want 1, %d", len(l.bufs), l.bufBytes, 512<<10)
	}
	l.trimBufs() // idle tick: let go
	if len(l.bufs) != 0 || l.bufBytes != 0 {
		t.Fatalf("after an idle tick: %d buffers, %d bytes; want none", len(l.bufs), l.bufBytes)
	}
	if b := l.getBuf(); cap(b) != outBufSize {
		t.Fatalf("empty pool gave %d bytes, want a fresh %d", cap(b), outBufSize)
	}
}

// room grows an output buffer at least twofold, so a flood's buffer is
// copied about once however many messages it takes.
func TestConnRoomDoubles(t *testing.T) {
	c := &Conn{}
	out := make([]byte, 0, outBufSize)
	grows := 0
	for range 4000 {
		before := cap(out)
		out = c.room(out, 130)
		if cap(out) != before {
			grows++
			if before > 0 && cap(out) < 2*before {
				t.Fatalf("grew %d → %d: less than twofold", before, cap(out))
			}
		}
	}
	if len(out) != 4000*130 || grows > 8 {
		t.Fatalf("len %d after %d grows; want %d in at most 8", len(out), grows, 4000*130)
	}
}

// TestFanoutSharesOutputBuffers relays Says to 100 members whose sockets take
// everything: each member's frames are staged, sealed and written in one go,
// and its buffer goes back to the pool for the next member, so the fan-out
// holds a few buffers, not one per member until the flush (that was 100
// pooled buffers after this, and 100 fresh ones in a fresh process).
func TestFanoutSharesOutputBuffers(t *testing.T) {
	fb := newFanoutBench(t, false)
	l := fb.l
	l.bufDrawn = false
	l.trimBufs()    // an empty pool: what is in it after the fan-out came from it
	fb.seal(t, 300) // ~40 KiB for each member: one staged part each
	fb.pub.onData(fb.pub.c, fb.frames)
	l.beforeSleep()
	for _, m := range fb.members {
		require.Zero(t, m.c.pending(), "%s: everything written", m.c.remote)
		require.Nil(t, m.c.out, "%s: its buffer went back to the pool", m.c.remote)
	}
	assert.LessOrEqual(t, len(l.bufs), 4, "buffers the fan-out and the publisher's replies took from the pool or made")
}
