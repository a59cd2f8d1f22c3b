// Deadline turns Wait's timeout into the time still left on each retry (after EINTR or an early kernel return).

package poller

import "time"

type deadline struct {
	forever bool
	at      time.Time
}

func deadlineAfter(timeout time.Duration) deadline {
	if timeout < 0 {
		return deadline{forever: true}
	}
	return deadline{at: time.Now().Add(timeout)}
}

// left is -1 for "wait forever", otherwise the remaining time, never below 0.
func (d deadline) left() time.Duration {
	if d.forever {
		return -1
	}
	return max(time.Until(d.at), 0)
}

// millis rounds up, so a wait of 300µs does not become a busy poll of 0ms.
func millis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, 1<<31-1))
}
