// Pad spent per delivery: padchatd's /metrics says how much of each user's recv pad is left.
package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// metricsWait outlasts padchatd's housekeeping tick (1 s), which is when the
// loop publishes the snapshot /metrics serves.
const metricsWait = 1200 * time.Millisecond

// recvPadLeft sums padchat_pad_bytes_left{direction="recv"} over the users
// whose names start with prefix: the server's sending pads of the subscribers.
// It returns how many users it summed, so a subscriber that went offline (and
// left the snapshot) is not read as pad spent.
func recvPadLeft(url, prefix string) (sum int64, users int, err error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	head := `padchat_pad_bytes_left{user="` + prefix
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, head) || !strings.Contains(l, `direction="recv"}`) {
			continue
		}
		v, err := strconv.ParseInt(l[strings.LastIndexByte(l, ' ')+1:], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q: %w", url, l, err)
		}
		sum += v
		users++
	}
	return sum, users, sc.Err()
}

// padProbe measures the pad padchatd spends on the subscribers' deliveries
// between start and end (no-op for other targets or without /metrics).
type padProbe struct {
	url    string
	before int64
	users  int
	err    error
}

func (p *padProbe) start() {
	if p.url == "" {
		return
	}
	time.Sleep(metricsWait)
	p.before, p.users, p.err = recvPadLeft(p.url, "s")
}

// perDelivery waits for the next snapshot and returns the pad bytes spent per
// delivered message, or a note saying why it could not.
func (p *padProbe) perDelivery(delivered int64) (float64, string) {
	if p.url == "" {
		return 0, ""
	}
	if p.err != nil {
		return 0, "pad metrics: " + p.err.Error()
	}
	time.Sleep(metricsWait)
	after, users, err := recvPadLeft(p.url, "s")
	switch {
	case err != nil:
		return 0, "pad metrics: " + err.Error()
	case users != p.users || users == 0:
		return 0, fmt.Sprintf("pad metrics: %d subscribers' pads before, %d after", p.users, users)
	case delivered == 0:
		return 0, ""
	}
	return float64(p.before-after) / float64(delivered), ""
}
