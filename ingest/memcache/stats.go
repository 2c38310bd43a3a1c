package memcache

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// serverMetrics are the server's self-metrics. They are also the source
// of the "stats" command, so the two never disagree.
type serverMetrics struct {
	commands [numOps]*metrics.Counter     // ward_memcache_commands_total{cmd}
	errors   [numReasons]*metrics.Counter // ward_memcache_errors_total{reason}

	connsTotal    *metrics.Counter // ward_memcache_connections_total
	connsRejected *metrics.Counter // ward_memcache_connections_rejected_total
	connsOpen     *metrics.Gauge   // ward_memcache_connections

	getHits   *metrics.Counter // ward_memcache_get_keys_total{result="hit"}
	getMisses *metrics.Counter // ward_memcache_get_keys_total{result="miss"}
	notStored *metrics.Counter // ward_memcache_not_stored_total

	bytesRead    *metrics.Counter // ward_memcache_read_bytes_total
	bytesWritten *metrics.Counter // ward_memcache_written_bytes_total

	udpIn  *metrics.Counter // ward_memcache_udp_datagrams_total{direction="in"}
	udpOut *metrics.Counter // ward_memcache_udp_datagrams_total{direction="out"}
}

// newServerMetrics registers the metrics in ms. GetOrCreate lets the
// daemon build a Server again on the same set (as after a failed start)
// without a duplicate-registration panic; servers sharing a set share
// their counters.
func newServerMetrics(ms *metrics.Set) *serverMetrics {
	m := &serverMetrics{
		connsTotal:    ms.GetOrCreateCounter("ward_memcache_connections_total"),
		connsRejected: ms.GetOrCreateCounter("ward_memcache_connections_rejected_total"),
		connsOpen:     ms.GetOrCreateGauge("ward_memcache_connections", nil),
		getHits:       ms.GetOrCreateCounter(`ward_memcache_get_keys_total{result="hit"}`),
		getMisses:     ms.GetOrCreateCounter(`ward_memcache_get_keys_total{result="miss"}`),
		notStored:     ms.GetOrCreateCounter("ward_memcache_not_stored_total"),
		bytesRead:     ms.GetOrCreateCounter("ward_memcache_read_bytes_total"),
		bytesWritten:  ms.GetOrCreateCounter("ward_memcache_written_bytes_total"),
		udpIn:         ms.GetOrCreateCounter(`ward_memcache_udp_datagrams_total{direction="in"}`),
		udpOut:        ms.GetOrCreateCounter(`ward_memcache_udp_datagrams_total{direction="out"}`),
	}
	for op := range numOps {
		m.commands[op] = ms.GetOrCreateCounter(`ward_memcache_commands_total{cmd="` + opNames[op] + `"}`)
	}
	for r := range numReasons {
		m.errors[r] = ms.GetOrCreateCounter(`ward_memcache_errors_total{reason="` + reasonNames[r] + `"}`)
	}
	return m
}

// appendStats appends the reply to a bare "stats": memcached's names for
// what Ward has an equivalent of, then Ward's error counters, then the
// caller's extra lines, then END.
func (s *Server) appendStats(dst []byte) []byte {
	m := s.m
	now := time.Now()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	count := func(ops ...opcode) string {
		var n uint64
		for _, op := range ops {
			n += m.commands[op].Get()
		}
		return u(n)
	}
	stat := func(name, value string) {
		dst = append(dst, "STAT "...)
		dst = append(dst, name...)
		dst = append(dst, ' ')
		dst = append(dst, value...)
		dst = append(dst, "\r\n"...)
	}
	stat("pid", strconv.Itoa(os.Getpid()))
	stat("uptime", strconv.FormatInt(int64(now.Sub(s.start)/time.Second), 10))
	stat("time", strconv.FormatInt(now.Unix(), 10))
	stat("version", "ward-"+s.opts.Version)
	stat("curr_connections", strconv.FormatInt(int64(m.connsOpen.Get()), 10))
	stat("total_connections", u(m.connsTotal.Get()))
	stat("rejected_connections", u(m.connsRejected.Get()))
	stat("cmd_get", u(m.getHits.Get()+m.getMisses.Get()))
	stat("cmd_set", count(opSet, opAdd, opReplace, opAppend, opPrepend, opCas))
	stat("cmd_flush", count(opFlushAll))
	stat("cmd_touch", count(opTouch, opGat, opGats))
	stat("get_hits", u(m.getHits.Get()))
	stat("get_misses", u(m.getMisses.Get()))
	// Ward creates missing keys on incr/decr, so every one is a hit.
	stat("incr_hits", count(opIncr))
	stat("incr_misses", "0")
	stat("decr_hits", count(opDecr))
	stat("decr_misses", "0")
	stat("delete_misses", count(opDelete))
	stat("delete_hits", "0")
	stat("bytes_read", u(m.bytesRead.Get()))
	stat("bytes_written", u(m.bytesWritten.Get()))
	stat("threads", strconv.Itoa(s.opts.UDPReaders))
	stat("ward_not_stored", u(m.notStored.Get()))
	stat("ward_udp_datagrams_in", u(m.udpIn.Get()))
	stat("ward_udp_datagrams_out", u(m.udpOut.Get()))
	for r := range numReasons {
		stat("ward_errors_"+reasonNames[r], u(m.errors[r].Get()))
	}
	if s.extra != nil {
		extra := s.extra()
		names := make([]string, 0, len(extra))
		for k, v := range extra {
			// A name or value that would break the line framing is
			// left out rather than sent.
			if k == "" || strings.ContainsAny(k, " \r\n") || strings.ContainsAny(v, "\r\n") {
				continue
			}
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			stat(k, extra[k])
		}
	}
	return append(dst, "END\r\n"...)
}

// appendStatsSub appends the reply to "stats <sub>". Monitoring tools ask
// for these; Ward has no slabs or items, so those are empty as on a fresh
// memcached.
func (s *Server) appendStatsSub(dst []byte, sub []byte) []byte {
	switch string(sub) {
	case "settings":
		line := func(name, value string) {
			dst = append(dst, "STAT "+name+" "+value+"\r\n"...)
		}
		line("maxconns", strconv.Itoa(s.opts.MaxConns))
		line("tcpport", strconv.Itoa(s.tcpAddr.Port))
		line("udpport", strconv.Itoa(s.udpAddr.Port))
		line("item_size_max", strconv.Itoa(s.opts.MaxValue))
		line("ward_max_line", strconv.Itoa(s.opts.MaxLine))
		line("idle_timeout", strconv.FormatInt(int64(s.opts.IdleTimeout/time.Second), 10))
		line("num_threads", strconv.Itoa(s.opts.UDPReaders))
		line("evictions", "off")
		line("cas_enabled", "no")
		return append(dst, "END\r\n"...)
	case "items", "slabs", "sizes", "conns":
		return append(dst, "END\r\n"...)
	case "reset":
		return s.appendError(dst, errUnsupportedReset)
	}
	return s.appendError(dst, errUnknownCommand)
}

// appendError counts e and appends its reply.
func (s *Server) appendError(dst []byte, e *protoError) []byte {
	s.m.errors[e.reason].Inc()
	dst = append(dst, e.reply...)
	return append(dst, "\r\n"...)
}
