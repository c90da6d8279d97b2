package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The histogram's percentiles agree with the exact ones of a sorted slice
// to within one bucket (1/64), over latencies from microseconds to seconds.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var exact []time.Duration
	for range 100_000 {
		// Log-normal around 2 ms with a long tail, as request latencies go.
		d := time.Duration(math.Exp(rng.NormFloat64()*1.5+math.Log(2000))) * time.Microsecond
		h.Record(d)
		exact = append(exact, d.Truncate(time.Microsecond))
	}
	slices.Sort(exact)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		want := exact[int(math.Ceil(q*float64(len(exact))))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/64+float64(time.Microsecond) {
			t.Errorf("p%g: %v, exact %v", q*100, got, want)
		}
	}
	if h.Max() != exact[len(exact)-1] || h.Count() != uint64(len(exact)) {
		t.Errorf("max %v count %d, want %v %d", h.Max(), h.Count(), exact[len(exact)-1], len(exact))
	}
	var merged Histogram
	merged.Merge(&h)
	merged.Merge(&h)
	if merged.Count() != 2*h.Count() || merged.Quantile(0.99) != h.Quantile(0.99) || merged.Max() != h.Max() {
		t.Errorf("merging a histogram with itself changed its shape")
	}
}

func TestHistogramBuckets(t *testing.T) {
	for us := int64(0); us < 1<<22; us += 1 + us/100 {
		i := bucketOf(us)
		if upperOf(i) < us || (i > 0 && upperOf(i-1) >= us) {
			t.Fatalf("%d µs in bucket %d, which ends at %d (previous %d)", us, i, upperOf(i), upperOf(i-1))
		}
	}
	var h Histogram
	h.Record(time.Hour * 24 * 365 * 10) // beyond the last bucket: clamped, not a panic
	if h.Quantile(0.5) != h.Max() {
		t.Errorf("a huge value reads back as %v", h.Quantile(0.5))
	}
}

// Recording costs no allocation, so the bench's own overhead stays flat.
func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(1234 * time.Microsecond) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
}
