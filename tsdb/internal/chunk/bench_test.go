package chunk

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/wardmetrics/ward/tsdb/tsdbtest"
)

// benchData is a slice of the benchmark data set (20 hosts = 1,000 series,
// 24h at 10s), bucketed into 2h chunks per series.
type benchData struct {
	kinds []tsdbtest.Kind
	ts    [][]int64   // per series
	vs    [][]float64 // per series
}

func loadBench(b *testing.B, hosts int) *benchData {
	b.Helper()
	cfg := tsdbtest.Default()
	cfg.Hosts = hosts
	g := tsdbtest.New(cfg)
	d := &benchData{}
	for _, s := range g.Series() {
		d.kinds = append(d.kinds, s.Kind)
	}
	d.ts = make([][]int64, len(d.kinds))
	d.vs = make([][]float64, len(d.kinds))
	vals := make([]float64, len(d.kinds))
	for {
		t, ok := g.Next(vals)
		if !ok {
			break
		}
		for i, v := range vals {
			d.ts[i] = append(d.ts[i], t)
			d.vs[i] = append(d.vs[i], v)
		}
	}
	return d
}

const bucketMs = int64(2 * time.Hour / time.Millisecond)

// forChunks calls fn with every 2h chunk of every series.
func (d *benchData) forChunks(fn func(series int, base int64, ts []int64, vs []float64)) {
	for i := range d.ts {
		ts, vs := d.ts[i], d.vs[i]
		for lo := 0; lo < len(ts); {
			base := ts[lo] - ts[lo]%bucketMs
			hi := lo
			for hi < len(ts) && ts[hi] < base+bucketMs {
				hi++
			}
			fn(i, base, ts[lo:hi], vs[lo:hi])
			lo = hi
		}
	}
}

func BenchmarkEncodeDataset(b *testing.B) {
	d := loadBench(b, 20)
	var enc Encoder
	var buf []byte
	var bytesByKind, samplesByKind [4]int
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		bytesByKind, samplesByKind = [4]int{}, [4]int{}
		d.forChunks(func(i int, base int64, ts []int64, vs []float64) {
			buf = enc.EncodeRaw(buf[:0], base, ts, vs)
			bytesByKind[d.kinds[i]] += len(buf)
			samplesByKind[d.kinds[i]] += len(ts)
		})
	}
	total, n := 0, 0
	for k := range bytesByKind {
		total += bytesByKind[k]
		n += samplesByKind[k]
		b.ReportMetric(float64(bytesByKind[k])/float64(samplesByKind[k]), fmt.Sprintf("bytes/sample-%s", tsdbtest.Kind(k)))
	}
	b.ReportMetric(float64(total)/float64(n), "bytes/sample")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(n)*float64(b.N)/(threadCPU()-cpu0).Seconds(), "samples/cpu-s")
}

func BenchmarkDecodeDataset(b *testing.B) {
	d := loadBench(b, 20)
	var enc Encoder
	type c struct {
		base int64
		data []byte
	}
	var chunks []c
	n := 0
	d.forChunks(func(i int, base int64, ts []int64, vs []float64) {
		chunks = append(chunks, c{base, enc.EncodeRaw(nil, base, ts, vs)})
		n += len(ts)
	})
	var dec Decoder
	var ts []int64
	var vs []float64
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		for _, ch := range chunks {
			var err error
			ts, vs, err = dec.DecodeRaw(ch.data, ch.base, ts[:0], vs[:0])
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(n)*float64(b.N)/(threadCPU()-cpu0).Seconds(), "samples/cpu-s")
}

func BenchmarkStreamAppend(b *testing.B) {
	d := loadBench(b, 2)
	n := 0
	for b.Loop() {
		for i := range d.ts {
			var s Stream
			for j, t := range d.ts[i][:720] {
				s.Append(t, d.vs[i][j])
			}
			n += 720
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkStreamDecode decodes whole head streams, as sealing a bucket
// does.
func BenchmarkStreamDecode(b *testing.B) {
	d := loadBench(b, 2)
	streams := make([]Stream, len(d.ts))
	for i := range d.ts {
		for j, t := range d.ts[i][:720] {
			streams[i].Append(t, d.vs[i][j])
		}
	}
	var ts []int64
	var vs []float64
	var scratch []byte
	n := 0
	runtime.LockOSThread() // threadCPU measures this thread
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		for i := range streams {
			ts, vs, scratch = streams[i].DecodeBuf(ts[:0], vs[:0], math.MinInt64, math.MaxInt64, scratch)
			n += len(ts)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(n)/(threadCPU()-cpu0).Seconds(), "samples/cpu-s")
}
