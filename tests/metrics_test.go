// Observability: /healthz and Prometheus /metrics fed from the loop.
package tests

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func metric(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	require.NotNil(t, m, "metric %s missing in:\n%s", name, body)
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

func TestHealthAndMetrics(t *testing.T) {
	d, base := startHTTP(t)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		code, body, _ := httpDo(t, req)
		return code, body
	}
	code, body := get("/healthz")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "dev")
	join(t, bob, "dev")
	request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte("hi")})
	request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("bob"), Text: []byte("psst")})
	// The snapshot is published once per housekeeping tick.
	var m string
	waitFor(t, 5*time.Second, func() bool {
		_, m = get("/metrics")
		return regexp.MustCompile(`(?m)^padchat_connections 2$`).MatchString(m) &&
			regexp.MustCompile(`(?m)^padchat_messages_in_total 6$`).MatchString(m)
	}, "two hellos, two joins, a say and a DM in /metrics")
	assert.Equal(t, 1.0, metric(t, m, "padchat_rooms"))
	assert.Equal(t, 2.0, metric(t, m, "padchat_online_users"))
	assert.GreaterOrEqual(t, metric(t, m, "padchat_store_commits_total"), 1.0)
	assert.Greater(t, metric(t, m, "padchat_bytes_out_total"), 0.0)
	assert.Regexp(t, `padchat_pad_bytes_left\{user="alice",direction="send"\} \d+`, m)
	assert.Less(t, metric(t, m, "go_goroutines"), 20.0, "no goroutine per connection")

	alice.Close()
	waitFor(t, 5*time.Second, func() bool {
		_, m = get("/metrics")
		return regexp.MustCompile(`padchat_closed_total\{reason="peer closed"\} 1`).MatchString(m)
	}, "the close counted by reason:\n%s", m)
}
