package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The histogram keeps latencies in microseconds in log-linear buckets, as
// HdrHistogram does: exact below 128 µs, then 64 buckets per power of two,
// so a percentile is off by at most 1/64 (1.6 %) and recording one value
// is a few instructions with no allocation.
const (
	subBits    = 6
	subCount   = 1 << subBits
	histShifts = 41 // up to 2^47 µs, far beyond any request
	histSize   = 2*subCount + histShifts*subCount
)

// Histogram counts latencies. The zero value is ready to use; it is not
// safe for concurrent use (each client keeps its own and they are merged).
type Histogram struct {
	counts [histSize]uint64
	n      uint64
	sum    int64 // µs
	max    int64 // µs
}

func bucketOf(us int64) int {
	if us < 0 {
		us = 0
	}
	if us < 2*subCount {
		return int(us)
	}
	shift := bits.Len64(uint64(us)) - (subBits + 1)
	top := us >> shift // in [subCount, 2*subCount)
	i := 2*subCount + (shift-1)*subCount + int(top-subCount)
	if i >= histSize {
		return histSize - 1
	}
	return i
}

// upperOf is the largest value bucket i holds.
func upperOf(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	shift := (i-2*subCount)/subCount + 1
	top := int64((i-2*subCount)%subCount + subCount)
	return (top+1)<<shift - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	us := d.Microseconds()
	h.counts[bucketOf(us)]++
	h.n++
	h.sum += us
	if us > h.max {
		h.max = us
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is how many latencies were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest latency recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the average latency.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/int64(h.n)) * time.Microsecond
}

// Quantile is the latency under which a share q of the recorded ones lie
// (the upper edge of its bucket, never above the maximum).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == histSize-1 { // the last bucket also holds everything beyond it
				return h.Max()
			}
			return time.Duration(min(upperOf(i), h.max)) * time.Microsecond
		}
	}
	return h.Max()
}
