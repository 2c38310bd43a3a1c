package tsdbtest

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestShapeAndDeterminism(t *testing.T) {
	cfg := Default()
	cfg.Hosts = 4
	cfg.Duration = time.Hour
	g1, g2 := New(cfg), New(cfg)
	if len(g1.Series()) != 4*MetricsPerHost || g1.Steps() != 360 {
		t.Fatalf("%d series, %d steps", len(g1.Series()), g1.Steps())
	}
	kinds := map[Kind]int{}
	for _, s := range g1.Series() {
		kinds[s.Kind]++
	}
	if kinds[Counter] != 80 || kinds[Gauge2Dec] != 40 || kinds[GaugeInt] != 40 || kinds[Quantile] != 40 {
		t.Fatalf("kinds %v, want 40/20/20/20 percent", kinds)
	}
	v1, v2 := make([]float64, len(g1.Series())), make([]float64, len(g1.Series()))
	prev := make([]float64, len(v1))
	zeros, counterSteps := 0, 0
	for step := 0; ; step++ {
		ts1, ok1 := g1.Next(v1)
		ts2, _ := g2.Next(v2)
		if !ok1 {
			break
		}
		if ts1 != ts2 || ts1 != cfg.Start.UnixMilli()+int64(step)*10_000 {
			t.Fatalf("step %d at %d and %d", step, ts1, ts2)
		}
		for i, s := range g1.Series() {
			v := v1[i]
			if math.Float64bits(v) != math.Float64bits(v2[i]) {
				t.Fatalf("not deterministic at step %d series %d", step, i)
			}
			switch s.Kind {
			case Counter:
				if step > 0 {
					if v < prev[i] || v != math.Trunc(v) {
						t.Fatalf("counter %d went from %v to %v", i, prev[i], v)
					}
					counterSteps++
					if v == prev[i] {
						zeros++
					}
				}
			case GaugeInt:
				if v != math.Trunc(v) {
					t.Fatalf("integer gauge %v", v)
				}
			case Gauge2Dec:
				if f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 2, 64), 64); f != v {
					t.Fatalf("2-decimal gauge %v", v)
				}
			case Quantile:
				if f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64); f != v {
					t.Fatalf("quantile %v has more than 3 significant digits", v)
				}
			}
			prev[i] = v
		}
	}
	if frac := float64(zeros) / float64(counterSteps); frac < 0.3 || frac > 0.8 {
		t.Fatalf("%.2f of counter increments are zero; want many", frac)
	}
}
