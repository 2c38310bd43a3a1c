package tsdb

import (
	"bytes"
	"fmt"
	"math"
	"testing"
)

func TestKVAndMetadataPersist(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, testOptions())
	a, b := db.KV("alerts"), db.KV("alertsX") // one namespace prefixes the other's name
	if err := a.Put([]byte("k1"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := a.PutBatch([]KVPair{{Key: []byte("k2"), Value: []byte("v2")}, {Key: []byte("k3"), Value: nil}, {Key: []byte("k1"), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Put([]byte("k1"), []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMetadata(Metadata{Name: "cpu", Type: "gauge", Help: "CPU use", Unit: "ratio"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, testOptions())
	defer db.Close()
	a = db.KV("alerts")
	if _, ok, err := a.Get([]byte("k1")); ok || err != nil {
		t.Fatalf("deleted k1: ok=%v err=%v", ok, err)
	}
	v, ok, err := a.Get([]byte("k3"))
	if !ok || err != nil || len(v) != 0 {
		t.Fatalf("k3 (empty value) = %q %v %v", v, ok, err)
	}
	var got []string
	err = a.Scan([]byte("k"), func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[k2=v2 k3=]" {
		t.Fatalf("Scan = %v, %v", got, err)
	}
	v, _, _ = db.KV("alertsX").Get([]byte("k1"))
	if !bytes.Equal(v, []byte("other")) {
		t.Fatalf("namespace alertsX k1 = %q", v)
	}
	md := db.Metadata()
	if len(md) != 1 || md[0] != (Metadata{Name: "cpu", Type: "gauge", Help: "CPU use", Unit: "ratio"}) {
		t.Fatalf("Metadata() = %+v", md)
	}
}

func TestLastValues(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, testOptions())
	a, b := lbls("__name__", "c", "s", "a"), lbls("__name__", "c", "s", "b")
	// a stops after 1h; b runs for 5h, so a's last value ends up sealed on disk.
	for i := 0; i < 5*360; i++ {
		ts := t0 + int64(i)*10_000
		batch := []Sample{{b, ts, float64(i)}}
		if i < 360 {
			batch = append(batch, Sample{a, ts, float64(2 * i)})
		}
		if err := db.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return db.Stats().Sealed >= t0+4*3600_000 })
	check := func() {
		t.Helper()
		got, err := db.LastValues(eqMatcher("__name__", "c"))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint([]Sample{{a, t0 + 359*10_000, 718}, {b, t0 + (5*360-1)*10_000, 5*360 - 1}})
		if fmt.Sprint(got) != want {
			t.Fatalf("LastValues = %v, want %v", got, want)
		}
	}
	check()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, testOptions())
	defer db.Close()
	check()
	if got, _ := db.LastValues(eqMatcher("__name__", "none")); len(got) != 0 {
		t.Fatalf("LastValues of nothing = %v", got)
	}
	_ = math.Inf
}
