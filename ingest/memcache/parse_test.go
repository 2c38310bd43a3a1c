package memcache

import (
	"math"
	"strings"
	"testing"
)

var testLimits = limits{maxLine: 512, maxValue: 64}

func TestParseCommand(t *testing.T) {
	type want struct {
		op      opcode
		n       int // bytes consumed; 0 means "needs more"
		key     string
		keys    string
		sub     string
		num     float64
		noreply bool
		err     *protoError
		fatal   bool
		swallow int
	}
	tests := []struct {
		name  string
		in    string
		final bool
		want  want
	}{
		{"incr", "incr a.b 5\r\n", false, want{op: opIncr, n: 12, key: "a.b", num: 5}},
		{"incr bare newline", "incr a 5\n", false, want{op: opIncr, n: 9, key: "a", num: 5}},
		{"incr extra spaces", "incr  a   5 \r\n", false, want{op: opIncr, n: 14, key: "a", num: 5}},
		{"incr float", "incr a 1.25\r\n", false, want{op: opIncr, n: 13, key: "a", num: 1.25}},
		{"incr exponent", "incr a 1e3\r\n", false, want{op: opIncr, n: 12, key: "a", num: 1000}},
		{"incr noreply", "incr a 5 noreply\r\n", false, want{op: opIncr, n: 18, key: "a", num: 5, noreply: true}},
		{"incr then more", "incr a 5\r\nget a\r\n", false, want{op: opIncr, n: 10, key: "a", num: 5}},
		{"decr", "decr a 2\r\n", false, want{op: opDecr, n: 10, key: "a", num: 2}},
		{"incr negative", "incr a -5\r\n", false, want{op: opIncr, n: 11, err: errBadDelta}},
		{"incr plus", "incr a +5\r\n", false, want{op: opIncr, n: 11, err: errBadDelta}},
		{"incr nan", "incr a NaN\r\n", false, want{op: opIncr, n: 12, err: errBadDelta}},
		{"incr inf", "incr a 1e400\r\n", false, want{op: opIncr, n: 14, err: errBadDelta}},
		{"incr hex", "incr a 0x10\r\n", false, want{op: opIncr, n: 13, err: errBadDelta}},
		{"incr bad delta noreply", "incr a x noreply\r\n", false, want{op: opIncr, n: 18, err: errBadDelta, noreply: true}},
		{"incr missing delta", "incr a\r\n", false, want{op: opIncr, n: 8, err: errBadFormat}},
		{"incr extra token", "incr a 1 2\r\n", false, want{op: opIncr, n: 12, err: errBadFormat}},
		{"incr control char key", "incr a\x01b 1\r\n", false, want{op: opIncr, n: 12, err: errBadKey}},
		{"incr long key", "incr " + strings.Repeat("k", 251) + " 1\r\n", false, want{op: opIncr, n: 260, err: errBadKey}},
		{"incr 250-byte key", "incr " + strings.Repeat("k", 250) + " 1\r\n", false, want{op: opIncr, n: 259, key: strings.Repeat("k", 250), num: 1}},
		{"partial line", "incr a 5", false, want{}},
		{"partial line final", "incr a 5", true, want{n: 8, err: errUnterminated, fatal: true}},
		{"empty line", "\r\n", false, want{op: opUnknown, n: 2, err: errUnknownCommand}},
		{"unknown", "shutdown\r\n", false, want{op: opUnknown, n: 10, err: errUnknownCommand}},
		{"case sensitive", "GET a\r\n", false, want{op: opUnknown, n: 7, err: errUnknownCommand}},
		{"meta", "mg a v\r\n", false, want{op: opUnknown, n: 8, err: errUnknownCommand}},

		{"set", "set g 0 0 2\r\n17\r\n", false, want{op: opSet, n: 17, key: "g", num: 17}},
		{"set negative float", "set g 5 -1 4\r\n-1.5\r\n", false, want{op: opSet, n: 20, key: "g", num: -1.5}},
		{"set noreply", "set g 0 0 1 noreply\r\n7\r\n", false, want{op: opSet, n: 24, key: "g", num: 7, noreply: true}},
		{"add", "add g 0 0 1\r\n7\r\n", false, want{op: opAdd, n: 16, key: "g", num: 7}},
		{"replace", "replace g 0 0 1\r\n7\r\n", false, want{op: opReplace, n: 20, key: "g", num: 7}},
		{"set partial data", "set g 0 0 2\r\n1", false, want{}},
		{"set partial terminator", "set g 0 0 2\r\n17\r", false, want{}},
		{"set partial data final", "set g 0 0 2\r\n1", true, want{op: opSet, n: 14, err: errBadDataChunk}},
		{"set bad terminator", "set g 0 0 2\r\n17xx", false, want{op: opSet, n: 17, err: errBadDataChunk}},
		{"set data longer than bytes", "set g 0 0 1\r\n17\r\n", false, want{op: opSet, n: 16, err: errBadDataChunk}},
		{"set not a number", "set g 0 0 3\r\nabc\r\n", false, want{op: opSet, n: 18, err: errNotANumber}},
		{"set plus", "set g 0 0 2\r\n+3\r\n", false, want{op: opSet, n: 17, err: errNotANumber}},
		{"set empty data", "set g 0 0 0\r\n\r\n", false, want{op: opSet, n: 15, err: errNotANumber}},
		{"set bad flags", "set g x 0 2\r\n17\r\n", false, want{op: opSet, n: 17, err: errBadFormat}},
		{"set flags overflow", "set g 4294967296 0 2\r\n17\r\n", false, want{op: opSet, n: 26, err: errBadFormat}},
		{"set bad exptime", "set g 0 -2147483649 2\r\n17\r\n", false, want{op: opSet, n: 27, err: errBadFormat}},
		{"set bad key keeps sync", "set g\x7f 0 0 2\r\n17\r\n", false, want{op: opSet, n: 18, err: errBadKey}},
		{"set bad bytes", "set g 0 0 x\r\n17\r\n", false, want{op: opSet, n: 13, err: errBadFormat}},
		{"set negative bytes", "set g 0 0 -1\r\n", false, want{op: opSet, n: 14, err: errBadFormat}},
		{"set too few tokens", "set g 0 0\r\n", false, want{op: opSet, n: 11, err: errBadFormat}},
		{"set extra token", "set g 0 0 1 x\r\n1\r\n", false, want{op: opSet, n: 18, err: errBadFormat}},
		{"set too large", "set g 0 0 100\r\n" + strings.Repeat("1", 30), false, want{op: opSet, n: 45, err: errValueTooLarge, swallow: 72}},
		{"set too large whole", "set g 0 0 65\r\n" + strings.Repeat("1", 65) + "\r\nver", false, want{op: opSet, n: 81, err: errValueTooLarge}},
		{"set too large final", "set g 0 0 100\r\n12", true, want{op: opSet, n: 17, err: errValueTooLarge}},
		{"set too large noreply", "set g 0 0 100 noreply\r\n", false, want{op: opSet, n: 23, err: errValueTooLarge, noreply: true, swallow: 102}},
		{"append", "append g 0 0 1\r\n1\r\n", false, want{op: opAppend, n: 19, err: errUnsupportedAppend}},
		{"prepend noreply", "prepend g 0 0 1 noreply\r\n1\r\n", false, want{op: opPrepend, n: 28, err: errUnsupportedAppend, noreply: true}},
		{"cas", "cas g 0 0 1 99\r\n1\r\n", false, want{op: opCas, n: 19, err: errUnsupportedCas}},
		{"cas bad unique", "cas g 0 0 1 x\r\n1\r\n", false, want{op: opCas, n: 18, err: errBadFormat}},
		{"cas missing unique", "cas g 0 0 1\r\n1\r\n", false, want{op: opCas, n: 16, err: errBadFormat}},

		{"get", "get a\r\n", false, want{op: opGet, n: 7, keys: "a"}},
		{"get many", "get a b  c\r\n", false, want{op: opGet, n: 12, keys: "a b  c"}},
		{"gets", "gets a\r\n", false, want{op: opGets, n: 8, keys: "a"}},
		{"get no key", "get\r\n", false, want{op: opGet, n: 5, err: errUnknownCommand}},
		{"get spaces only", "get   \r\n", false, want{op: opGet, n: 8, keys: "  ", err: errUnknownCommand}},
		{"get bad key", "get a b\x00\r\n", false, want{op: opGet, n: 10, keys: "a b\x00", err: errBadKey}},

		{"delete", "delete a\r\n", false, want{op: opDelete, n: 10, err: errUnsupportedDelete}},
		{"delete noreply", "delete a noreply\r\n", false, want{op: opDelete, n: 18, err: errUnsupportedDelete, noreply: true}},
		{"flush_all", "flush_all\r\n", false, want{op: opFlushAll, n: 11, err: errUnsupportedDelete}},
		{"flush_all noreply", "flush_all 0 noreply\r\n", false, want{op: opFlushAll, n: 21, err: errUnsupportedDelete, noreply: true}},
		{"touch", "touch a 10\r\n", false, want{op: opTouch, n: 12, err: errUnsupportedTouch}},
		{"gat", "gat 10 a\r\n", false, want{op: opGat, n: 10, err: errUnsupportedTouch}},
		{"gats", "gats 10 a\r\n", false, want{op: opGats, n: 11, err: errUnsupportedTouch}},

		{"stats", "stats\r\n", false, want{op: opStats, n: 7}},
		{"stats settings", "stats settings\r\n", false, want{op: opStats, n: 16, sub: "settings"}},
		{"stats two args", "stats detail on\r\n", false, want{op: opStats, n: 17, err: errUnknownCommand}},
		{"version", "version\r\n", false, want{op: opVersion, n: 9}},
		{"version args", "version noreply\r\n", false, want{op: opVersion, n: 17, err: errUnknownCommand}},
		{"verbosity", "verbosity 1\r\n", false, want{op: opVerbosity, n: 13}},
		{"verbosity noreply", "verbosity 1 noreply\r\n", false, want{op: opVerbosity, n: 21, noreply: true}},
		{"verbosity none", "verbosity\r\n", false, want{op: opVerbosity, n: 11, err: errUnknownCommand}},
		{"quit", "quit\r\n", false, want{op: opQuit, n: 6}},
		{"quit args", "quit now\r\n", false, want{op: opQuit, n: 10, err: errUnknownCommand}},

		{"line at limit", "get " + strings.Repeat("k ", 254) + "\r\n", false, want{op: opGet, n: 514, keys: strings.Repeat("k ", 254)}},
		{"line too long", "get " + strings.Repeat("k ", 255) + "\r\n", false, want{n: 516, err: errLineTooLong, fatal: true}},
		{"line too long no newline", strings.Repeat("x", 600), false, want{n: 600, err: errLineTooLong, fatal: true}},
		{"line too long bare newline", strings.Repeat("x", 513) + "\n", false, want{n: 514, err: errLineTooLong, fatal: true}},
		{"long line partial", strings.Repeat("x", 513), false, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, n := parseCommand([]byte(tt.in), testLimits, tt.final)
			w := tt.want
			if n != w.n || cmd.err != w.err || cmd.fatal != w.fatal || cmd.swallow != w.swallow || cmd.noreply != w.noreply {
				t.Fatalf("parseCommand(%q) = n %d err %v fatal %v swallow %d noreply %v; want n %d err %v fatal %v swallow %d noreply %v",
					tt.in, n, cmd.err, cmd.fatal, cmd.swallow, cmd.noreply, w.n, w.err, w.fatal, w.swallow, w.noreply)
			}
			if n == 0 {
				return
			}
			if cmd.op != w.op {
				t.Errorf("op = %s, want %s", opNames[cmd.op], opNames[w.op])
			}
			if cmd.err != nil {
				return
			}
			if string(cmd.key) != w.key || string(cmd.keys) != w.keys || string(cmd.sub) != w.sub || cmd.num != w.num {
				t.Errorf("parseCommand(%q) = key %q keys %q sub %q num %v; want key %q keys %q sub %q num %v",
					tt.in, cmd.key, cmd.keys, cmd.sub, cmd.num, w.key, w.keys, w.sub, w.num)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in     string
		signed bool
		want   float64
		ok     bool
	}{
		{"0", false, 0, true},
		{"499", false, 499, true},
		{"999999999999999", false, 999999999999999, true},
		{"18446744073709551615", false, 18446744073709551615, true},
		{"1.5", false, 1.5, true},
		{".5", false, 0.5, true},
		{"5.", false, 5, true},
		{"2e-3", false, 0.002, true},
		{"2E+3", false, 2000, true},
		{"-3", true, -3, true},
		{"-0.25", true, -0.25, true},
		{"-3", false, 0, false},
		{"+3", true, 0, false},
		{"-", true, 0, false},
		{"", true, 0, false},
		{".", false, 0, false},
		{"1e", false, 0, false},
		{"1e+", false, 0, false},
		{"e5", false, 0, false},
		{"1.2.3", false, 0, false},
		{"1 ", false, 0, false},
		{" 1", false, 0, false},
		{"1_000", false, 0, false},
		{"0x10", false, 0, false},
		{"Inf", true, 0, false},
		{"NaN", true, 0, false},
		{"1e309", false, 0, false},
		{"-1e309", true, 0, false},
		{strings.Repeat("1", maxNumberLen+1), false, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseNumber([]byte(tt.in), tt.signed)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseNumber(%q, %v) = %v, %v; want %v, %v", tt.in, tt.signed, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAppendNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{499, "499"},
		{-7, "-7"},
		{1.5, "1.5"},
		{0.1, "0.1"},
		{1e20, "100000000000000000000"},
		{1e-7, "0.0000001"},
		{-1234567.25, "-1234567.25"},
		{1 << 62, "4611686018427387904"},
	}
	for _, tt := range tests {
		got := string(appendNumber(nil, tt.in))
		if got != tt.want {
			t.Errorf("appendNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
		back, ok := parseNumber([]byte(got), true)
		if !ok || back != tt.in {
			t.Errorf("parseNumber(appendNumber(%v)) = %v, %v; want it back", tt.in, back, ok)
		}
	}
}

func TestParseUDPHeader(t *testing.T) {
	h, payload, ok := parseUDPHeader(frame(0x0102, 3, 4, "get a\r\n"))
	if !ok || h != (udpHeader{requestID: 0x0102, seq: 3, total: 4}) || string(payload) != "get a\r\n" {
		t.Errorf("parseUDPHeader = %+v %q %v", h, payload, ok)
	}
	for _, n := range []int{0, 1, 7, 8} {
		if _, _, ok := parseUDPHeader(make([]byte, n)); ok {
			t.Errorf("parseUDPHeader of %d bytes: ok, want refused", n)
		}
	}
}
