package memcache

import "strconv"

// maxInterned bounds a session's key cache. A client cycling through more
// distinct keys than this just pays one allocation per new key.
const maxInterned = 4096

// session is the state one reader (a TCP connection or a UDP reader
// goroutine) reuses across commands, so that steady-state commands do not
// allocate.
type session struct {
	s   *Server
	out []byte // replies not yet written
	// keys interns key strings: Counters takes a string, and converting
	// the key bytes for every command would allocate.
	keys map[string]string
	quit bool // the client sent quit
}

func newSession(s *Server) *session {
	return &session{s: s, keys: make(map[string]string)}
}

// intern returns k as a string, allocating only for keys not seen lately.
func (ss *session) intern(k []byte) string {
	if v, ok := ss.keys[string(k)]; ok {
		return v
	}
	if len(ss.keys) >= maxInterned {
		clear(ss.keys)
	}
	v := string(k)
	ss.keys[v] = v
	return v
}

// exec runs cmd and appends its reply to ss.out.
func (ss *session) exec(cmd *command) {
	s := ss.s
	m := s.m
	m.commands[cmd.op].Inc()
	if cmd.err != nil {
		m.errors[cmd.err.reason].Inc()
		if !cmd.noreply {
			ss.out = append(ss.out, cmd.err.reply...)
			ss.out = append(ss.out, "\r\n"...)
		}
		return
	}
	switch cmd.op {
	case opIncr, opDecr:
		d := cmd.num
		if cmd.op == opDecr {
			d = -d
		}
		v := s.counters.Incr(ss.intern(cmd.key), d)
		if !cmd.noreply {
			ss.out = appendNumber(ss.out, v)
			ss.out = append(ss.out, "\r\n"...)
		}
	case opSet, opAdd, opReplace:
		ss.store(cmd)
	case opGet, opGets:
		ss.get(cmd)
	case opStats:
		if cmd.sub == nil {
			ss.out = s.appendStats(ss.out)
		} else {
			ss.out = s.appendStatsSub(ss.out, cmd.sub)
		}
	case opVersion:
		ss.out = append(ss.out, "VERSION ward-"...)
		ss.out = append(ss.out, s.opts.Version...)
		ss.out = append(ss.out, "\r\n"...)
	case opVerbosity:
		if !cmd.noreply {
			ss.out = append(ss.out, "OK\r\n"...)
		}
	case opQuit:
		ss.quit = true
	}
}

// store runs set, add and replace: the value becomes a gauge. add and
// replace check for the key first, as memcached does; the check and the
// store are not atomic against other clients.
func (ss *session) store(cmd *command) {
	s := ss.s
	key := ss.intern(cmd.key)
	if cmd.op != opSet {
		_, exists := s.counters.Get(key)
		if exists != (cmd.op == opReplace) {
			s.m.notStored.Inc()
			if !cmd.noreply {
				ss.out = append(ss.out, "NOT_STORED\r\n"...)
			}
			return
		}
	}
	s.counters.SetGauge(key, cmd.num)
	if !cmd.noreply {
		ss.out = append(ss.out, "STORED\r\n"...)
	}
}

// get answers get and gets. gets adds a cas unique of 0: Ward has no cas,
// but clients parse the field.
func (ss *session) get(cmd *command) {
	s := ss.s
	for k, rest := nextToken(cmd.keys); len(k) > 0; k, rest = nextToken(rest) {
		v, ok := s.counters.Get(ss.intern(k))
		if !ok {
			s.m.getMisses.Inc()
			continue
		}
		s.m.getHits.Inc()
		var buf [64]byte
		num := appendNumber(buf[:0], v)
		ss.out = append(ss.out, "VALUE "...)
		ss.out = append(ss.out, k...)
		ss.out = append(ss.out, " 0 "...)
		ss.out = strconv.AppendInt(ss.out, int64(len(num)), 10)
		if cmd.op == opGets {
			ss.out = append(ss.out, " 0"...)
		}
		ss.out = append(ss.out, "\r\n"...)
		ss.out = append(ss.out, num...)
		ss.out = append(ss.out, "\r\n"...)
	}
	ss.out = append(ss.out, "END\r\n"...)
}
