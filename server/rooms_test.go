// The rooms protocol by hand: every command, replies in writes of their own, the room rule, and its fuzz target.
package server

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// attachRooms uses SOCK_SEQPACKET, which keeps write boundaries: each element
// of records() is one write of the server.
func attachRooms(tb testing.TB, l *Loop) *plainPeer {
	return attach(tb, l, unix.SOCK_SEQPACKET, func(c *Conn) handler { return newWassop(l.hub, c) })
}

func TestRoomsCommands(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"rooms": "127.0.0.1:0"}})
	provision(t, l, "carol", 64<<10)
	ana, beto := attachRooms(t, l), attachRooms(t, l)
	for _, tc := range []struct {
		who     *plainPeer
		send    string
		reply   []string // the writes that answer it
		toOther []string // what the other one receives
	}{
		{ana, "ROOM sala1\n", []string{"ERROR: Primero envía JOIN <usuario>\n"}, nil},
		{ana, "JOIN ana\n", []string{"OK\n"}, nil},
		{ana, "JOIN ana\n", []string{"ERROR: Ya te has unido como ana\n"}, nil},
		{beto, "JOIN ana", []string{"ERROR: Username ya en uso\n"}, nil}, // no newline: one read, one command
		{beto, "JOIN carol\n", []string{"ERROR: Username ya en uso\n"}, nil},
		{beto, "JOIN be to\n", []string{"ERROR: Nombre de usuario no válido (1-32 de A-Z a-z 0-9 _ . -)\n"}, nil},
		{beto, "JOIN beto\n", []string{"OK\n"}, nil},
		{ana, "LIST_ROOMS\n", []string{"Salas disponibles:\n"}, nil},
		{ana, "ROOM sala1\n", []string{"Te has unido a la sala sala1.\n"}, nil},
		{ana, "MESSAGE nadie\n", nil, nil},
		{beto, "ROOM sala1\n", []string{"Te has unido a la sala sala1.\n"}, []string{"beto se ha unido a la sala.\n"}},
		{beto, "MESSAGE hola ana\n", nil, []string{"beto: hola ana\n"}},
		{beto, "MESSAGE\n", nil, nil},
		{beto, "MESSAGE   \n", nil, nil},
		{beto, "LOVE\n", nil, []string{"beto: ❤️\n"}},
		{beto, "LIKE\n", nil, []string{"beto: 👍\n"}},
		{beto, "DISLIKE\n", nil, []string{"beto: 👎\n"}},
		{ana, "ROOM mala sala\n", []string{"ERROR: Nombre de sala no válido (1-32 de A-Z a-z 0-9 _ . -, sin espacios)\n"}, nil},
		{ana, "LIST_ROOMS\n", []string{"Salas disponibles:\nsala1 (2)\n"}, nil},
		{ana, "EXIT otra\n", []string{"ERROR: No estás en la sala otra\n"}, nil},
		{ana, "EXIT sala1\n", []string{"Has salido de la sala sala1.\n"}, []string{"ana ha salido de la sala.\n"}},
		{ana, "EXIT\n", []string{"ERROR: No estás en ninguna sala\n"}, nil},
		{ana, "MESSAGE hola\n", []string{"ERROR: No estás en ninguna sala\n"}, nil},
		{ana, "BAILAR\n", []string{"ERROR: Comando desconocido\n"}, nil},
		{ana, "ROOM sala1\n", []string{"Te has unido a la sala sala1.\n"}, []string{"ana se ha unido a la sala.\n"}},
		{ana, "ROOM lobby\n", []string{"Te has unido a la sala lobby.\n"}, []string{"ana ha salido de la sala.\n"}},
		{beto, "MESSAGE " + strings.Repeat("x", 4097) + "\n", []string{"ERROR: Mensaje demasiado largo (máximo 4096 bytes)\n"}, nil},
	} {
		other := beto
		if tc.who == beto {
			other = ana
		}
		tc.who.send(tc.send)
		assert.Equal(t, tc.reply, tc.who.records(), "reply to %q", tc.send)
		assert.Equal(t, tc.toOther, other.records(), "others after %q", tc.send)
	}
	assert.True(t, l.hub.rooms["sala1"].plain, "a room made by a plain client is plain")
	assert.False(t, l.hub.rooms["sala1"].open, "and closed to native members")

	ana.send("ROOM sala1\n")
	beto.records()
	ana.records()
	ana.send("QUIT\n")
	assert.True(t, ana.c.closed)
	assert.Equal(t, []string{"ana ha salido del chat.\n"}, beto.records())
	assert.Nil(t, l.hub.online["ana"])
	beto.send("EXIT\n")
	assert.Nil(t, l.hub.rooms["sala1"], "an empty plain room goes away")
}

// A reply is one write: not glued to room traffic queued before it in the
// same iteration, nor to traffic queued after it.
func TestRoomsReplyIsItsOwnWrite(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"rooms": "127.0.0.1:0"}})
	ana, beto := attachRooms(t, l), attachRooms(t, l)
	for _, p := range []struct {
		p    *plainPeer
		name string
	}{{ana, "ana"}, {beto, "beto"}} {
		p.p.send("JOIN " + p.name + "\nROOM lobby\n")
	}
	ana.records()
	beto.records()

	write := func(p *plainPeer, s string) { // one read, no end of iteration
		unix.Write(p.fd, []byte(s))
		p.c.read()
	}
	write(beto, "MESSAGE uno\nMESSAGE dos\n")
	write(ana, "LIST_ROOMS\n")
	write(beto, "MESSAGE tres\n")
	l.beforeSleep()
	assert.Equal(t, []string{"beto: uno\nbeto: dos\n", "Salas disponibles:\nlobby (2)\n", "beto: tres\n"}, ana.records())
}

// A plain client never enters a room that carries encrypted traffic.
func TestRoomsEncryptedRoomRefused(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"rooms": "127.0.0.1:0"}})
	secret := &Room{name: "secret", nameB: []byte("secret"), keep: true}
	secret.members = append(secret.members, &native{})
	l.hub.rooms["secret"] = secret
	p := attachRooms(t, l)
	p.send("JOIN eve\nROOM secret\nLIST_ROOMS\n")
	assert.Equal(t, []string{"OK\n", "ERROR: La sala secret es cifrada y no admite clientes sin cifrar\n",
		"Salas disponibles:\n"}, p.records())
	assert.Len(t, secret.members, 1)
}

func TestRoomsMalformed(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"rooms": "127.0.0.1:0"}})
	ok := attachRooms(t, l)
	ok.send("JOIN ok\nROOM lobby\n")
	ok.records()
	for _, tc := range []struct{ name, input, last string }{
		{"binary junk", "\x00\x01\x02\xff\n", "ERROR: Texto no válido (se espera UTF-8 sin caracteres de control)\n"},
		{"long line", strings.Repeat("M", 60000), "ERROR: Línea demasiado larga\n"},
		{"long framed line", "JOIN x\n" + strings.Repeat("M", 5000), "ERROR: Línea demasiado larga\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := attach(t, l, unix.SOCK_STREAM, func(c *Conn) handler { return newWassop(l.hub, c) })
			p.send(tc.input)
			assert.True(t, p.c.closed)
			assert.True(t, strings.HasSuffix(p.recv(), tc.last))
			assert.Nil(t, l.hub.online["x"])
		})
	}
	ok.send("MESSAGE still here\n")
	assert.False(t, ok.c.closed)
	assert.Empty(t, ok.records(), "nothing from the closed connections reached the room")
}

func FuzzRooms(f *testing.F) {
	f.Add([]byte("JOIN ana\nROOM sala1\nMESSAGE hola\nLOVE\nEXIT sala1\nQUIT\n"), uint8(0))
	f.Add([]byte("JOIN ana\nROOM lobby\nMESSAGE hola\nLIST_ROOMS\n"), uint8(5))
	f.Add([]byte("JOIN x\nROOM a\nROOM b\nROOM a\nEXIT b\nEXIT\nMESSAGE"), uint8(2))
	f.Add([]byte("\xff\x00JOIN"), uint8(1))
	l, _ := plainLoop(f, Config{Listeners: map[string]string{"rooms": "127.0.0.1:0"}})
	l.hub.store.histN = 0 // keeps beforeSleep from committing (and fsyncing) per input
	l.log = zerolog.Nop()
	w := attach(f, l, unix.SOCK_STREAM, func(c *Conn) handler { return newWassop(l.hub, c) })
	w.send("JOIN watcher\nROOM lobby\n")
	w.recv()
	f.Fuzz(func(t *testing.T, input []byte, cut uint8) {
		p := attach(t, l, unix.SOCK_STREAM, func(c *Conn) handler { return newWassop(l.hub, c) })
		for step := max(int(cut)+1, len(input)/64); len(input) > 0 && !p.c.closed && !p.c.dying; {
			n := min(step, len(input))
			unix.Write(p.fd, input[:n])
			p.c.read()
			input = input[n:]
		}
		l.beforeSleep()
		checkPlainOutput(t, p.recv())
		checkPlainOutput(t, w.recv())
		for _, r := range l.hub.rooms {
			require.True(t, r.plain, "only plain rooms here")
			require.False(t, r.open)
		}
		if !p.c.closed {
			l.closeConn(p.c, ReasonPeerClosed, nil)
		}
		l.beforeSleep()
		checkPlainOutput(t, w.recv())
		require.False(t, w.c.closed)
		require.Len(t, l.hub.online, 1)
		require.Len(t, l.hub.rooms, 1, "rooms left behind: %v", l.hub.rooms)
		require.Len(t, l.hub.rooms["lobby"].members, 1)
	})
}
