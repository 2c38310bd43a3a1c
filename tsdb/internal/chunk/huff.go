package chunk

import (
	"encoding/binary"
	"math/bits"
)

// Residuals (unsigned integers) are coded as a class and extra bits, like
// deflate's distance codes: class k = bits.Len64(u), so class 0 is the value
// 0 and class k >= 1 covers [2^(k-1), 2^k) with k-1 extra bits below the
// implicit leading one. Classes get a canonical Huffman code built per
// chunk, so a chunk whose deltas are mostly zero pays about one bit for a
// zero, and one whose deltas are spread pays close to their entropy.

const (
	numClasses  = 65
	maxCodeLen  = 10 // bounds the decode table to 1024 entries
	classBits   = 7  // bits to write a class number
	codeLenBits = 4  // bits to write a code length (0 = class absent)
)

func class(u uint64) int { return bits.Len64(u) }

func extraBits(k int) uint {
	if k <= 1 {
		return 0
	}
	return uint(k - 1)
}

// huffLengths computes code lengths (<= maxCodeLen) for the class
// histogram hist, returning them, the largest used class and the number of
// classes used. Absent classes get 0. It allocates nothing: a two-queue
// Huffman construction over at most 65 leaves.
func huffLengths(hist *[numClasses]int, lens *[numClasses]uint8) (maxClass int, used int) {
	*lens = [numClasses]uint8{}
	maxClass = -1
	var sym [numClasses]int
	for k, c := range hist {
		if c > 0 {
			sym[used] = k
			used++
			maxClass = k
		}
	}
	if used <= 1 {
		return maxClass, used
	}
	var w [2 * numClasses]int
	var parent [2 * numClasses]int
	var depth [2 * numClasses]uint8
	scale := 0
	for {
		// Leaves sorted by weight (insertion sort: n <= 65).
		n := used
		for i := 0; i < n; i++ {
			w[i] = max(hist[sym[i]]>>scale, 1)
		}
		for i := 1; i < n; i++ {
			for j := i; j > 0 && w[j] < w[j-1]; j-- {
				w[j], w[j-1] = w[j-1], w[j]
				sym[j], sym[j-1] = sym[j-1], sym[j]
			}
		}
		// Internal nodes n..2n-2 are created in non-decreasing weight.
		leaf, node := 0, n
		pick := func(next int) int {
			if leaf < n && (node >= next || w[leaf] <= w[node]) {
				leaf++
				return leaf - 1
			}
			node++
			return node - 1
		}
		for next := n; next < 2*n-1; next++ {
			a := pick(next)
			b := pick(next)
			w[next] = w[a] + w[b]
			parent[a], parent[b] = next, next
		}
		depth[2*n-2] = 0
		over := false
		for k := 2*n - 3; k >= 0; k-- {
			depth[k] = depth[parent[k]] + 1
		}
		for i := 0; i < n; i++ {
			if depth[i] > maxCodeLen {
				over = true
			}
			lens[sym[i]] = depth[i]
		}
		if !over {
			return maxClass, used
		}
		scale++ // flatten the distribution and retry
	}
}

// canonicalCodes assigns canonical codes from lengths.
func canonicalCodes(lens *[numClasses]uint8, codes *[numClasses]uint16) {
	var count [maxCodeLen + 1]int
	for _, l := range lens {
		if l > 0 {
			count[l]++
		}
	}
	var next [maxCodeLen + 2]int
	code := 0
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for k, l := range lens {
		if l > 0 {
			codes[k] = uint16(next[l])
			next[l]++
		}
	}
}

// codeCost returns the bits to code hist with lens, header included.
func codeCost(hist *[numClasses]int, lens *[numClasses]uint8, maxClass, used int) int {
	if used == 0 {
		return 1
	}
	if used == 1 {
		return 1 + classBits + hist[maxClass]*int(extraBits(maxClass))
	}
	c := 1 + classBits + (maxClass+1)*codeLenBits
	for k := 0; k <= maxClass; k++ {
		c += hist[k] * (int(lens[k]) + int(extraBits(k)))
	}
	return c
}

// tableEntry is one decode-table slot, packed so that decoding needs no
// branch on the class: bits 0-3 the code length, bits 4-9 the number of
// extra bits, bit 10 set when the value is non-zero (its leading one).
type tableEntry uint16

func makeEntry(class, codeLen int) tableEntry {
	e := tableEntry(codeLen) | tableEntry(extraBits(class))<<4
	if class > 0 {
		e |= 1 << 10
	}
	return e
}

// huffTable is a decode table and the code lengths it was built from;
// consecutive chunks often share their code, and then the table is reused.
type huffTable struct {
	entries  []tableEntry // 1 << L entries: small codes build small tables
	lens     [numClasses]uint8
	maxClass int
	L        uint
	// multi is the multi-symbol table of the same code (see multiEntry),
	// built lazily by the first chunk long enough to repay it; multiOK
	// says whether it matches entries.
	multi   []uint64
	multiOK bool
}

// A multi-symbol table entry decodes, from the next L bits, every whole
// residual (code and extra bits) that fits in them, up to four: bits 0-2
// the count, bits 3-7 the bits they take, then the residuals, 12 bits each
// from bit 8 (a residual that fits in L <= 10 bits is below 1<<10).
// Counters and slow gauges are mostly one- to four-bit residuals, so one
// lookup, whose latency bounds the decode loop, yields several samples.
// When even the first residual does not fit, the entry describes it
// alone, in a form the same branch-free step decodes: count 1, its code
// length as the bits taken, bit 57 its leading one and bits 58-63 its
// extra bits, read from the input after the code.
const (
	multiMax       = 4
	multiValBits   = 12
	multiValShift  = 8
	multiLeadBit   = 57
	multiExtraBit  = 58
	multiMinFactor = 2 // build the table only for chunks of >= factor << L residuals
)

// readResiduals decodes len(out) residuals written by writeResiduals.
func readResiduals(r *bitReader, out []uint64, t *huffTable) bool {
	if r.readBits(1) == 1 {
		k := int(r.readBits(classBits))
		if k >= numClasses {
			return false
		}
		eb := extraBits(k)
		lead := uint64(0)
		if k >= 1 {
			lead = 1 << (k - 1)
		}
		if eb == 0 {
			// Every residual is lead (a constant column: positions of a
			// dense chunk, counts, last-sample offsets): no bits to read.
			for i := range out {
				out[i] = lead
			}
			return !r.overrun
		}
		// The bits are read with the inlined take while the accumulator
		// holds enough; readBits handles refills past the end and overrun.
		for i := range out {
			if r.nacc < eb {
				r.refill()
				if r.nacc < eb {
					out[i] = lead | r.readBits(eb)
					continue
				}
			}
			out[i] = lead | r.take(eb)
		}
		return !r.overrun
	}
	maxClass := int(r.readBits(classBits))
	if maxClass >= numClasses {
		return false
	}
	var lens [numClasses]uint8
	maxLen := uint8(0)
	var kraft uint32
	for k := 0; k <= maxClass; k++ {
		l := uint8(r.readBits(codeLenBits))
		if l > maxCodeLen {
			return false
		}
		lens[k] = l
		if l > 0 {
			kraft += 1 << (maxCodeLen - l)
		}
		maxLen = max(maxLen, l)
	}
	// A valid code is complete: the Kraft sum is exactly one.
	if r.overrun || maxLen == 0 || kraft != 1<<maxCodeLen {
		return false
	}
	if t.entries == nil || t.maxClass != maxClass || t.lens != lens {
		t.build(&lens, maxClass, uint(maxLen))
	}
	if len(out) >= multiMinFactor<<t.L {
		if !t.multiOK {
			t.buildMulti()
		}
		return decodeMulti(r, out, t.multi, t.entries, t.L)
	}
	return decodeClasses(r, out, t.entries, t.L)
}

func (t *huffTable) build(lens *[numClasses]uint8, maxClass int, L uint) {
	var codes [numClasses]uint16
	canonicalCodes(lens, &codes)
	if cap(t.entries) < 1<<L {
		t.entries = make([]tableEntry, 1<<maxCodeLen)
	}
	t.entries = t.entries[:1<<L]
	for k := 0; k <= maxClass; k++ {
		l := uint(lens[k])
		if l == 0 {
			continue
		}
		lo := int(codes[k]) << (L - l)
		hi := lo + 1<<(L-l)
		e := makeEntry(k, int(l))
		for i := lo; i < hi; i++ {
			t.entries[i] = e
		}
	}
	t.lens, t.maxClass, t.L = *lens, maxClass, L
	t.multiOK = false
}

// buildMulti derives the multi-symbol table from entries. Looking up the
// window shifted left by the bits already used, zero-filled, finds the
// right code whenever that code fits in what is left of the window: codes
// are prefix-free, so the code that prefixes the zero-filled window and
// is no longer than its real bits prefixes the real input too.
func (t *huffTable) buildMulti() {
	L := t.L
	size := 1 << L
	if cap(t.multi) < size {
		t.multi = make([]uint64, 1<<maxCodeLen)
	}
	t.multi = t.multi[:size]
	mask := uint(size - 1)
	for idx := range size {
		var e uint64
		p, cnt := uint(0), 0
		for cnt < multiMax {
			se := t.entries[(uint(idx)<<p)&mask]
			l, eb := uint(se&15), uint(se>>4&63)
			if p+l+eb > L {
				break
			}
			u := uint64(se>>10&1)<<eb | uint64(uint(idx)>>(L-p-l-eb))&(1<<eb-1)
			e |= u << (multiValShift + multiValBits*cnt)
			p += l + eb
			cnt++
		}
		if cnt == 0 {
			se := t.entries[idx]
			l, eb := uint64(se&15), uint64(se>>4&63)
			e = 1 | l<<3 | uint64(se>>10&1)<<multiLeadBit | eb<<multiExtraBit
		} else {
			e |= uint64(cnt) | uint64(p)<<3
		}
		t.multi[idx] = e
	}
	t.multiOK = true
}

// decodeMulti is decodeClasses with the multi-symbol table: while four
// outputs remain, one lookup stores four residuals unconditionally and
// advances by the count it decoded, with no branch on the data but the
// rare residual too long for the accumulator. The tail, and the end of
// the input, go to decodeClasses.
func decodeMulti(r *bitReader, out []uint64, multi []uint64, table []tableEntry, L uint) bool {
	acc, nacc, pos := r.acc, r.nacc, r.pos
	src := r.src
	if nacc == 64 {
		// The branchless refill needs nacc < 64: give back the last byte.
		acc &^= 0xff
		nacc -= 8
		pos--
	}
	shift := (64 - L) & 63
	const vm = 1<<multiValBits - 1
	i := 0
	for i+multiMax <= len(out) {
		if pos+8 > len(src) {
			break // near the end: decodeClasses refills byte by byte
		}
		// Branchless refill, as in decodeClasses: nacc >= 56 after it.
		acc |= binary.BigEndian.Uint64(src[pos:]) >> (nacc & 63)
		pos += int((63 - nacc) >> 3)
		nacc |= 56
		e := multi[acc>>shift]
		tot, extra := uint(e>>3)&31, uint(e>>multiExtraBit)
		if tot+extra > nacc {
			// A residual of more than ~46 bits: one step of decodeClasses.
			r.acc, r.nacc, r.pos = acc, nacc, pos
			if !decodeClasses(r, out[i:i+1], table, L) {
				return false
			}
			acc, nacc, pos = r.acc, r.nacc, r.pos
			i++
			continue
		}
		x := acc << tot
		o := out[i : i+multiMax : i+multiMax]
		// For a residual alone, its extra bits are the top ones of x:
		// (x>>1)>>(63-extra) is x>>(64-extra), and 0 for extra == 0.
		o[0] = e>>multiValShift&vm | (e>>multiLeadBit&1)<<extra | (x>>1)>>((63-extra)&63)
		o[1] = e >> (multiValShift + multiValBits) & vm
		o[2] = e >> (multiValShift + 2*multiValBits) & vm
		o[3] = e >> (multiValShift + 3*multiValBits) & vm
		acc = x << extra
		nacc -= tot + extra
		i += int(e & 7)
	}
	r.acc, r.nacc, r.pos = acc, nacc, pos
	return decodeClasses(r, out[i:], table, L)
}

// decodeClasses is the hot loop of reading: it keeps the bit reader's
// state in locals, refills eight bytes at a time, and decodes a value with
// one table lookup and no data-dependent branch.
func decodeClasses(r *bitReader, out []uint64, table []tableEntry, L uint) bool {
	acc, nacc, pos := r.acc, r.nacc, r.pos
	src := r.src
	if nacc == 64 {
		// The branchless refill needs nacc < 64: give back the last byte.
		acc &^= 0xff
		nacc -= 8
		pos--
	}
	shift := 64 - L
	for i := range out {
		if pos+8 <= len(src) {
			// Branchless refill: OR in the next eight bytes at the
			// accumulator's fill level and count the whole bytes that
			// fit. The bits of acc past the nacc counted ones are zero or
			// the input's own next bits (a previous refill's partial
			// byte), so OR-ing them in again is harmless; a data-dependent
			// "refill now?" branch mispredicts every few residuals.
			acc |= binary.BigEndian.Uint64(src[pos:]) >> (nacc & 63)
			pos += int((63 - nacc) >> 3)
			nacc |= 56
		} else {
			for nacc <= 56 && pos < len(src) {
				acc |= uint64(src[pos]) << (56 - nacc)
				nacc += 8
				pos++
			}
		}
		e := table[acc>>shift]
		l, eb := uint(e&15), uint(e>>4&63)
		if l+eb > nacc {
			// Rare: a huge residual, or the end of the input.
			if l > nacc {
				return false
			}
			acc <<= l
			nacc -= l
			r.acc, r.nacc, r.pos = acc, nacc, pos
			out[i] = uint64(e>>10&1)<<eb | r.readBits(eb)
			if r.overrun {
				return false
			}
			acc, nacc, pos = r.acc, r.nacc, r.pos
			continue
		}
		acc <<= l
		// A shift by 64 (eb == 0) yields 0 in Go, so no branch is needed.
		out[i] = uint64(e>>10&1)<<eb | acc>>(64-eb)
		acc <<= eb
		nacc -= l + eb
	}
	r.acc, r.nacc, r.pos = acc, nacc, pos
	return true
}
