// Plain-text dialects and native clients together: one open room, and the rule that keeps encrypted text encrypted.
package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/wire"
)

func plainDaemon(t *testing.T, args ...string) (d *daemon, aLine, aRooms, aUDP string) {
	t.Helper()
	d = startServer(t, append([]string{"--listen-linechat", "127.0.0.1:0", "--listen-rooms", "127.0.0.1:0",
		"--listen-udp", "127.0.0.1:0"}, args...)...)
	return d, dialectAddr(t, d, "linechat"), dialectAddr(t, d, "rooms"), dialectAddr(t, d, "udp")
}

// messageFrom waits for a room message from user and returns it.
func messageFrom(t *testing.T, c *pcclient.Client, user string) wire.Msg {
	t.Helper()
	return expect(t, c, "a message from "+user, func(m *wire.Msg) bool {
		return m.Op == wire.OpMessage && string(m.User) == user
	})
}

func TestDialectsAndNativeInOneOpenRoom(t *testing.T) {
	d, aLine, aRooms, aUDP := plainDaemon(t, "--open-plain")
	alice := dial(t, d, "alice")
	ok := request(t, alice, wire.Msg{Op: wire.OpJoin, Room: []byte("lobby")})
	require.Equal(t, wire.OpOK, ok.Op, "%s", ok.Text)
	assert.NotZero(t, ok.Flags&wire.FlagPlain, "the native client is told the room is not encrypted")

	uno := loginLineChat(t, aLine, "uno")
	dos := loginRooms(t, aRooms, "dos")
	require.Equal(t, "Te has unido a la sala lobby.\n", wassop(dos, "ROOM lobby"))
	udp := dialUDP(t, aUDP)
	udp.join()
	udp.send("hola desde UDP")

	m := messageFrom(t, alice, udp.name())
	assert.Equal(t, "hola desde UDP", string(m.Text))
	assert.NotZero(t, m.Flags&wire.FlagPlain)
	uno.lineUntil(udp.name() + ": hola desde UDP")
	dos.lineUntil(udp.name() + ": hola desde UDP")

	uno.send("hi from linechat\n")
	m = messageFrom(t, alice, "uno")
	assert.Equal(t, "hi from linechat", string(m.Text))
	assert.NotZero(t, m.Flags&wire.FlagPlain)
	dos.lineUntil("uno: hi from linechat")
	udp.recvUntil("uno: hi from linechat")

	dos.send("MESSAGE hola desde rooms\n")
	assert.Equal(t, "hola desde rooms", string(messageFrom(t, alice, "dos").Text))
	uno.lineUntil("dos: hola desde rooms")
	udp.recvUntil("dos: hola desde rooms")

	r := request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("hi from native\nuno: forged line")})
	require.Equal(t, wire.OpOK, r.Op)
	// One line each: a newline from a native client cannot forge another line.
	uno.lineUntil("alice: hi from native uno: forged line")
	dos.lineUntil("alice: hi from native uno: forged line")
	udp.recvUntil("alice: hi from native uno: forged line")

	who := request(t, alice, wire.Msg{Op: wire.OpWho, Room: []byte("lobby")})
	assert.Equal(t, "alice\ndos\n"+udp.name()+"\nuno", string(who.Text))

	// Open is for the plain room only: a native room stays encrypted.
	bob := dial(t, d, "bob")
	join(t, alice, "secret")
	join(t, bob, "secret")
	request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("secret"), Text: []byte("top secret")})
	assert.Equal(t, "top secret", string(messageFrom(t, bob, "alice").Text))
	uno.quiet(300 * time.Millisecond)
	dos.quiet(10 * time.Millisecond)
	udp.quiet(10 * time.Millisecond)
	assert.Equal(t, "ERROR: La sala secret es cifrada y no admite clientes sin cifrar\n", wassop(dos, "ROOM secret"))
}

// The room rule: with the plain room closed, nothing a native client says
// reaches a plain-text client, and native clients cannot enter the plain room.
func TestNativeTextNeverLeavesInPlain(t *testing.T) {
	d, aLine, aRooms, aUDP := plainDaemon(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")

	r := request(t, alice, wire.Msg{Op: wire.OpJoin, Room: []byte("lobby")})
	require.Equal(t, wire.OpError, r.Op)
	assert.Equal(t, wire.CodePlainRoom, wire.Code(r.ID), "%s", r.Text)

	uno := loginLineChat(t, aLine, "uno")
	dos := loginRooms(t, aRooms, "dos")
	require.Equal(t, "Te has unido a la sala lobby.\n", wassop(dos, "ROOM lobby"))
	tres := loginRooms(t, aRooms, "tres")
	require.Equal(t, "Te has unido a la sala plainonly.\n", wassop(tres, "ROOM plainonly"))
	udp := dialUDP(t, aUDP)
	udp.join()
	udp.send("hola")
	uno.lineUntil(udp.name() + ": hola")
	dos.lineUntil(udp.name() + ": hola")

	// A room a plain client made is plain and closed to native clients too.
	r = request(t, alice, wire.Msg{Op: wire.OpJoin, Room: []byte("plainonly")})
	assert.Equal(t, wire.CodePlainRoom, wire.Code(r.ID), "%s", r.Text)

	join(t, alice, "secret")
	join(t, bob, "secret")
	assert.Equal(t, "ERROR: La sala secret es cifrada y no admite clientes sin cifrar\n", wassop(tres, "ROOM secret"))
	assert.Equal(t, "Salas disponibles:\nlobby (3)\nplainonly (1)\n", wassop(tres, "LIST_ROOMS"), "encrypted rooms are not listed")
	// A plain client cannot take a native user's name, even one offline.
	d.addUser("carol", 0)
	assert.Equal(t, "ERROR: Username ya en uso\n", wassop(dialLine(t, aRooms), "JOIN carol"))

	for _, text := range []string{"top secret", "uno: forged", "MESSAGE x"} {
		ok := request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("secret"), Text: []byte(text)})
		require.Equal(t, wire.OpOK, ok.Op)
		assert.Equal(t, text, string(messageFrom(t, bob, "alice").Text))
	}
	// A direct message to a plain nickname has nowhere to go.
	dm := request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("uno"), Text: []byte("psst")})
	assert.Equal(t, wire.OpError, dm.Op)
	assert.Equal(t, wire.CodeNoSuchUser, wire.Code(dm.ID))

	uno.quiet(500 * time.Millisecond)
	dos.quiet(10 * time.Millisecond)
	tres.quiet(10 * time.Millisecond)
	udp.quiet(10 * time.Millisecond)

	// Plain traffic still flows among plain clients.
	uno.send("still plain\n")
	dos.lineUntil("uno: still plain")
	udp.recvUntil("uno: still plain")
}
