package tsdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardmetrics/ward/tsdb/internal/chunk"
)

// withData keeps, in order, the refs that hold data in [mint, maxt]: what
// /api/v1/series (hints.Func "series") must list. The head answers for
// most live series without decoding anything; raw chunks and rollup chunks
// are consulted only for the refs still unanswered, and a chunk is decoded
// only when its bucket straddles an end of the range. Head streams count
// when their first and last samples enclose part of the range (a series
// with a gap covering the whole range is listed), and rollup points when
// their bucket overlaps it.
func (db *DB) withData(ctx context.Context, refs []uint32, mint, maxt int64) ([]uint32, error) {
	if mint > maxt {
		return refs[:0], nil
	}
	has := make([]bool, len(refs))
	left := len(refs)
	snap, err := db.snapshot(mint, maxt, true)
	if err != nil {
		return nil, err
	}
	h := db.head
	h.mu.RLock()
	for _, b := range snap.buckets {
		for i, r := range refs {
			if !has[i] && int(r) < len(b.series) && b.series[r] != nil && b.series[r].overlaps(mint, maxt) {
				has[i] = true
				left--
			}
		}
	}
	h.mu.RUnlock()

	// want lists the refs still unanswered; idx maps them back.
	var want []uint32
	var idx []int
	pending := func() {
		want, idx = want[:0], idx[:0]
		for i, r := range refs {
			if !has[i] {
				want = append(want, r)
				idx = append(idx, i)
			}
		}
	}
	var dec chunk.Decoder
	var ts []int64
	var vs []float64
	var derr error
	if snap.iter != nil {
		if left > 0 {
			pending()
			err = db.collectChunks(ctx, snap.iter, want, snap.sealed, mint, maxt, func(j int, start int64, v []byte) {
				i := idx[j]
				if has[i] {
					return
				}
				if start >= mint && start+db.bucket-1 <= maxt {
					has[i], left = true, left-1
					return
				}
				var err error
				if ts, vs, err = dec.DecodeRaw(v, start, ts[:0], vs[:0]); err != nil {
					derr = errors.Join(derr, fmt.Errorf("tsdb: decode chunk of series %d at %d: %w", want[j], start, err))
					return
				}
				for _, t := range ts {
					if t >= mint && t <= maxt {
						has[i], left = true, left-1
						return
					}
				}
			})
		}
		if err = errors.Join(err, derr, snap.iter.Close()); err != nil {
			return nil, err
		}
	}
	var pts []chunk.Point
	for _, res := range []resolution{res5m, res1h} {
		if left == 0 {
			break
		}
		pending()
		err := db.joinRollups(ctx, res, want, floorTo(mint, res.period), maxt, func(j int, p int64, v []byte) {
			i := idx[j]
			if has[i] {
				return
			}
			var err error
			if pts, err = dec.DecodeRollup(v, p, res.step, chunk.ColLast, pts[:0]); err != nil {
				derr = errors.Join(derr, fmt.Errorf("tsdb: rollup of series %d at %d: %w", want[j], p, err))
				return
			}
			for _, q := range pts {
				if q.Start <= maxt && q.Start+res.step-1 >= mint {
					has[i], left = true, left-1
					return
				}
			}
		})
		if err = errors.Join(err, derr); err != nil {
			return nil, err
		}
	}
	out := refs[:0]
	for i, r := range refs {
		if has[i] {
			out = append(out, r)
		}
	}
	return out, nil
}

// overlaps reports whether the chunk may hold a sample in [mint, maxt]:
// its stream spans part of the range, or an overlay sample lies in it.
// Caller holds h.mu.
func (c *headChunk) overlaps(mint, maxt int64) bool {
	if c.s.Len() > 0 && c.s.FirstT() <= maxt && c.s.LastT() >= mint {
		return true
	}
	for _, o := range c.ooo {
		if o.t >= mint && o.t <= maxt {
			return true
		}
	}
	return false
}
