// A log-linear latency histogram: 64 buckets per power of two (under 1.6% error), no allocation per sample.
package main

import (
	"math/bits"
	"time"
)

const (
	subBits    = 6
	subBuckets = 1 << subBits
	numBuckets = (64-subBits)*subBuckets + subBuckets
)

// histogram belongs to one goroutine; merge them when the run is over.
type histogram struct {
	counts [numBuckets]uint32
	n      int64
	max    int64
}

func bucketOf(v int64) int {
	if v < subBuckets {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return (shift+1)*subBuckets + int(uint64(v)>>shift) - subBuckets
}

// bucketMid is the middle of bucket i's range.
func bucketMid(i int) int64 {
	if i < subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	lo := int64(i%subBuckets+subBuckets) << shift
	return lo + (int64(1)<<shift)/2
}

func (h *histogram) record(v int64) {
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the value below which a fraction q of the samples lie.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			return time.Duration(min(bucketMid(i), h.max))
		}
	}
	return time.Duration(h.max)
}
