// Package memcache serves memcached's text protocol over TCP and UDP and
// maps it onto Ward's counters and gauges, so that any memcache client
// can feed Ward.
//
// # Commands
//
//	incr <key> <delta> [noreply]   counter += delta; replies the new total ("k:delta|c")
//	decr <key> <delta> [noreply]   counter -= delta; replies the new total ("k:-delta|c")
//	set <key> <flags> <exptime> <bytes> [noreply]\r\n<number>\r\n   the gauge key = number: STORED
//	add ...                        as set, but NOT_STORED if key is known
//	replace ...                    as set, but NOT_STORED if key is unknown
//	get <key>*                     VALUE <key> 0 <len>\r\n<number>\r\n per known key, then END
//	gets <key>*                    as get, with a cas unique of 0
//	stats                          STAT lines (Ward's counters in memcached's names) then END
//	stats settings|items|slabs|sizes|conns   STAT lines or an empty list, then END
//	version                        VERSION ward-<version>
//	verbosity <n> [noreply]        OK (nothing to change)
//	quit                           closes the TCP connection (ends the request over UDP)
//
// Numbers are decimal (an optional '-' for set, digits, an optional
// fraction and exponent); replies print integral values without a decimal
// point and other values in the shortest form that parses back exactly.
// Unknown commands answer ERROR and malformed ones CLIENT_ERROR <reason>.
// Lines end in "\r\n" or "\n"; a data block must end in "\r\n".
// noreply silences every reply of the command that carries it, errors
// included, as memcached does: a client that asked for silence is not
// reading.
//
// # Deviations from memcached
//
//   - incr and decr on a missing key create it from 0; memcached answers
//     NOT_FOUND. decr may go below zero (memcached stops at 0), and deltas
//     may be fractional, because they mean exactly statsd "k:n|c" and
//     "k:-n|c". A negative delta is refused, as in memcached.
//   - Values must be numbers: set/add/replace store gauges, and a data
//     block that is not a number answers CLIENT_ERROR. A leading '+' is
//     refused so that nobody mistakes set for statsd's "+n|g" delta.
//   - Flags and exptime are checked and ignored; get always answers flags
//     0. Nothing ever expires.
//   - Ward never deletes data over memcache: delete, flush_all, touch, gat
//     and gats answer "CLIENT_ERROR not supported: ..." and change
//     nothing. append, prepend and cas are refused the same way (their
//     data block is consumed), and so is "stats reset".
//   - Keys are 1 to 250 bytes without spaces or control characters (bytes
//     0x00-0x20 and 0x7f); memcached checks only the length.
//   - When a storage command's <bytes> field is readable but another field
//     is bad, the data block is skipped along with the line, so it is not
//     taken for a command.
//   - Meta commands (mg, ms, ...) are unknown commands.
//   - stats reports incr_hits/decr_hits for every incr/decr and
//     delete_misses for every delete, since keys are created and never
//     deleted; Ward-only counters are prefixed ward_.
//
// # Limits
//
// A command line longer than Options.MaxLine is answered "CLIENT_ERROR
// line too long" and the TCP connection closed, since the line's end
// cannot be found (memcached closes too). A data block longer than
// Options.MaxValue is answered "SERVER_ERROR object too large for cache"
// and discarded as it arrives. Beyond Options.MaxConns, connections get
// "ERROR Too many open connections" and are closed. Each refusal is
// counted in ward_memcache_errors_total{reason}.
//
// # UDP
//
// Every datagram starts with memcached's 8-byte frame header: request
// id, sequence number, total datagrams, reserved (16 bits each,
// big-endian). Requests must fit in one datagram (sequence 0, total 1);
// others get "SERVER_ERROR multi-packet request not supported", and
// datagrams of 8 bytes or fewer are dropped. All commands in a datagram
// run, and their replies form one message, split into datagrams of at
// most 1400 reply bytes, each headed by the request id, its sequence
// number and the total.
//
// # Self-metrics
//
// ward_memcache_commands_total{cmd}, ward_memcache_errors_total{reason},
// ward_memcache_connections (open), ward_memcache_connections_total,
// ward_memcache_connections_rejected_total,
// ward_memcache_get_keys_total{result="hit"|"miss"},
// ward_memcache_not_stored_total, ward_memcache_read_bytes_total,
// ward_memcache_written_bytes_total and
// ward_memcache_udp_datagrams_total{direction="in"|"out"}.
package memcache
