package server

import (
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
)

// registerThrowaway registers a protocol no file of the daemon knows, as a
// newcomer's new file would, and removes it when the test ends.
func registerThrowaway(t *testing.T, started *[]string) {
	n := len(dialects)
	registerDialect(dialect{Protocol{Name: "echo", Help: "echo `address`",
		Options: []Option{{Name: "echo-repeat", Help: "times", Default: 2, Min: 1, Max: 9}}},
		func(l *Loop, addr string) error {
			*started = append(*started, addr)
			return nil
		}})
	t.Cleanup(func() { dialects = dialects[:n] })
}

func TestConfigRegisteredProtocolStartsFromListeners(t *testing.T) {
	var started []string
	registerThrowaway(t, &started)
	assert.Contains(t, Protocols(), Protocol{Name: "echo", Help: "echo `address`",
		Options: []Option{{Name: "echo-repeat", Help: "times", Default: 2, Min: 1, Max: 9}}})

	l, _ := plainLoop(t, Config{})
	assert.Empty(t, started, "off without an address")
	assert.Equal(t, 2, l.cfg.option("echo-repeat"), "an unset option takes its default")

	l, _ = plainLoop(t, Config{Listeners: map[string]string{"echo": "192.0.2.1:7"}, ProtocolOptions: map[string]int{"echo-repeat": 3}})
	assert.Equal(t, []string{"192.0.2.1:7"}, started)
	assert.Equal(t, 3, l.cfg.option("echo-repeat"))
	assert.Equal(t, 1024, l.cfg.option(svcMinPushPort), "the message service's option keeps its default")
}

func TestConfigRefusesUnknownProtocolsAndBadOptions(t *testing.T) {
	var started []string
	registerThrowaway(t, &started)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Listeners: map[string]string{"lobby": "127.0.0.1:0"}}, `listener for "lobby": no such plain-text protocol`},
		{Config{ProtocolOptions: map[string]int{"echo-times": 3}}, `"echo-times": no plain-text protocol has this option`},
		{Config{ProtocolOptions: map[string]int{"echo-repeat": 10}}, "echo-repeat: 10 is outside 1..9"},
		{Config{ProtocolOptions: map[string]int{svcMinPushPort: 0}}, "msgsvc-min-push-port: 0 is outside 1..65535"},
	} {
		tc.cfg.DataDir, tc.cfg.Listen = t.TempDir(), "127.0.0.1:0"
		_, err := New(tc.cfg, zerolog.Nop())
		assert.ErrorContains(t, err, tc.want)
	}
	assert.Empty(t, started)
}
