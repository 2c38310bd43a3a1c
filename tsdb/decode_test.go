package tsdb

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestIteratorOrders reads series with many sealed chunks (decoded by two
// goroutines, see decode.go) in the orders a consumer may take: in set
// order with one reused iterator, stopping early on some series, in
// reverse, with a fresh iterator each, and seeking. Every sample must come
// back exactly and in order whatever the consumer did with the iterator
// before.
func TestIteratorOrders(t *testing.T) {
	opts := testOptions()
	opts.BucketDuration = time.Hour
	db := openTest(t, t.TempDir(), opts)
	defer db.Close()
	const (
		nSeries = 24
		hour    = 3600_000
		step    = 60_000
		hours   = 10
	)
	val := func(i int, ts int64) float64 {
		k := float64((ts - t0) / step)
		switch i % 3 {
		case 0:
			return float64(i*1000) + k // counter
		case 1:
			return math.Round((float64(i)+math.Sin(k/7))*100) / 100 // 2 decimals
		}
		return float64(i) + k/3 // not a short decimal
	}
	for ts := int64(t0); ts < t0+hours*hour; ts += step {
		batch := make([]Sample, 0, nSeries)
		for i := range nSeries {
			batch = append(batch, Sample{lbls("__name__", "m", "s", fmt.Sprintf("%02d", i)), ts, val(i, ts)})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+(hours-1)*hour })
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	selectAll := func() []storage.Series { return selectSeries(t, q, nSeries, eqMatcher("__name__", "m")) }
	// check reads s with it from the start (or from seek), at most limit
	// samples, and compares them with the data written.
	check := func(name string, s storage.Series, it chunkenc.Iterator, seek int64, limit int) chunkenc.Iterator {
		var i int
		if _, err := fmt.Sscanf(s.Labels().Get("s"), "%d", &i); err != nil {
			t.Fatal(err)
		}
		it = s.Iterator(it)
		want := int64(t0)
		vt := it.Next()
		if seek > t0 {
			want = seek
			vt = it.Seek(seek)
		}
		n := 0
		for ; vt == chunkenc.ValFloat && n < limit; vt = it.Next() {
			ts, v := it.At()
			if ts != want || v != val(i, ts) {
				t.Fatalf("%s: series %d sample %d = (%d, %v), want (%d, %v)", name, i, n, ts, v, want, val(i, want))
			}
			want += step
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatalf("%s: series %d: %v", name, i, err)
		}
		if all := int((t0 + hours*hour - max(seek, t0)) / step); n != min(all, limit) {
			t.Fatalf("%s: series %d: read %d samples, want %d", name, i, n, min(all, limit))
		}
		return it
	}
	var it chunkenc.Iterator
	for _, s := range selectAll() {
		it = check("in order", s, it, 0, math.MaxInt)
	}
	for k, s := range selectAll() {
		limit := math.MaxInt
		if k%2 == 0 {
			limit = 3 // leave the series early
		}
		it = check("early stop", s, it, 0, limit)
	}
	list := selectAll()
	for k := len(list) - 1; k >= 0; k-- {
		it = check("reverse", list[k], it, 0, math.MaxInt)
	}
	for _, s := range selectAll() {
		check("fresh iterators", s, nil, 0, math.MaxInt)
	}
	for k, s := range selectAll() {
		it = check("seek", s, it, t0+int64(k%hours)*hour+int64(k)*step, math.MaxInt)
	}
}
