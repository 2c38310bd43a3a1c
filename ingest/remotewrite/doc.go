// Package remotewrite sends Ward's flushes to a cluster TSDB (VictoriaMetrics, Mimir,
// Thanos receive, Prometheus) with the Prometheus remote-write protocol v1: a protobuf
// WriteRequest, snappy-compressed, POSTed with the protocol's headers.
//
// Every flush is encoded once and appended to a durable queue before anything is sent,
// so an outage of the remote, or a restart of Ward during one, loses nothing while the
// queue stays within its bound in bytes. Past the bound the oldest requests are dropped
// and counted: a long outage keeps the most recent data. A sender goroutine (Run) sends
// the oldest request, deletes it once the remote accepted it, and backs off
// exponentially on network errors, 5xx and 429. Any other 4xx means the remote will
// never accept that request: it is dropped and counted instead of blocking the queue.
package remotewrite
