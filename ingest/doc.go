// Package ingest aggregates statsd-style measurements in memory and hands
// one Batch per flush interval to a Sink.
//
// Counters are cumulative totals owned by Ward (so rate() works and a
// restart continues from the stored total via Restore), gauges keep their
// last value, timers and histograms are cumulative-bucket histograms, and
// sets count distinct members per interval. The hot path (Add on an
// existing series) takes one shard lock and allocates nothing. README.md
// beside this file states every rule: names, tags, rates, limits, expiry.
package ingest
