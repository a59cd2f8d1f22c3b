// Package bytesize reads and writes byte counts the way people type and read them.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads "64MiB", "1GiB", "512KiB", "16M" or plain bytes.
func Parse(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (e.g. 64MiB)", s)
	}
	return n * mult, nil
}

// Human writes n for people: "12.3 MiB".
func Human(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1<<30:
		return tenths(n, 1<<30) + " GiB"
	case n >= 1<<20:
		return tenths(n, 1<<20) + " MiB"
	case n >= 1<<10:
		return tenths(n, 1<<10) + " KiB"
	}
	return fmt.Sprintf("%d B", n)
}

// tenths prints n/unit with one decimal, rounded down: a pad 16 bytes short
// of 1 MiB reads 1023.9 KiB, never the 1024.0 KiB it does not have.
func tenths(n, unit int64) string {
	t := n * 10 / unit
	return fmt.Sprintf("%d.%d", t/10, t%10)
}
