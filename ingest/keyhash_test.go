package ingest

import (
	"encoding/binary"
	"testing"
)

// TestKeyHasherWordsMatchBytes checks the word-by-word recipe a parser
// follows (full words, then the masked tail) against Bytes, for every
// length up to three words, and that the hash depends on every byte.
func TestKeyHasherWordsMatchBytes(t *testing.T) {
	k := KeyHasher{s1: 0x0123456789abcdef, s2: 0xfedcba9876543210}
	buf := []byte("shop.revenue.checkout.eu-west:499|c|#a:b")
	for n := 0; n <= 24; n++ {
		b := buf[:n]
		h := k.Start()
		i := 0
		for ; i+8 <= n; i += 8 {
			h = k.Word(h, binary.LittleEndian.Uint64(buf[i:]))
		}
		if j := n - i; j > 0 {
			// A parser reads the whole word past the name and masks it.
			h = k.Word(h, binary.LittleEndian.Uint64(buf[i:])&(1<<(8*j)-1))
		}
		if got, want := k.Finish(h, n), k.Bytes(b); got != want {
			t.Fatalf("len %d: word recipe %x, Bytes %x", n, got, want)
		}
		if n == 0 {
			continue
		}
		c := append([]byte(nil), b...)
		c[n-1] ^= 1
		if k.Bytes(c) == k.Bytes(b) {
			t.Errorf("len %d: flipping the last byte kept the hash", n)
		}
	}
	if k.Bytes([]byte("a")) == k.Bytes([]byte("a\x00")) {
		t.Error("a trailing zero byte did not change the hash")
	}
}
