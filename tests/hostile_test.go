// Hostile input on the native listener and a slow consumer among many: only the offender suffers.
package tests

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/server"
	"padchat/wire"
)

// closedByServer reports whether the server closed c (EOF, or a reset when it
// closed with our bytes unread) within a few seconds.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func TestGarbageOnTheNativeListenerClosesOnlyThatConnection(t *testing.T) {
	d := startServer(t)
	bob := dial(t, d, "bob")
	join(t, bob, "lobby")
	greeting := wire.AppendGreeting(nil, [16]byte{7})
	header := func(length uint32) []byte {
		h := make([]byte, otp.HeaderSize)
		copy(h, "PC")
		h[2], h[3] = otp.Version, byte(otp.ToServer)
		binary.BigEndian.PutUint64(h[20:], otp.FirstOffset)
		binary.BigEndian.PutUint32(h[28:], length)
		return h
	}
	for name, input := range map[string][]byte{
		"binary junk":        bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1000),
		"http request":       []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"1 MB line":          append(bytes.Repeat([]byte("a"), 1<<20), '\n'),
		"oversized frame":    append(greeting, header(1<<30)...),
		"unknown pad":        append(append(greeting, header(10)...), make([]byte, 10+otp.TagSize)...),
		"frame of bad magic": append(greeting, bytes.Repeat([]byte{'X'}, otp.HeaderSize)...),
	} {
		c, err := net.Dial("tcp", d.addr)
		require.NoError(t, err)
		c.Write(input)
		assert.True(t, closedByServer(c), "%s: the server must close the connection", name)
		c.Close()
	}
	// Truncated frame, then silence: closed by the auth timeout, not kept forever.
	short := startServer(t, "--auth-timeout", "1s")
	c, err := net.Dial("tcp", short.addr)
	require.NoError(t, err)
	c.Write(append(greeting, header(100)[:20]...))
	assert.True(t, closedByServer(c), "a half-sent frame must time out")
	c.Close()
	short.waitLog(`"reason":"authentication timeout"`)

	assert.Equal(t, wire.OpOK, request(t, bob, wire.Msg{Op: wire.OpPing}).Op, "others are unaffected")
}

// TestSlowConsumerAmongTwoHundred: one of 200 active clients stops reading
// while a firehose room it is in floods it; it is cut off, and the other 198
// members of the busy room receive everything. Their latency is logged
// (timing goals live in padchat-bench, not in unit tests).
func TestSlowConsumerAmongTwoHundred(t *testing.T) {
	const members, msgs = 200, 400
	d := startServer(t, "--out-limit", "262144")
	require.NoError(t, parallel(members, 16, func(i int) error {
		size := int64(1 << 20)
		if i < 2 {
			size = 16 << 20 // the talker floods, the slow one is flooded
		}
		return server.AddUser(d.data, fmt.Sprintf("m%03d", i), size, d.addr, "", nil)
	}))
	cs := make([]*pcclient.Client, members)
	for i := range cs {
		cs[i] = dial(t, d, fmt.Sprintf("m%03d", i))
		join(t, cs[i], "busy")
	}
	talker, slow := cs[0], cs[1]
	join(t, talker, "firehose")
	join(t, slow, "firehose")
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, members)
	for _, c := range cs[2:] {
		wg.Add(1)
		go func(c *pcclient.Client) {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for got := 0; got < msgs; {
				var m wire.Msg
				if err := c.Recv(&m); err != nil {
					errs <- fmt.Errorf("%s after %d: %w", c.User, got, err)
					return
				}
				if m.Op != wire.OpMessage {
					continue
				}
				sent := int64(binary.BigEndian.Uint64(m.Text))
				mu.Lock()
				lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
				mu.Unlock()
				got++
			}
		}(c)
	}
	pad := bytes.Repeat([]byte("p"), 92)
	flood := bytes.Repeat([]byte("f"), 4000)
	for i := 0; i < msgs; i++ {
		text := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
		_, err := talker.Send(&wire.Msg{Op: wire.OpSay, Room: []byte("busy"), Text: append(text, pad...)})
		require.NoError(t, err)
		for k := 0; k < 5; k++ { // 20 KB into the firehose per busy message: 8 MB in all
			_, err = talker.Send(&wire.Msg{Op: wire.OpSay, Room: []byte("firehose"), Text: flood})
			require.NoError(t, err)
		}
		time.Sleep(2 * time.Millisecond) // paced: 500 msg/s into 200 members
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d.waitLog(`"reason":"slow consumer: output limit reached"`)
	assert.Contains(t, d.logs.String(), `"user":"m001","remote"`)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	require.Len(t, lat, (members-2)*msgs)
	t.Logf("198 readers, %d deliveries: p50 %v p99 %v max %v", len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
