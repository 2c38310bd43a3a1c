// Package statsd parses statsd and DogStatsD lines (ParseLine, pure and
// allocation-free) and serves them to an ingest.Aggregator over UDP, TCP
// and unix sockets (Server) and HTTP request bodies (HandleBody).
//
// The syntax accepted and its meaning are described in ../README.md.
package statsd
