package qr_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"jifen/qr"
)

// Every code reads back as its text, including two volunteer numbers the
// encoder draws unreadably at error correction M, and a spread of
// volunteer codes and certificate check links.
func TestEveryCodeReadsBack(t *testing.T) {
	texts := []string{"JFV:202638276068", "JFV:202657160712"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		texts = append(texts, fmt.Sprintf("JFV:2026%08d", rng.IntN(100_000_000)),
			fmt.Sprintf("https://jifen.example.cn/verify/ZM2026%07d-%08x", rng.IntN(10_000_000), rng.Uint32()))
	}
	for _, text := range texts {
		b, err := qr.PNG(text, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := qr.Read(b); got != text {
			t.Errorf("%s reads back as %q", text, got)
		}
	}
}
