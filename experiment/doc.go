// Package experiment runs split tests: definitions with weighted branches, deterministic
// assignment from a documented hash, sticky first exposures, per-user event totals, and
// results with honest statistics (two-proportion z, Welch's t, corrections for many
// comparisons, a sample-ratio-mismatch check and an always-valid sequential mode).
//
// The hash, the key layout and the JSON shapes of the HTTP routes are specified in
// README.md beside this file, precisely enough for a client in any language.
//
// The package keeps its state in a key-value Store (Ward's tsdb.KV in the daemon) and
// holds per-user totals compactly in memory, so results over a million users are a scan
// of flat arrays. It imports no HTTP server: the api package mounts its methods.
package experiment
