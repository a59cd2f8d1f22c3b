// Accounts through remove and re-add while the daemon runs: a name is not an account.
package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/server"
	"padchat/wire"
)

func TestRemoveReAddWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{{"plain", nil}, {"burn", []string{"--burn"}}} {
		t.Run(tc.name, func(t *testing.T) {
			d := startServer(t, tc.args...)
			oldDir := d.addUser("carol", 0)
			keep := filepath.Join(t.TempDir(), "old-carol")
			require.NoError(t, os.Rename(oldDir, keep))
			old, err := pcclient.Dial(d.addr, keep)
			require.NoError(t, err)
			t.Cleanup(func() { old.Close() })
			request(t, old, wire.Msg{Op: wire.OpPing})

			// Mail for the old account, delivered but never acknowledged: it
			// stays in the mailbox kept under the name.
			alice := dial(t, d, "alice")
			sendDM(t, alice, "carol", "for the old carol")
			expect(t, old, "the old account's mail", isOp(wire.OpDirect))

			// The mailbox purge needs the store, which the running daemon holds;
			// the pads are gone either way, and that is what this test is about.
			_, _ = server.RemoveUser(d.data, "carol")
			r := request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("carol"), Text: []byte("anyone?")})
			assert.Equal(t, wire.OpError, r.Op, "a DM to a removed name is refused")
			assert.Equal(t, uint32(wire.CodeNoSuchUser), r.ID, string(r.Text))
			newDir := d.addUser("carol", 0)
			fresh, err := pcclient.Dial(d.addr, newDir)
			require.NoError(t, err, "the re-added account must log in at once\n%s", d.logs)
			request(t, fresh, wire.Msg{Op: wire.OpPing})
			sendDM(t, alice, "carol", "for the new carol")
			m := expect(t, fresh, "the new account's first mail", isOp(wire.OpDirect))
			assert.Equal(t, "for the new carol", string(m.Text), "the new account got the old one's mail")

			bye := expect(t, old, "bye to the removed account's session", isOp(wire.OpBye))
			assert.Equal(t, wire.ByeRemoved, wire.ByeReason(bye.ID))
			assert.True(t, wire.ByeReason(bye.ID).Final())

			_, err = pcclient.Dial(d.addr, keep)
			require.Error(t, err, "the removed account's bundle must be refused")

			fresh.Close()
			require.NoError(t, d.stop())
			// After a restart the new account still logs in: the old session
			// wrote no state records into its files.
			d.start()
			again, err := pcclient.Dial(d.addr, newDir)
			require.NoError(t, err, "the re-added account must log in after a restart")
			request(t, again, wire.Msg{Op: wire.OpPing})
			again.Close()
			_, err = pcclient.Dial(d.addr, keep)
			require.Error(t, err)
		})
	}
}
