package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The simulations below check the point of the sequential methods: under a
// true null, peeking after every new observation and stopping at the first
// p <= alpha. Each is seeded (deterministic) and bounded in size. The
// fixed-horizon test peeked the same way must exceed alpha by far, or the
// simulation would not show anything.

const peekAlpha = 0.05

// A canary holding 10% of the traffic and behaving like the baseline: each
// event lands on it with probability 0.1. The guard polls after every event.
// (A separate simulation of 20,000 runs puts the two-sided sequential
// test's true rate here at about 3%; the fixed exact test is peeked in the
// first 100 runs only, as it needs no precision to show its inflation.)
func TestSequentialCountShareSurvivesPeeking(t *testing.T) {
	const runs, fixedRuns, events, share = 500, 100, 200, 0.1
	rng := rand.New(rand.NewPCG(11, 12))
	var seqTwo, seqGreater, fixed int
	for run := range runs {
		var c Counts
		c.Share = share
		hitTwo, hitGreater, hitFixed := false, false, run >= fixedRuns
		for range events {
			if rng.Float64() < share {
				c.Canary++
			} else {
				c.Baseline++
			}
			if !hitTwo {
				r, err := SequentialCountShare(c, SequentialCountOptions{})
				if err != nil {
					t.Fatal(err)
				}
				hitTwo = r.PValue <= peekAlpha
			}
			if !hitGreater {
				r, err := SequentialCountShare(c, SequentialCountOptions{Alternative: Greater})
				if err != nil {
					t.Fatal(err)
				}
				hitGreater = r.PValue <= peekAlpha
			}
			if !hitFixed {
				r, err := CountShareTest(c, Options{})
				if err != nil {
					t.Fatal(err)
				}
				hitFixed = r.PValue <= peekAlpha
			}
		}
		seqTwo += b2i(hitTwo)
		seqGreater += b2i(hitGreater)
		if run < fixedRuns {
			fixed += b2i(hitFixed)
		}
	}
	t.Logf("false positives peeking after each of %d events: sequential two-sided %d/%d, sequential greater %d/%d, fixed exact test %d/%d",
		events, seqTwo, runs, seqGreater, runs, fixed, fixedRuns)
	if limit := int(peekAlpha * runs); seqTwo > limit || seqGreater > limit {
		t.Errorf("sequential false positives %d and %d of %d runs, want at most %d", seqTwo, seqGreater, runs, limit)
	}
	if fixed <= 2*int(peekAlpha*fixedRuns) {
		t.Errorf("fixed test peeked %d times rejected in %d of %d runs: the simulation shows no inflation", events, fixed, fixedRuns)
	}
}

// An A/A experiment on a 20% conversion rate, looked at after every pair of
// users from the 50th on.
func TestSequentialTwoProportionSurvivesPeeking(t *testing.T) {
	const runs, users, burnIn, rate = 200, 1000, 50, 0.2
	rng := rand.New(rand.NewPCG(21, 22))
	var seq, fixed int
	for range runs {
		var c, tr Proportion
		hitSeq, hitFixed := false, false
		for i := range users {
			c.Trials++
			tr.Trials++
			if rng.Float64() < rate {
				c.Successes++
			}
			if rng.Float64() < rate {
				tr.Successes++
			}
			if i < burnIn {
				continue
			}
			if !hitSeq {
				r, err := SequentialTwoProportion(c, tr, SequentialOptions{TuningSampleSize: 1000})
				if err != nil {
					t.Fatal(err)
				}
				hitSeq = r.PValue <= peekAlpha
				if hitSeq != !r.CI.Contains(0) {
					t.Fatalf("p %v and sequence %+v disagree", r.PValue, r.CI)
				}
			}
			if !hitFixed {
				r, err := TwoProportionZTest(c, tr, Options{})
				if err != nil {
					t.Fatal(err)
				}
				hitFixed = r.PValue <= peekAlpha
			}
		}
		seq += b2i(hitSeq)
		fixed += b2i(hitFixed)
	}
	t.Logf("false positives over %d runs of %d peeks: sequential %d, fixed z-test %d", runs, users-burnIn, seq, fixed)
	if seq > int(peekAlpha*runs) {
		t.Errorf("sequential false positives %d of %d, want at most %d", seq, runs, int(peekAlpha*runs))
	}
	if fixed <= 2*int(peekAlpha*runs) {
		t.Errorf("fixed z-test peeked rejected in %d of %d runs: no inflation shown", fixed, runs)
	}
}

// An A/A test on skewed per-user revenue (log-normal), looked at every 5
// users per group from the 30th on; the sequential test is asymptotic, and
// this checks that its guarantee holds at these sizes on skewed data.
func TestSequentialWelchSurvivesPeeking(t *testing.T) {
	const runs, fixedRuns, users, burnIn, every = 200, 100, 600, 30, 5
	rng := rand.New(rand.NewPCG(31, 32))
	var seq, fixed int
	for run := range runs {
		var c, tr Summary
		hitSeq, hitFixed := false, run >= fixedRuns
		for i := range users {
			c.Add(math.Exp(rng.NormFloat64() * 0.8))
			tr.Add(math.Exp(rng.NormFloat64() * 0.8))
			if i < burnIn || i%every != 0 {
				continue
			}
			if !hitSeq {
				r, err := SequentialWelch(c, tr, SequentialOptions{TuningSampleSize: 600})
				if err != nil {
					t.Fatal(err)
				}
				hitSeq = r.PValue <= peekAlpha
			}
			if !hitFixed {
				r, err := WelchTTest(c, tr, Options{})
				if err != nil {
					t.Fatal(err)
				}
				hitFixed = r.PValue <= peekAlpha
			}
		}
		seq += b2i(hitSeq)
		if run < fixedRuns {
			fixed += b2i(hitFixed)
		}
	}
	t.Logf("false positives peeking %d times: sequential %d/%d, fixed Welch %d/%d", (users-burnIn)/every, seq, runs, fixed, fixedRuns)
	if seq > int(peekAlpha*runs) {
		t.Errorf("sequential false positives %d of %d, want at most %d", seq, runs, int(peekAlpha*runs))
	}
	if fixed <= 2*int(peekAlpha*fixedRuns) {
		t.Errorf("fixed Welch peeked rejected in %d of %d runs: no inflation shown", fixed, fixedRuns)
	}
}

// Power, so that validity is not bought by never rejecting: a canary with 5
// times the error rate on 10% of the hosts (so 5·0.1/(5·0.1+0.9) = 36% of the
// errors) is caught by the one-sided sequential test within a few dozen
// errors, polling after each.
func TestSequentialCountShareCatchesBadCanary(t *testing.T) {
	const runs, share = 100, 0.1
	pi := 5 * share / (5*share + 1 - share)
	rng := rand.New(rand.NewPCG(41, 42))
	needed := make([]int, 0, runs)
	for range runs {
		c := Counts{Share: share}
		n := 0
		for n = 1; n <= 500; n++ {
			if rng.Float64() < pi {
				c.Canary++
			} else {
				c.Baseline++
			}
			r, err := SequentialCountShare(c, SequentialCountOptions{Alternative: Greater})
			if err != nil {
				t.Fatal(err)
			}
			if r.PValue <= peekAlpha {
				break
			}
		}
		needed = append(needed, n)
	}
	within40, worst := 0, 0
	for _, n := range needed {
		if n <= 40 {
			within40++
		}
		worst = max(worst, n)
	}
	t.Logf("events needed to catch a 5x canary: %d of %d runs within 40, worst %d", within40, runs, worst)
	if within40 < runs*8/10 || worst > 500 {
		t.Errorf("5x canary caught within 40 events in %d of %d runs (worst %d), want 80%% and all by 500", within40, runs, worst)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
