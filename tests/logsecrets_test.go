// Message text stays out of the logs of every listener unless --log-messages asks for it.
package tests

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestNoMessageTextInLogs(t *testing.T) {
	for _, loud := range []bool{false, true} {
		name := "quiet"
		if loud {
			name = "log-messages"
		}
		t.Run(name, func(t *testing.T) { logSecrets(t, loud) })
	}
}

func logSecrets(t *testing.T, loud bool) {
	secret := func(where string) string {
		b := make([]byte, 8)
		rand.Read(b)
		return "secret-" + where + "-" + hex.EncodeToString(b)
	}
	args := []string{"--open-plain", "--listen-msgsvc", "127.0.0.1:0"}
	if loud {
		args = append(args, "--log-messages")
	}
	d, aLine, aRooms, aUDP := plainDaemon(t, args...)
	aSvc := logAddr(t, d, "s> init server ")
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "lobby")
	uno := loginLineChat(t, aLine, "uno")
	dos := loginRooms(t, aRooms, "dos")
	require.Equal(t, "Te has unido a la sala lobby.\n", wassop(dos, "ROOM lobby"))
	udp := dialUDP(t, aUDP)
	udp.join()

	chat := map[string]string{} // listener → secret said there, seen by alice
	for _, l := range []string{"linechat", "rooms", "udp", "native", "native-dm"} {
		chat[l] = secret(l)
	}
	uno.send(chat["linechat"] + "\n")
	assert.Equal(t, chat["linechat"], string(messageFrom(t, alice, "uno").Text))
	dos.send("MESSAGE " + chat["rooms"] + "\n")
	assert.Equal(t, chat["rooms"], string(messageFrom(t, alice, "dos").Text))
	udp.send(chat["udp"])
	assert.Equal(t, chat["udp"], string(messageFrom(t, alice, udp.name()).Text))
	request(t, bob, wire.Msg{Op: wire.OpJoin, Room: []byte("lobby")})
	request(t, bob, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte(chat["native"])})
	assert.Equal(t, chat["native"], string(messageFrom(t, alice, "bob").Text))
	request(t, bob, wire.Msg{Op: wire.OpDM, User: []byte("alice"), Text: []byte(chat["native-dm"])})
	expect(t, alice, "the DM", func(m *wire.Msg) bool { return m.Op == wire.OpDirect && string(m.Text) == chat["native-dm"] })

	svc := secret("msgsvc")
	in := newInbox(t)
	require.Equal(t, []string{"0"}, call(t, aSvc, "REGISTER", "Ann", "ann", "01/01/2000"))
	require.Equal(t, []string{"0"}, call(t, aSvc, "REGISTER", "Bob", "bobsvc", "01/01/2000"))
	require.Equal(t, []string{"0"}, call(t, aSvc, "CONNECT", "bobsvc", in.port()))
	reply := call(t, aSvc, "SEND", "ann", "bobsvc", svc)
	require.Len(t, reply, 2)
	in.expect(t, "SEND_MESSAGE", "ann", reply[1], svc)

	require.NoError(t, d.stop()) // every log line written
	logs := d.logs.String()
	for l, s := range chat {
		if loud {
			assert.Contains(t, logs, s, "--log-messages logs what %s said", l)
		} else {
			assert.NotContains(t, logs, s, "%s's message text logged without --log-messages", l)
		}
	}
	assert.NotContains(t, logs, svc, "the message service logs ids, never text")
}
