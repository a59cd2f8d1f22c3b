// The rooms protocol ("Wassop"), end to end: its client's commands, each reply read with one recv of 1024 bytes.
package tests

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wassop sends a command as its client does ("cmd\n") and reads the
// reply as it does: one recv of up to 1024 bytes.
func wassop(lc *lineClient, cmd string) string {
	lc.t.Helper()
	lc.send(cmd + "\n")
	return lc.recv1024()
}

func loginRooms(t *testing.T, addr, user string) *lineClient {
	t.Helper()
	lc := dialLine(t, addr)
	require.Equal(t, "OK\n", wassop(lc, "JOIN "+user))
	return lc
}

func TestRoomsSession(t *testing.T) {
	d := startServer(t, "--listen-rooms", "127.0.0.1:0")
	d.addUser("carol", 0)
	addr := dialectAddr(t, d, "rooms")

	ana := dialLine(t, addr)
	assert.Equal(t, "ERROR: Primero envía JOIN <usuario>\n", wassop(ana, "ROOM Sala1"))
	assert.Equal(t, "OK\n", wassop(ana, "JOIN ana"))
	beto := dialLine(t, addr)
	assert.Equal(t, "ERROR: Username ya en uso\n", wassop(beto, "JOIN ana"))
	assert.Equal(t, "ERROR: Username ya en uso\n", wassop(beto, "JOIN carol"), "a native user's name")
	assert.Equal(t, "ERROR: Nombre de usuario no válido (1-32 de A-Z a-z 0-9 _ . -)\n", wassop(beto, "JOIN be to"))
	assert.Equal(t, "OK\n", wassop(beto, "JOIN beto"))

	assert.Equal(t, "Salas disponibles:\n", wassop(ana, "LIST_ROOMS"))
	assert.Equal(t, "Te has unido a la sala Sala1.\n", wassop(ana, "ROOM Sala1"))
	assert.Equal(t, "Te has unido a la sala Sala1.\n", wassop(beto, "ROOM Sala1"))
	assert.Equal(t, "beto se ha unido a la sala.", ana.line())
	assert.Equal(t, "Salas disponibles:\nSala1 (2)\n", wassop(beto, "LIST_ROOMS"))

	beto.send("MESSAGE hola a todos!\n")
	assert.Equal(t, "beto: hola a todos!", ana.line())
	beto.send("MESSAGE\n") // empty: ignored, no reply
	beto.send("LOVE\n")
	beto.send("LIKE\n")
	beto.send("DISLIKE\n")
	assert.Equal(t, "beto: ❤️", ana.line())
	assert.Equal(t, "beto: 👍", ana.line())
	assert.Equal(t, "beto: 👎", ana.line())
	ana.send("MESSAGE ¿qué tal?\n")
	assert.Equal(t, "ana: ¿qué tal?", beto.line())
	beto.quiet(200 * time.Millisecond) // nothing for the sender, nothing for the empty MESSAGE
	ana.quiet(50 * time.Millisecond)

	assert.Equal(t, "ERROR: Nombre de sala no válido (1-32 de A-Z a-z 0-9 _ . -, sin espacios)\n", wassop(ana, "ROOM mala sala"))
	assert.Equal(t, "ERROR: Comando desconocido\n", wassop(ana, "BAILAR"))
	assert.Equal(t, "Has salido de la sala Sala1.\n", wassop(ana, "EXIT Sala1"))
	assert.Equal(t, "ana ha salido de la sala.", beto.line())
	assert.Equal(t, "ERROR: No estás en ninguna sala\n", wassop(ana, "MESSAGE hola?"))
	assert.Equal(t, "Te has unido a la sala Sala1.\n", wassop(ana, "ROOM Sala1"))
	assert.Equal(t, "ana se ha unido a la sala.", beto.line())

	ana.send("QUIT\n")
	ana.closedByServer(5 * time.Second)
	assert.Equal(t, "ana ha salido del chat.", beto.line())

	// Closing the socket is a quit too.
	cleo := loginRooms(t, addr, "cleo")
	assert.Equal(t, "Te has unido a la sala Sala1.\n", wassop(cleo, "ROOM Sala1"))
	assert.Equal(t, "cleo se ha unido a la sala.", beto.line())
	cleo.c.Close()
	assert.Equal(t, "cleo ha salido del chat.", beto.line())
	assert.Equal(t, "Has salido de la sala Sala1.\n", wassop(beto, "EXIT"))
	assert.Equal(t, "Salas disponibles:\n", wassop(beto, "LIST_ROOMS"), "an empty room goes away")
}

func TestRoomsMalformedInput(t *testing.T) {
	d := startServer(t, "--listen-rooms", "127.0.0.1:0", "--auth-timeout", "1s")
	addr := dialectAddr(t, d, "rooms")
	a, b := loginRooms(t, addr, "steady_a"), loginRooms(t, addr, "steady_b")
	wassop(a, "ROOM lobby")
	wassop(b, "ROOM lobby")
	a.line()
	chat := func(what string) {
		t.Helper()
		b.send("MESSAGE still here after " + what + "\n")
		a.lineUntil("steady_b: still here after " + what)
	}

	junk := dialLine(t, addr)
	junk.send("JOIN \x00\x01\xff\xfe\n")
	assert.Contains(t, junk.closedByServer(5*time.Second), "ERROR: Texto no válido (se espera UTF-8 sin caracteres de control)")
	chat("junk")

	big := dialLine(t, addr)
	go big.c.Write(append([]byte("MESSAGE "), bytes.Repeat([]byte("A"), 1<<20)...))
	out := big.closedByServer(5 * time.Second)
	assert.True(t, out == "" || strings.Contains(out, "ERROR: Línea demasiado larga"), "%q", out)
	chat("a 1 MB line")

	half := dialLine(t, addr) // connects and never sends JOIN
	assert.Contains(t, half.closedByServer(5*time.Second), "ERROR: Tiempo de espera agotado")
	chat("a half-open connection")
}
