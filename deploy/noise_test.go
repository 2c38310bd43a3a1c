package deploy

import (
	"testing"
	"time"
)

// memoryRun plays one simulated deploy in memory and polls the verdict every minute, as
// the continuous guard does, computing what the guard's PromQL expressions would return
// (cumulative counts, per-host samples, per-minute revenue). It returns the decision at
// every poll.
func memoryRun(t *testing.T, spec *Spec, c *cluster, minutes int) []Decision {
	t.Helper()
	stepsPerMin := int(time.Minute / c.step)
	// An hour of history for the before/after revenue comparison.
	var before []float64
	for m := 0; m < 60; m++ {
		var cents float64
		for s := 0; s < stepsPerMin; s++ {
			for _, p := range c.tick(c.t0.Add(-time.Hour + time.Duration(m*stepsPerMin+s)*c.step)) {
				cents += p.cents
			}
		}
		before = append(before, cents/60)
	}
	var (
		errA, errB, reqA, reqB float64
		latA, latB, after      []float64
		out                    []Decision
	)
	for m := 0; m < minutes; m++ {
		var cents float64
		for s := 0; s < stepsPerMin; s++ {
			for _, p := range c.tick(c.t0.Add(time.Duration(m*stepsPerMin+s+1) * c.step)) {
				cents += p.cents
				if p.canary {
					errA, reqA = errA+p.errors, reqA+p.requests
					latA = append(latA, p.latency)
				} else {
					errB, reqB = errB+p.errors, reqB+p.requests
					latB = append(latB, p.latency)
				}
			}
		}
		after = append(after, cents/60)
		var results []MetricResult
		for _, mt := range spec.Metrics {
			switch mt.Name {
			case "errors":
				results = append(results, JudgeCounts(mt, errA, errB, reqA/(reqA+reqB), spec.Confidence))
			case "latency":
				results = append(results, JudgeSamples(mt, latA, latB, spec.Confidence))
			case "revenue":
				results = append(results, JudgeSamples(mt, after, before[len(before)-len(after):], spec.Confidence))
			}
		}
		d, _, _ := Decide(results, nil, spec.Confidence, spec.PassScore, spec.MarginalScore)
		out = append(out, d)
	}
	return out
}

// Over 100 seeded healthy deploys, each polled every minute for 15 minutes, the guard
// must roll back fewer than 5: every poll is a look, so this is the family-wise rate
// that fixed-horizon tests would inflate. Most healthy deploys should end promoted.
func TestNoisyHealthyCanariesRarelyRolledBack(t *testing.T) {
	spec := mustSpec(t, testSpec)
	const runs = 100
	rollbacks, promoted := 0, 0
	for seed := uint64(0); seed < runs; seed++ {
		ds := memoryRun(t, spec, newCluster(1000+seed, simStart), 15)
		for _, d := range ds {
			if d == Rollback {
				rollbacks++
				break
			}
		}
		if ds[len(ds)-1] == Promote {
			promoted++
		}
	}
	t.Logf("healthy runs: %d of %d rolled back at some poll, %d promoted at the end", rollbacks, runs, promoted)
	if rollbacks >= runs*5/100 {
		t.Errorf("false rollback rate %d%%, want < 5%%", rollbacks*100/runs)
	}
	if promoted < runs*80/100 {
		t.Errorf("only %d of %d healthy canaries promoted after 15 minutes", promoted, runs)
	}
}

// A canary with 5x the error rate must be rolled back within two evaluation intervals,
// in every seeded run.
func TestBadCanaryCaughtWithinTwoIntervals(t *testing.T) {
	spec := mustSpec(t, testSpec)
	for seed := uint64(0); seed < 20; seed++ {
		c := newCluster(5000+seed, simStart)
		c.canaryErrFactor = 5
		ds := memoryRun(t, spec, c, 2)
		if ds[0] != Rollback && ds[1] != Rollback {
			t.Fatalf("seed %d: decisions %v in the first two minutes, want a rollback", seed, ds)
		}
	}
}
