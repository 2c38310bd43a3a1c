// Package deploy is Ward's cluster immune system: it keeps deploys (releases in their
// canary, full, done or rolled-back phase) in storage, serves them as annotations,
// reads the rollback rules of the `guard:` section of rule files, judges a canary
// against its baseline (or a release against the time before it) and, while a deploy
// is in its canary phase, rolls it back as soon as the verdict says so.
//
// Metrics are read through PromQL: the caller passes a QueryFunc and a RangeQueryFunc
// (the daemon adapts a promql.Engine over tsdb), so this package imports neither the
// storage nor the HTTP API. The statistics come from package stats; see README.md for
// how each comparison is tested and why the verdict survives repeated polling.
package deploy
