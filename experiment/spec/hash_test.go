package spec

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// The vectors were computed independently of this package with Python's hashlib
// (README.md, "Assignment", lists the same ones for client authors):
//
//	int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "big") % 10000
func TestBucketVectors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"checkout-button.rollout.user-1", 6632},
		{"checkout-button.branch.user-1", 2931},
		{"checkout-button.branch.42", 5647},
		{"checkout-button.rollout.42", 4652},
		{"new-onboarding.branch.alice@example.com", 1278},
		{"x.branch.", 7459},
		{"checkout-button.branch.ünïcode", 3988},
	} {
		if got := Bucket(tc.in); got != tc.want {
			t.Errorf("Bucket(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got, want := RolloutBucket("checkout-button", "user-1"), uint32(6632); got != want {
		t.Errorf("RolloutBucket = %d, want %d", got, want)
	}
	if got, want := BranchBucket("checkout-button", "user-1"), uint32(2931); got != want {
		t.Errorf("BranchBucket = %d, want %d", got, want)
	}
	// hash64 (the allocation-free path) must agree with Bucket, including for ids
	// longer than its stack buffer.
	long := string(slices.Repeat([]byte("u"), 400))
	for _, uid := range []string{"user-1", "", long} {
		a := uint32(hash64([]byte("s.branch."), uid) % bucketCount)
		if b := Bucket("s.branch." + uid); a != b {
			t.Errorf("hash64 bucket %d != Bucket %d for uid of %d bytes", a, b, len(uid))
		}
	}
}

// The README's worked example: checkout-button at 70% rollout, control/green 50/50.
func TestAssignWorkedExample(t *testing.T) {
	a := NewAssigner(Definition{
		Name:     "checkout-button",
		Branches: []Branch{{Name: "control", Weight: 50}, {Name: "green", Weight: 50}},
		Rollout:  70,
	})
	for _, tc := range []struct {
		uid    string
		branch string
		reason Reason
	}{
		{"user-1", "control", ReasonAssigned},      // rollout 6632 < 7000, branch 2931 < 5000
		{"user-2", "control", ReasonNotInRollout},  // rollout 8691
		{"user-17", "green", ReasonAssigned},       // rollout 1469, branch 7645
		{"user-25", "green", ReasonAssigned},       // rollout 5328, branch 7076
		{"user-29", "control", ReasonNotInRollout}, // rollout 7670 (its branch bucket 5542 is unused)
	} {
		got := a.Assign(tc.uid, "", time.Time{})
		if got.Branch != tc.branch || got.Reason != tc.reason || got.Record != (tc.reason == ReasonAssigned) {
			t.Errorf("%s: got %+v, want %s (%s)", tc.uid, got, tc.branch, tc.reason)
		}
	}
}

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		w    []float64
		want []uint32
	}{
		{[]float64{50, 50}, []uint32{5000, 10000}},
		{[]float64{1, 1, 1}, []uint32{3333, 6666, 10000}},
		{[]float64{0.9, 0.1}, []uint32{9000, 10000}},
		{[]float64{10, 0, 90}, []uint32{1000, 1000, 10000}},
		{[]float64{1, 2, 3, 4}, []uint32{1000, 3000, 6000, 10000}},
	} {
		var bs []Branch
		for i, w := range tc.w {
			bs = append(bs, Branch{Name: fmt.Sprint("b", i), Weight: w})
		}
		if got := Bounds(bs); !slices.Equal(got, tc.want) {
			t.Errorf("Bounds(%v) = %v, want %v", tc.w, got, tc.want)
		}
	}
	for _, tc := range []struct {
		pct  float64
		want uint32
	}{{0, 0}, {0.004, 0}, {0.005, 1}, {12.345, 1235}, {100, 10000}, {150, 10000}, {-1, 0}} {
		if got := RolloutBasisPoints(tc.pct); got != tc.want {
			t.Errorf("RolloutBasisPoints(%v) = %d, want %d", tc.pct, got, tc.want)
		}
	}
}

// Over 100,000 user ids a 50/50 experiment splits within 1%, and a 50/30/20 one
// matches its weights within 1% too.
func TestSplitMatchesWeights(t *testing.T) {
	const n = 100_000
	for _, weights := range [][]float64{{50, 50}, {50, 30, 20}} {
		var bs []Branch
		var total float64
		for i, w := range weights {
			bs = append(bs, Branch{Name: fmt.Sprint("b", i), Weight: w})
			total += w
		}
		a := NewAssigner(Definition{Name: "split", Branches: bs, Rollout: 100})
		counts := make([]int, len(bs))
		for i := range n {
			counts[a.Assign(fmt.Sprintf("user-%d", i), "", time.Time{}).Index]++
		}
		for i, c := range counts {
			share, want := float64(c)/n, weights[i]/total
			if math.Abs(share-want) > 0.01 {
				t.Errorf("weights %v: branch %d has %.4f of users, want %.2f ± 0.01", weights, i, share, want)
			}
		}
		t.Logf("weights %v: %v", weights, counts)
	}
}

// Raising the rollout only adds users, and never moves anyone between branches,
// because "in the rollout?" and "which branch?" hash different inputs.
func TestRolloutIncreaseOnlyAdds(t *testing.T) {
	def := fiftyFifty("ramp")
	def.Rollout = 10
	low := NewAssigner(def)
	def.Rollout = 60
	high := NewAssigner(def)
	var in10, in60 int
	var inBranch [2]int
	for i := range 50_000 {
		uid := fmt.Sprintf("u%d", i)
		a, b := low.Assign(uid, "", time.Time{}), high.Assign(uid, "", time.Time{})
		if a.Record {
			in10++
			if !b.Record || a.Branch != b.Branch {
				t.Fatalf("%s: at 10%% %+v, at 60%% %+v: raising the rollout moved a user", uid, a, b)
			}
			inBranch[a.Index]++
		}
		if b.Record {
			in60++
		}
	}
	if math.Abs(float64(in10)/50_000-0.10) > 0.01 || math.Abs(float64(in60)/50_000-0.60) > 0.01 {
		t.Errorf("rollout shares %d and %d of 50000, want about 10%% and 60%%", in10, in60)
	}
	// Independence: inside a 10% rollout the branches still split 50/50 (the skew
	// Unleash had when both decisions shared one hash).
	if share := float64(inBranch[0]) / float64(in10); math.Abs(share-0.5) > 0.02 {
		t.Errorf("inside the rollout control has %.3f of users, want 0.5 ± 0.02", share)
	}
}

func TestAssignOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := fiftyFifty("order")
	base.Start, base.End = start, start.Add(24*time.Hour)
	inside := start.Add(time.Hour)

	closed := base
	closed.Status, closed.Winner = StatusClosed, "treatment"
	qa := base
	qa.Mode = ModeQA
	zero := base
	zero.Rollout = 0

	for _, tc := range []struct {
		name   string
		def    Definition
		role   string
		at     time.Time
		branch string
		reason Reason
	}{
		{"closed wins over the window", closed, "", start.Add(-time.Hour), "treatment", ReasonClosed},
		{"before start", base, "qa", start.Add(-time.Millisecond), "control", ReasonInactive},
		{"at end", base, "", base.End, "control", ReasonInactive},
		{"qa mode, plain user", qa, "", inside, "control", ReasonQAOnly},
		{"qa mode, viewer role", qa, "viewer", inside, "control", ReasonQAOnly},
		{"rollout zero", zero, "admin", inside, "control", ReasonNotInRollout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 200 {
				got := NewAssigner(tc.def).Assign(fmt.Sprint("u", i), tc.role, tc.at)
				if got.Branch != tc.branch || got.Reason != tc.reason || got.Record {
					t.Fatalf("u%d: got %+v, want %s (%s), not recorded", i, got, tc.branch, tc.reason)
				}
			}
		})
	}
	// QA users are randomised in QA mode: both branches appear and are recorded.
	seen := map[string]bool{}
	for i := range 200 {
		got := NewAssigner(qa).Assign(fmt.Sprint("u", i), []string{"qa", "admin", "QA"}[i%3], inside)
		if !got.Record || got.Reason != ReasonAssigned {
			t.Fatalf("qa user u%d: %+v, want recorded", i, got)
		}
		seen[got.Branch] = true
	}
	if !seen["control"] || !seen["treatment"] {
		t.Errorf("QA users got only %v, want both branches", seen)
	}
}

func fiftyFifty(name string) Definition {
	return Definition{
		Name:     name,
		Branches: []Branch{{Name: "control", Weight: 50}, {Name: "treatment", Weight: 50}},
		Rollout:  100,
	}
}

func TestAssignerDoesNotAllocate(t *testing.T) {
	a := NewAssigner(fiftyFifty("alloc"))
	allocs := testing.AllocsPerRun(1000, func() { a.Assign("user-123456", "", time.Time{}) })
	if allocs != 0 {
		t.Errorf("Assign allocates %.1f times per call, want 0", allocs)
	}
}
