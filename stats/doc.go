// Package stats holds the statistics that Ward's deploy guard and its
// experiments share: tests on counts with an exposure share, rank tests on
// per-interval samples, two-sample tests on proportions and means,
// sample-ratio-mismatch checks, multiple-comparison corrections and
// always-valid sequential inference.
//
// Everything here is a pure function of its inputs: no I/O, no goroutines,
// no state between calls, nothing of Ward's imported. Distributions come
// from gonum.org/v1/gonum/stat/distuv and special functions from
// gonum.org/v1/gonum/mathext.
//
// # Conventions
//
// Two-sample functions take the control (baseline) first and the treatment
// (canary) second, and every difference, shift, ratio or lift is treatment
// relative to control. [Greater] means "treatment larger than control" (or,
// for a count share, "canary larger than its share"), [Less] the opposite.
//
// A zero [Options.Confidence] means 0.95, except for [MannWhitney], whose zero
// value follows Kayenta's judge and means 0.98.
//
// Results embed [Result], which carries the method name, the test statistic,
// the p-value, the effect size (Estimate) and its confidence interval, so a
// caller can report any test the same way.
//
// Invalid arguments (a share outside (0, 1), a negative count, NaN in a
// sample) are reported with errors wrapping [ErrInvalid]; too little data to
// say anything (no events, fewer than two observations, zero variance) with
// errors wrapping [ErrNoData], which callers should treat as "inconclusive",
// never as "pass".
//
// # Which p-values survive peeking
//
// Fixed-horizon p-values ([BinomialTest], [CountShareTest], [WelchTTest],
// [TwoProportionZTest], [MannWhitney]) are valid when the data are looked at
// once. A guard that polls every minute, or a dashboard read every day, looks
// many times and inflates false positives (a fixed test at 0.05 peeked at
// every step of 1000 rejects a true null more than a third of the time; see
// the simulation tests). [SequentialCountShare], [NormalMixture],
// [SequentialTwoProportion] and [SequentialWelch] give p-values and confidence
// sequences that hold at every look simultaneously: P(some look rejects a
// true null) <= alpha, by Ville's inequality applied to a nonnegative
// (super)martingale.
package stats
