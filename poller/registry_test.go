// Tests for the fd table every backend keeps.

package poller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The table grows by a quarter as dense fds come: at most a quarter (and a
// little) of slack per connection held for good, where doubling left up to
// one whole entry (16 bytes) per fd idle.
func TestRegistryGrowsByAQuarter(t *testing.T) {
	var r registry
	next := 0
	for _, n := range []int{1000, 5000, 19000} {
		for ; next < n; next++ {
			r.put(next, Readable, uint64(next))
		}
		assert.LessOrEqual(t, len(r.fds), n+n/4+64, "%d fds", n)
		for fd := 0; fd < n; fd++ {
			e := r.lookup(fd)
			require.NotNil(t, e)
			require.Equal(t, uint64(fd), e.tag)
		}
	}
}
