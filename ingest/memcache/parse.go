package memcache

import (
	"bytes"
	"math"
)

// opcode identifies a memcached text-protocol command.
type opcode uint8

const (
	opUnknown opcode = iota
	opGet
	opGets
	opSet
	opAdd
	opReplace
	opAppend
	opPrepend
	opCas
	opIncr
	opDecr
	opDelete
	opTouch
	opGat
	opGats
	opFlushAll
	opStats
	opVersion
	opVerbosity
	opQuit
	numOps
)

// opNames are the command names as they appear on the wire and in the
// cmd label of ward_memcache_commands_total.
var opNames = [numOps]string{
	opUnknown:   "unknown",
	opGet:       "get",
	opGets:      "gets",
	opSet:       "set",
	opAdd:       "add",
	opReplace:   "replace",
	opAppend:    "append",
	opPrepend:   "prepend",
	opCas:       "cas",
	opIncr:      "incr",
	opDecr:      "decr",
	opDelete:    "delete",
	opTouch:     "touch",
	opGat:       "gat",
	opGats:      "gats",
	opFlushAll:  "flush_all",
	opStats:     "stats",
	opVersion:   "version",
	opVerbosity: "verbosity",
	opQuit:      "quit",
}

const (
	// maxKeyLen is memcached's KEY_MAX_LENGTH; clients enforce it too.
	maxKeyLen = 250
	// maxTokens bounds the tokens of fixed-arity commands: cas, the
	// longest, has 7 (name key flags exptime bytes cas-unique noreply).
	// One more slot lets the tokenizer report "too many".
	maxTokens = 8
	// maxDataLen is memcached's bound on the <bytes> field (INT_MAX - 2).
	maxDataLen = math.MaxInt32 - 2
)

// limits are the size bounds the parser enforces.
type limits struct {
	maxLine  int // bytes of a command line, without its "\r\n"
	maxValue int // bytes of a storage command's data block
}

// command is one parsed request. Byte slices alias the input buffer and
// are valid only until the caller reuses it.
type command struct {
	op      opcode
	key     []byte  // single-key commands
	keys    []byte  // get/gets: the space-separated keys, validated
	sub     []byte  // stats: the sub-command, if any
	num     float64 // incr/decr: the delta; set/add/replace: the value
	noreply bool
	// err, when non-nil, is the reply the command earns instead of its
	// normal one (still subject to noreply).
	err *protoError
	// fatal means the input stream cannot be resynchronised after this
	// command (a line too long to find its end): the caller replies and
	// stops reading from this stream.
	fatal bool
	// swallow is how many bytes beyond the consumed ones still belong to
	// this command's (refused) data block and must be discarded.
	swallow int
}

// parseCommand parses the command at the start of b.
//
// It returns the command and how many bytes of b it consumed. n == 0 with
// cmd.err == nil means b holds no complete command yet; more input is
// needed. When final is set, b is all the input there will be (a UDP
// datagram), so an incomplete command is an error instead. parseCommand
// never allocates and never panics, whatever b holds.
func parseCommand(b []byte, lim limits, final bool) (cmd command, n int) {
	// The line ends at '\n'; a '\r' before it is optional, as in memcached.
	window := b
	if len(window) > lim.maxLine+2 {
		window = window[:lim.maxLine+2]
	}
	i := bytes.IndexByte(window, '\n')
	if i < 0 {
		switch {
		case len(window) >= lim.maxLine+2:
			cmd.err, cmd.fatal = errLineTooLong, true
			return cmd, len(b)
		case final:
			cmd.err, cmd.fatal = errUnterminated, true
			return cmd, len(b)
		}
		return cmd, 0
	}
	n = i + 1
	line := b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) > lim.maxLine {
		cmd.err, cmd.fatal = errLineTooLong, true
		return cmd, len(b)
	}

	name, rest := nextToken(line)
	cmd.op = lookupOp(name)
	switch cmd.op {
	case opGet, opGets:
		parseRetrieval(&cmd, rest)
		return cmd, n
	case opGat, opGats:
		cmd.err = errUnsupportedTouch
		return cmd, n
	case opUnknown:
		cmd.err = errUnknownCommand
		return cmd, n
	}

	var tok [maxTokens][]byte
	nt := tokenize(rest, &tok)
	// noreply applies to the commands that take it, even when they are
	// refused: a client that asked for silence is not reading replies.
	lastNoreply := nt > 0 && string(tok[nt-1]) == "noreply"
	switch cmd.op {
	case opSet, opAdd, opReplace, opAppend, opPrepend, opCas, opIncr, opDecr,
		opDelete, opFlushAll, opTouch, opVerbosity:
		cmd.noreply = lastNoreply
	}
	switch cmd.op {
	case opSet, opAdd, opReplace, opAppend, opPrepend, opCas:
		return parseStorage(cmd, tok[:nt], b, n, lim, final)
	case opIncr, opDecr:
		parseArithmetic(&cmd, tok[:nt])
	case opDelete, opFlushAll:
		cmd.err = errUnsupportedDelete
	case opTouch:
		cmd.err = errUnsupportedTouch
	case opStats:
		switch nt {
		case 0:
		case 1:
			cmd.sub = tok[0]
		default:
			cmd.err = errUnknownCommand
		}
	case opVersion, opQuit:
		if nt != 0 {
			cmd.err = errUnknownCommand
		}
	case opVerbosity:
		if nt < 1 || nt > 2 || (nt == 2 && !cmd.noreply) {
			cmd.err = errUnknownCommand
		}
	}
	return cmd, n
}

// lookupOp maps a command name to its opcode. Names are case-sensitive,
// as in memcached.
func lookupOp(name []byte) opcode {
	// A switch on string(name) compiles to comparisons without allocating.
	switch string(name) {
	case "get":
		return opGet
	case "gets":
		return opGets
	case "set":
		return opSet
	case "add":
		return opAdd
	case "replace":
		return opReplace
	case "append":
		return opAppend
	case "prepend":
		return opPrepend
	case "cas":
		return opCas
	case "incr":
		return opIncr
	case "decr":
		return opDecr
	case "delete":
		return opDelete
	case "touch":
		return opTouch
	case "gat":
		return opGat
	case "gats":
		return opGats
	case "flush_all":
		return opFlushAll
	case "stats":
		return opStats
	case "version":
		return opVersion
	case "verbosity":
		return opVerbosity
	case "quit":
		return opQuit
	}
	return opUnknown
}

// parseRetrieval validates the keys of get/gets. memcached answers a get
// without keys with ERROR.
func parseRetrieval(cmd *command, rest []byte) {
	cmd.keys = rest
	nkeys := 0
	for k, r := nextToken(rest); len(k) > 0; k, r = nextToken(r) {
		if !validKey(k) {
			cmd.err = errBadKey
			return
		}
		nkeys++
	}
	if nkeys == 0 {
		cmd.err = errUnknownCommand
	}
}

// parseArithmetic parses "incr|decr <key> <delta> [noreply]".
func parseArithmetic(cmd *command, tok [][]byte) {
	if len(tok) < 2 || len(tok) > 3 || (len(tok) == 3 && !cmd.noreply) {
		cmd.err = errBadFormat
		return
	}
	if !validKey(tok[0]) {
		cmd.err = errBadKey
		return
	}
	cmd.key = tok[0]
	d, ok := parseNumber(tok[1], false)
	if !ok {
		cmd.err = errBadDelta
		return
	}
	cmd.num = d
}

// parseStorage parses "<cmd> <key> <flags> <exptime> <bytes> [noreply]"
// (cas has a <cas unique> before noreply) and the data block after it.
// line is the number of bytes of the command line in b.
func parseStorage(cmd command, tok [][]byte, b []byte, line int, lim limits, final bool) (command, int) {
	want := 4
	if cmd.op == opCas {
		want = 5
	}
	if cmd.noreply {
		want++
	}
	// <bytes> is read first: once it is known the data block can be
	// skipped whatever else is wrong, which keeps the stream in sync
	// (memcached leaves it to be parsed as commands).
	dataLen := -1
	if len(tok) >= 4 {
		if v, ok := parseUint(tok[3], maxDataLen); ok {
			dataLen = int(v)
		}
	}
	if dataLen < 0 {
		cmd.err = errBadFormat
		return cmd, line
	}
	total := line + dataLen + 2
	if dataLen > lim.maxValue {
		// memcached's reply; the block is discarded as it arrives.
		cmd.err = errValueTooLarge
		n := min(total, len(b))
		if !final {
			cmd.swallow = total - n
		}
		return cmd, n
	}
	if len(b) < total {
		if !final {
			return command{}, 0
		}
		cmd.err = errBadDataChunk
		return cmd, len(b)
	}
	data := b[line : line+dataLen]
	if b[line+dataLen] != '\r' || b[line+dataLen+1] != '\n' {
		cmd.err = errBadDataChunk
		return cmd, total
	}
	switch {
	case len(tok) != want:
		cmd.err = errBadFormat
	case !validKey(tok[0]):
		cmd.err = errBadKey
	case !validFlags(tok[1]) || !validExptime(tok[2]):
		cmd.err = errBadFormat
	case cmd.op == opCas:
		if _, ok := parseUint(tok[4], math.MaxUint64); !ok {
			cmd.err = errBadFormat
		} else {
			cmd.err = errUnsupportedCas
		}
	case cmd.op == opAppend || cmd.op == opPrepend:
		cmd.err = errUnsupportedAppend
	default:
		cmd.key = tok[0]
		v, ok := parseNumber(data, true)
		if !ok {
			cmd.err = errNotANumber
			break
		}
		cmd.num = v
	}
	return cmd, total
}

// nextToken returns the first space-separated token of b and the rest.
// Only ' ' separates tokens, and runs of spaces count as one, as in
// memcached's tokenizer.
func nextToken(b []byte) (tok, rest []byte) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

// tokenize splits b into dst. It returns the number of tokens, or
// len(dst) when there are at least that many (always more than any
// command accepts, so callers reject it).
func tokenize(b []byte, dst *[maxTokens][]byte) int {
	n := 0
	for {
		tok, rest := nextToken(b)
		if len(tok) == 0 {
			return n
		}
		if n == len(dst) {
			return n
		}
		dst[n] = tok
		n++
		b = rest
	}
}

// validKey reports whether k is a memcached key Ward accepts: 1 to 250
// bytes, no spaces or control characters.
func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > maxKeyLen {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// validFlags reports whether b is a 32-bit unsigned integer. Ward ignores
// the flags but checks them as memcached does.
func validFlags(b []byte) bool {
	_, ok := parseUint(b, math.MaxUint32)
	return ok
}

// validExptime reports whether b is a 32-bit signed integer. Ward ignores
// expiry times: nothing it stores ever expires.
func validExptime(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		_, ok := parseUint(b[1:], -math.MinInt32)
		return ok
	}
	_, ok := parseUint(b, math.MaxInt32)
	return ok
}
