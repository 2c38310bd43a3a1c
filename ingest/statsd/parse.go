package statsd

import (
	"bytes"

	"github.com/wardmetrics/ward/ingest"
)

// ParseOptions change how lines are read.
type ParseOptions struct {
	// DogStatsDGauges reads a signed gauge value ("-5", "+3") as the value
	// itself, as DogStatsD, gostatsd and Veneur do. By default a signed gauge
	// value is a delta of the current value, as in Etsy's statsd.
	DogStatsDGauges bool
}

// Ignored DogStatsD fields, counted per kind in Line.Ignored.
const (
	FieldContainer   = iota // |c:<container id> (DogStatsD 1.2)
	FieldExternal           // |e:<external data> (DogStatsD 1.5)
	FieldCardinality        // |card:<cardinality> (DogStatsD 1.6)
	FieldUnknown            // any other field: ignored, never a reason to drop the line
	FieldTimestamp          // |T on a type that has no timestamps (timers, sets)
	numFields
)

// fieldNames are the field label values of ward_ingest_ignored_fields_total.
var fieldNames = [numFields]string{"container", "external", "cardinality", "unknown", "timestamp"}

// Line is one parsed statsd line: the measurement handed to the aggregator
// plus what the parser noticed on the way.
type Line struct {
	ingest.Metric
	// Ignored counts the fields the line carried that Ward does not use.
	Ignored [numFields]uint8
	// More is the rest of a line chaining several measurements of one name in
	// Etsy's legacy form ("name:1|c:2|ms"); ParseMore parses it.
	More []byte
}

// ParseLine parses one statsd or DogStatsD line (without its newline) into
// l. It is pure and, once l.Values has grown to the line's value count,
// allocation-free: l's byte slices alias line. The accepted syntax:
//
//	name:value[:value...]|type[|@rate][|#tag,key:value][|T<unix seconds>][|c:...][|e:...][|card:...]
//	name:value|type:value|type...          (Etsy's legacy chaining; see Line.More)
//	_e{<title length>,<text length>}:title|text|...   (DogStatsD event)
//	_sc|name|status|...                    (DogStatsD service check)
//
// with type one of c (counter), g (gauge), ms (timer), h (histogram),
// d (distribution), s (set). Unknown fields are skipped and counted in
// l.Ignored.
func ParseLine(line []byte, l *Line, opt ParseOptions) ingest.Reason {
	l.reset()
	if len(line) == 0 {
		return ingest.ReasonMissingValue
	}
	if line[0] == '_' {
		if bytes.HasPrefix(line, []byte("_e{")) {
			l.Kind = ingest.KindEvent
			return parseEvent(line)
		}
		if bytes.HasPrefix(line, []byte("_sc|")) {
			l.Kind = ingest.KindServiceCheck
			return parseServiceCheck(line)
		}
	}
	// One pass finds the name's end; a '|' before any ':' means the value
	// is missing.
	colon := indexNameEnd(line, false)
	if colon == len(line) || line[colon] != ':' {
		return ingest.ReasonMissingValue
	}
	if colon == 0 {
		return ingest.ReasonEmptyName
	}
	l.Name = line[:colon]
	return parseBody(line[colon+1:], l, opt)
}

// reset clears l for the next line. Pointer fields are only written when
// set: each pointer store checks the write barrier, and these stores are
// per line.
func (l *Line) reset() {
	l.Values = l.Values[:0]
	if l.Tags != nil {
		l.Tags = nil
	}
	if l.Member != nil {
		l.Member = nil
	}
	if l.More != nil {
		l.More = nil
	}
	l.Kind, l.Rate, l.T, l.Delta, l.NameHash = ingest.KindUnknown, 1, 0, false, 0
	l.Ignored = [numFields]uint8{}
}

// ParseMore parses the next measurement of a chained legacy line into l,
// keeping l.Name. Call it while l.More is not empty.
func ParseMore(l *Line, opt ParseOptions) ingest.Reason {
	name, body := l.Name, l.More
	l.Metric = ingest.Metric{Name: name, NameHash: l.NameHash, Values: l.Values[:0], Rate: 1}
	l.More = nil
	return parseBody(body, l, opt)
}

// parseBody parses "value[:value]|type|fields..." after the name.
func parseBody(b []byte, l *Line, opt ParseOptions) ingest.Reason {
	// Fast path: a single number ending at the type's '|' is parsed in the
	// same pass that finds the '|'.
	fv, fsigned, fn, fok := parseDecimal(b)
	single := fok && fn < len(b) && b[fn] == '|'
	bar := fn
	if !single {
		bar = bytes.IndexByte(b, '|')
		if bar < 0 {
			return ingest.ReasonMissingType
		}
	}
	value := b[:bar]
	rest := b[bar+1:]
	// The common types are recognised without searching: "c", "g", "ms",
	// "h", "d", "s", followed by the end or '|'.
	n := 0
	switch {
	case len(rest) >= 2 && rest[0] == 'm' && rest[1] == 's':
		l.Kind, n = ingest.KindHistogram, 2
	case len(rest) >= 1:
		n = 1
		switch rest[0] {
		case 'c':
			l.Kind = ingest.KindCounter
		case 'g':
			l.Kind = ingest.KindGauge
		case 'h', 'd':
			l.Kind = ingest.KindHistogram
		case 's':
			l.Kind = ingest.KindSet
		default:
			return ingest.ReasonBadType
		}
	default:
		return ingest.ReasonBadType
	}
	switch {
	case len(rest) == n:
		rest = nil
	case rest[n] == '|':
		rest = rest[n+1:]
	case rest[n] == ':':
		// Etsy's legacy chaining: "1|c:2|ms", the type field carries the
		// next measurement.
		l.More = rest[n+1:]
		rest = nil
	default:
		return ingest.ReasonBadType
	}
	switch {
	case single && l.Kind == ingest.KindGauge:
		l.Values = append(l.Values, fv)
		l.Delta = fsigned && !opt.DogStatsDGauges
	case single && l.Kind != ingest.KindSet:
		l.Values = append(l.Values, fv)
	default:
		if r := parseValues(value, l, opt); r != ingest.OK {
			return r
		}
	}
	return parseFields(rest, l)
}

// parseFields reads the '|'-separated fields after the type.
func parseFields(rest []byte, l *Line) ingest.Reason {
	sawTags := false
	for len(rest) > 0 {
		var f []byte
		if i := bytes.IndexByte(rest, '|'); i >= 0 {
			f, rest = rest[:i], rest[i+1:]
		} else {
			f, rest = rest, nil
		}
		if len(f) == 0 {
			l.Ignored[FieldUnknown]++
			continue
		}
		switch f[0] {
		case '@':
			rate := f[1:]
			if i := bytes.IndexByte(rate, ':'); i >= 0 && len(l.More) == 0 {
				l.More = joinRest(rate[i+1:], rest)
				rate, rest = rate[:i], nil
			}
			r, _, n, ok := parseNumber(rate)
			if !ok || n != len(rate) || !(r > 0 && r <= 1) {
				return ingest.ReasonBadSampleRate
			}
			l.Rate = r
		case '#':
			if sawTags {
				return ingest.ReasonBadTags
			}
			sawTags = true
			l.Tags = f[1:]
		case 'T':
			t, ok := parseUnixSeconds(f[1:])
			if !ok {
				if len(f) > 1 && f[1] >= '0' && f[1] <= '9' {
					return ingest.ReasonBadTimestamp
				}
				l.Ignored[FieldUnknown]++
				continue
			}
			if l.Kind == ingest.KindCounter || l.Kind == ingest.KindGauge {
				l.T = t
			} else {
				l.Ignored[FieldTimestamp]++
			}
		case 'c':
			if bytes.HasPrefix(f, []byte("card:")) {
				l.Ignored[FieldCardinality]++
			} else if len(f) > 1 && f[1] == ':' {
				l.Ignored[FieldContainer]++
			} else {
				l.Ignored[FieldUnknown]++
			}
		case 'e':
			if len(f) > 1 && f[1] == ':' {
				l.Ignored[FieldExternal]++
			} else {
				l.Ignored[FieldUnknown]++
			}
		default:
			l.Ignored[FieldUnknown]++
		}
	}
	return ingest.OK
}

// joinRest rebuilds "a|b" from the two halves of a split, which are still
// adjacent in the original line.
func joinRest(a, rest []byte) []byte {
	if len(rest) == 0 {
		return a
	}
	return a[: len(a)+1+len(rest) : len(a)+1+len(rest)]
}

// parseValues reads the value field: a set member as a whole, or one or
// more numbers separated by ':'. Gauges fold their values into one: in Etsy
// mode unsigned values set and signed values add, so the result is either a
// delta or a new value.
func parseValues(value []byte, l *Line, opt ParseOptions) ingest.Reason {
	if len(value) == 0 {
		return ingest.ReasonBadValue
	}
	if l.Kind == ingest.KindSet {
		l.Member = value
		return ingest.OK
	}
	gauge := l.Kind == ingest.KindGauge
	var gv float64
	delta := true
	for {
		f, signed, n, ok := parseNumber(value)
		if !ok {
			return ingest.ReasonBadValue
		}
		if gauge {
			if signed && !opt.DogStatsDGauges {
				gv += f
			} else {
				gv, delta = f, false
			}
		} else {
			l.Values = append(l.Values, f)
		}
		if n == len(value) {
			break
		}
		if value[n] != ':' { // DogStatsD 1.1 packing separates values with ':'
			return ingest.ReasonBadValue
		}
		value = value[n+1:]
		if len(value) == 0 {
			return ingest.ReasonBadValue
		}
	}
	if gauge {
		l.Values = append(l.Values, gv)
		l.Delta = delta
	}
	return ingest.OK
}

// parseEvent checks a DogStatsD event: _e{<title len>,<text len>}:<title>|<text>[|...].
func parseEvent(line []byte) ingest.Reason {
	b := line[len("_e{"):]
	tl, b, ok := parseLen(b, ',')
	if !ok {
		return ingest.ReasonBadEvent
	}
	xl, b, ok := parseLen(b, '}')
	if !ok || len(b) == 0 || b[0] != ':' {
		return ingest.ReasonBadEvent
	}
	b = b[1:]
	if tl == 0 || tl+1+xl > len(b) || b[tl] != '|' {
		return ingest.ReasonBadEvent
	}
	return ingest.OK
}

func parseLen(b []byte, end byte) (int, []byte, bool) {
	n, i := 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
		if n > 1<<20 {
			return 0, nil, false
		}
	}
	if i == 0 || i >= len(b) || b[i] != end {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// parseServiceCheck checks a DogStatsD service check: _sc|<name>|<status 0-3>[|...].
func parseServiceCheck(line []byte) ingest.Reason {
	b := line[len("_sc|"):]
	name, rest, ok := bytes.Cut(b, []byte{'|'})
	if !ok || len(name) == 0 {
		return ingest.ReasonBadEvent
	}
	status, _, _ := bytes.Cut(rest, []byte{'|'})
	if len(status) != 1 || status[0] < '0' || status[0] > '3' {
		return ingest.ReasonBadEvent
	}
	return ingest.OK
}
