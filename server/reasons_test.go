package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every reason has a name and a metrics slot, however many are added.
func TestEveryReasonNamedAndCounted(t *testing.T) {
	var s counters
	for r := Reason(0); r < numReasons; r++ {
		assert.NotEmpty(t, reasonNames[r], "reason %d has no name", r)
		s.closed[r]++
	}
	assert.Len(t, s.closed, int(numReasons))
}
