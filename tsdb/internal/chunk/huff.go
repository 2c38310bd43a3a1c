package chunk

import (
	"encoding/binary"
	"math/bits"
	"sort"
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
// histogram hist, returning them and the largest used class. Absent
// classes get 0.
func huffLengths(hist *[numClasses]int, lens *[numClasses]uint8) (maxClass int, used int) {
	type node struct {
		w    int
		sym  int // >= 0 for leaves
		l, r int // children indexes for internal nodes
	}
	*lens = [numClasses]uint8{}
	maxClass = -1
	for k, c := range hist {
		if c > 0 {
			used++
			maxClass = k
		}
	}
	if used <= 1 {
		return maxClass, used
	}
	w := *hist
	for {
		nodes := make([]node, 0, 2*used)
		var queue []int
		for k, c := range w {
			if hist[k] > 0 {
				nodes = append(nodes, node{w: max(c, 1), sym: k, l: -1, r: -1})
				queue = append(queue, len(nodes)-1)
			}
		}
		// A simple O(n^2) Huffman: n is at most 65.
		for len(queue) > 1 {
			sort.Slice(queue, func(i, j int) bool {
				a, b := nodes[queue[i]], nodes[queue[j]]
				if a.w != b.w {
					return a.w < b.w
				}
				return queue[i] < queue[j]
			})
			a, b := queue[0], queue[1]
			nodes = append(nodes, node{w: nodes[a].w + nodes[b].w, sym: -1, l: a, r: b})
			queue = append(queue[2:], len(nodes)-1)
		}
		var walk func(i int, depth uint8)
		over := false
		walk = func(i int, depth uint8) {
			n := nodes[i]
			if n.sym >= 0 {
				if depth > maxCodeLen {
					over = true
				}
				lens[n.sym] = depth
				return
			}
			walk(n.l, depth+1)
			walk(n.r, depth+1)
		}
		walk(queue[0], 0)
		if !over {
			return maxClass, used
		}
		// Flatten the distribution and retry; converges quickly.
		for k := range w {
			if w[k] > 0 {
				w[k] = (w[k] + 1) / 2
			}
		}
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

// writeResiduals codes us with the class code (hist must be their class
// histogram).
func writeResiduals(w *bitWriter, us []uint64, hist *[numClasses]int) {
	var lens [numClasses]uint8
	maxClass, used := huffLengths(hist, &lens)
	if used <= 1 {
		w.writeBits(1, 1) // single class
		k := max(maxClass, 0)
		w.writeBits(uint64(k), classBits)
		if eb := extraBits(k); eb > 0 {
			for _, u := range us {
				w.writeBits(u, eb) // the leading one is implicit
			}
		}
		return
	}
	var codes [numClasses]uint16
	canonicalCodes(&lens, &codes)
	w.writeBits(0, 1)
	w.writeBits(uint64(maxClass), classBits)
	for k := 0; k <= maxClass; k++ {
		w.writeBits(uint64(lens[k]), codeLenBits)
	}
	for _, u := range us {
		k := class(u)
		w.writeBits(uint64(codes[k]), uint(lens[k]))
		if eb := extraBits(k); eb > 0 {
			w.writeBits(u, eb)
		}
	}
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
}

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
		for i := range out {
			out[i] = lead | r.readBits(eb)
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
}

// decodeClasses is the hot loop of reading: it keeps the bit reader's
// state in locals, refills eight bytes at a time, and decodes a value with
// one table lookup and no data-dependent branch.
func decodeClasses(r *bitReader, out []uint64, table []tableEntry, L uint) bool {
	acc, nacc, pos := r.acc, r.nacc, r.pos
	src := r.src
	shift := 64 - L
	for i := range out {
		if nacc < 56 {
			if pos+8 <= len(src) {
				v := binary.BigEndian.Uint64(src[pos:])
				take := (64 - nacc) >> 3
				acc |= (v >> (64 - take*8)) << (64 - nacc - take*8)
				nacc += take * 8
				pos += int(take)
			} else {
				for nacc <= 56 && pos < len(src) {
					acc |= uint64(src[pos]) << (56 - nacc)
					nacc += 8
					pos++
				}
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
