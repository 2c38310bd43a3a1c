package chunk

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

func BenchmarkDecodeInts(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := make([]int64, 720)
	x := int64(0)
	for i := range xs {
		if r.IntN(2) == 0 {
			x += int64(r.IntN(40))
		}
		xs[i] = x
	}
	var sc intScratch
	buf := encodeInts(nil, xs, &sc)
	out := make([]int64, len(xs))
	var us []uint64
	var table huffTable
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		var err error
		if _, us, err = decodeInts(buf, out, us, &table); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(b.N*len(xs)), "cpu-ns/value")
	b.ReportMetric(float64(len(buf)*8)/float64(len(xs)), "bits/value")
}
