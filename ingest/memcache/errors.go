package memcache

import "errors"

// ErrServerStarted is returned by Run when the server has already run.
var ErrServerStarted = errors.New("memcache: server already started")

// reason indexes the error counters: ward_memcache_errors_total{reason=...}.
type reason uint8

const (
	reasonUnknownCommand reason = iota
	reasonBadCommandLine
	reasonBadKey
	reasonBadDelta
	reasonNotANumber
	reasonBadDataChunk
	reasonValueTooLarge
	reasonLineTooLong
	reasonUnterminatedLine
	reasonUnsupported
	reasonTooManyConnections
	reasonUDPShort
	reasonUDPMultiPacket
	reasonUDPResponseTooLarge
	numReasons
)

// reasonNames are the values of the reason label.
var reasonNames = [numReasons]string{
	reasonUnknownCommand:      "unknown_command",
	reasonBadCommandLine:      "bad_command_line",
	reasonBadKey:              "bad_key",
	reasonBadDelta:            "bad_delta",
	reasonNotANumber:          "not_a_number",
	reasonBadDataChunk:        "bad_data_chunk",
	reasonValueTooLarge:       "value_too_large",
	reasonLineTooLong:         "line_too_long",
	reasonUnterminatedLine:    "unterminated_line",
	reasonUnsupported:         "unsupported",
	reasonTooManyConnections:  "too_many_connections",
	reasonUDPShort:            "udp_short_datagram",
	reasonUDPMultiPacket:      "udp_multi_packet",
	reasonUDPResponseTooLarge: "udp_response_too_large",
}

// protoError is a protocol-level refusal: the line the client gets back
// (without "\r\n") and the reason it is counted under. The values are
// fixed sentinels, so refusing a command allocates nothing.
type protoError struct {
	reply  string
	reason reason
}

func (e *protoError) Error() string { return "memcache: " + e.reply }

// The replies follow memcached's wording where memcached has one, so
// client libraries classify them as they would against memcached.
var (
	errUnknownCommand  = &protoError{"ERROR", reasonUnknownCommand}
	errBadFormat       = &protoError{"CLIENT_ERROR bad command line format", reasonBadCommandLine}
	errBadKey          = &protoError{"CLIENT_ERROR bad key: 1 to 250 bytes without spaces or control characters", reasonBadKey}
	errBadDelta        = &protoError{"CLIENT_ERROR invalid numeric delta argument", reasonBadDelta}
	errNotANumber      = &protoError{"CLIENT_ERROR value is not a number: Ward stores decimal numbers", reasonNotANumber}
	errBadDataChunk    = &protoError{"CLIENT_ERROR bad data chunk", reasonBadDataChunk}
	errValueTooLarge   = &protoError{"SERVER_ERROR object too large for cache", reasonValueTooLarge}
	errLineTooLong     = &protoError{"CLIENT_ERROR line too long", reasonLineTooLong}
	errUnterminated    = &protoError{"CLIENT_ERROR line not terminated by \\r\\n", reasonUnterminatedLine}
	errTooManyConns    = &protoError{"ERROR Too many open connections", reasonTooManyConnections}
	errMultiPacket     = &protoError{"SERVER_ERROR multi-packet request not supported", reasonUDPMultiPacket}
	errUDPResponseSize = &protoError{"SERVER_ERROR response too large for UDP", reasonUDPResponseTooLarge}

	errUnsupportedDelete = &protoError{"CLIENT_ERROR not supported: Ward never deletes data over memcache", reasonUnsupported}
	errUnsupportedTouch  = &protoError{"CLIENT_ERROR not supported: Ward data never expires", reasonUnsupported}
	errUnsupportedAppend = &protoError{"CLIENT_ERROR not supported: values are numbers; use incr, decr or set", reasonUnsupported}
	errUnsupportedCas    = &protoError{"CLIENT_ERROR not supported: cas; use incr, decr or set", reasonUnsupported}
	errUnsupportedReset  = &protoError{"CLIENT_ERROR not supported: Ward's counters are cumulative and never reset", reasonUnsupported}
)
