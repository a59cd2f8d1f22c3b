package bytesize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "64K": 64 << 10, "1536KiB": 1536 << 10, "20MiB": 20 << 20, "2G": 2 << 30, "7B": 7} {
		n, err := Parse(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, n, in)
	}
	for _, bad := range []string{"", "0", "-1M", "lots", "1.5M"} {
		_, err := Parse(bad)
		assert.Error(t, err, bad)
	}
}

func TestHuman(t *testing.T) {
	assert.Equal(t, "12 B", Human(12))
	assert.Equal(t, "1.5 KiB", Human(1536))
	assert.Equal(t, "20.0 MiB", Human(20<<20))
	assert.Equal(t, "?", Human(-1))
}

func TestHumanRoundsDown(t *testing.T) {
	assert.Equal(t, "1023.9 KiB", Human(1<<20-16), "never the size it does not have")
	assert.Equal(t, "1.0 MiB", Human(1<<20))
	assert.Equal(t, "1.9 GiB", Human(2<<30-1))
}
