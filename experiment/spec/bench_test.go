package spec

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func benchUIDs(n int) []string {
	uids := make([]string, n)
	for i := range uids {
		uids[i] = fmt.Sprintf("user-%08d", i)
	}
	return uids
}

// BenchmarkAssign is in-process assignment on one core: the steady state of an
// experiment at 100% rollout (one SHA-256 per call). Target: at least 5M/s.
func BenchmarkAssign(b *testing.B) {
	for _, rollout := range []float64{100, 50} {
		b.Run(fmt.Sprintf("rollout=%v", rollout), func(b *testing.B) {
			d := fiftyFifty("bench")
			d.Rollout = rollout
			a := NewAssigner(d)
			uids := benchUIDs(1 << 16)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				a.Assign(uids[i&(1<<16-1)], "", time.Time{})
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
		})
	}
}

// BenchmarkSHA256 is the floor under BenchmarkAssign, measured in the same run: one
// SHA-256 of a typical input, so that a loaded machine can be told from a slow path.
func BenchmarkSHA256(b *testing.B) {
	uids := benchUIDs(1 << 16)
	var sink byte
	i := 0
	for b.Loop() {
		sum := sha256.Sum256([]byte("bench.branch." + uids[i&(1<<16-1)]))
		sink += sum[0]
		i++
	}
	_ = sink
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
