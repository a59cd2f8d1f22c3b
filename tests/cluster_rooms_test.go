package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rooms protocol's LIST_ROOMS counts the plain rooms of every node, as
// native /list does, and still leaves encrypted rooms out.
func TestClusterRoomsListAcrossNodes(t *testing.T) {
	c := startClusterWith(t, 2, 1<<20, []string{"--listen-rooms", "127.0.0.1:0"}, "alice")
	ana := loginRooms(t, dialectAddr(t, c.nodes[0], "rooms"), "ana")
	beto := loginRooms(t, dialectAddr(t, c.nodes[1], "rooms"), "beto")
	join(t, c.dial(1, "alice"), "secret") // encrypted, on node 2

	require.Equal(t, "Te has unido a la sala Sala1.\n", wassop(ana, "ROOM Sala1"))
	require.Equal(t, "Te has unido a la sala Sala2.\n", wassop(beto, "ROOM Sala2"))
	want := "Salas disponibles:\nSala1 (1)\nSala2 (1)\n"
	waitFor(t, 10*time.Second, func() bool { return wassop(ana, "LIST_ROOMS") == want },
		"node 1 lists node 2's plain room")
	assert.Equal(t, want, wassop(beto, "LIST_ROOMS"), "node 2 lists node 1's")

	require.Equal(t, "Te has unido a la sala Sala1.\n", wassop(beto, "ROOM Sala1"))
	want = "Salas disponibles:\nSala1 (2)\n"
	waitFor(t, 10*time.Second, func() bool { return wassop(ana, "LIST_ROOMS") == want },
		"beto moved to Sala1 on node 2")
	waitFor(t, 10*time.Second, func() bool { return wassop(beto, "LIST_ROOMS") == want },
		"and node 2 agrees")
}
