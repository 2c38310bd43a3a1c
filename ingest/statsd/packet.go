package statsd

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/wardmetrics/ward/ingest"
)

// SWAR constants: a byte-wise search 8 bytes at a time.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// hasByte marks with its high bit each byte of w equal to c. Bytes above a
// match may be marked falsely (a borrow), never bytes below, so the lowest
// mark is exact.
func hasByte(w, c uint64) uint64 {
	x := w ^ (c * swarLo)
	return (x - swarLo) &^ x & swarHi
}

// indexNameEnd returns the index of the first ':' or '|' in b (and '\n'
// when nl is set), or len(b).
func indexNameEnd(b []byte, nl bool) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		m := hasByte(w, ':') | hasByte(w, '|')
		if nl {
			m |= hasByte(w, '\n')
		}
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == ':' || c == '|' || (nl && c == '\n') {
			return i
		}
	}
	return len(b)
}

// indexNameEndHash is indexNameEnd(b, true) that also hashes b[:i] with kh
// in the same pass, the way kh.Bytes does (the word holding the end is
// masked to the name's bytes). It returns 0 as the hash (not computed)
// when b ends without ':', '|' or '\n'.
func indexNameEndHash(b []byte, kh ingest.KeyHasher) (int, uint64) {
	h := kh.Start()
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		// hasByte for the three bytes, masked once.
		x1, x2, x3 := w^(':'*swarLo), w^('|'*swarLo), w^('\n'*swarLo)
		m := ((x1-swarLo)&^x1 | (x2-swarLo)&^x2 | (x3-swarLo)&^x3) & swarHi
		if m != 0 {
			j := bits.TrailingZeros64(m) >> 3
			if j > 0 {
				h = kh.Word(h, w&(1<<(8*j)-1))
			}
			return i + j, kh.Finish(h, i+j)
		}
		h = kh.Word(h, w)
	}
	// The last 1-7 bytes, one at a time, gathered into the tail word.
	var w uint64
	for k := 0; i < len(b); i, k = i+1, k+1 {
		c := b[i]
		if c == ':' || c == '|' || c == '\n' {
			if k > 0 {
				h = kh.Word(h, w)
			}
			return i, kh.Finish(h, i)
		}
		w |= uint64(c) << (8 * k)
	}
	return len(b), 0
}

// nextLine parses the first line of p (up to '\n' or the end) and returns
// the line's length without its '\n', the line (with a trailing '\r'
// dropped; empty for a blank line) and the verdict. A line of the form
// "name:number|c" or "name:number|g" without fields is parsed into sm,
// and simple is set (for AddSimple); any other line into l, with
// ParseLine's result. The common shapes are parsed in the same pass that
// finds the line's end, and their name is hashed with kh in the pass that
// finds its end (NameHash).
func nextLine(p []byte, l *Line, sm *ingest.Simple, opt ParseOptions, kh ingest.KeyHasher) (n int, line []byte, r ingest.Reason, simple bool) {
	if i, nh := indexNameEndHash(p, kh); i > 0 && i < len(p) && p[i] == ':' && p[0] != '_' {
		b := p[i+1:]
		// A plain unsigned integer is read here; parseDecimalFrom goes on
		// from its digits otherwise.
		var v float64
		var signed, ok bool
		u, vn := parseDigits(b)
		if vn > 0 && vn <= 15 && vn < len(b) && b[vn] == '|' {
			v, ok = float64(u), true
		} else {
			v, signed, vn, ok = parseDecimalFrom(b, u, vn)
		}
		if ok && vn+1 < len(b) && b[vn] == '|' {
			t := b[vn+1:]
			kind, tn := ingest.KindUnknown, 1
			switch t[0] {
			case 'c':
				kind = ingest.KindCounter
			case 'g':
				kind = ingest.KindGauge
			case 'h', 'd':
				kind = ingest.KindHistogram
			case 'm':
				if len(t) > 1 && t[1] == 's' {
					kind, tn = ingest.KindHistogram, 2
				}
			}
			if kind != ingest.KindUnknown && (tn == len(t) || t[tn] == '\n' || t[tn] == '|') {
				delta := kind == ingest.KindGauge && signed && !opt.DogStatsDGauges
				end := i + 1 + vn + 1 + tn // index of the byte after the type
				last := end == len(p) || p[end] == '\n'
				if last && kind != ingest.KindHistogram {
					sm.Name, sm.NameHash, sm.Value, sm.Kind, sm.Delta = p[:i], nh, v, kind, delta
					return end, p[:end], ingest.OK, true
				}
				l.reset()
				l.Name, l.Kind, l.NameHash = p[:i], kind, nh
				l.Values = append(l.Values, v)
				l.Delta = delta
				if last {
					// A timer or histogram: its update is not cheap enough
					// for AddSimple's passes to pay off.
					return end, p[:end], ingest.OK, false
				}
				// Fields follow: p[end] is '|', so the line goes on
				// past end even without a trailing '\r'.
				n := end + 1 + lineLen(p[end+1:])
				line := trimCR(p[:n])
				return n, line, parseFields(line[end+1:], l), false
			}
		}
	}
	n = lineLen(p)
	line = trimCR(p[:n])
	if len(line) == 0 {
		return n, line, ingest.OK, false
	}
	return n, line, ParseLine(line, l, opt), false
}

func lineLen(p []byte) int {
	if n := bytes.IndexByte(p, '\n'); n >= 0 {
		return n
	}
	return len(p)
}

func trimCR(b []byte) []byte {
	if k := len(b); k > 0 && b[k-1] == '\r' {
		return b[:k-1]
	}
	return b
}
