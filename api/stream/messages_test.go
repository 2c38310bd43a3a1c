package stream

import (
	"math"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"subscribe","expr":"up"}`, `{"op":"unsubscribe","expr":"rate(x[1m])"}`,
		`{"op":"checks"}`, `{"op":"subscribe","expr":""}`, `{"op":"x"}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err != nil {
			return
		}
		switch r.Op {
		case "subscribe", "unsubscribe":
			if r.Expr == "" || len(r.Expr) > maxExprLen {
				t.Fatalf("accepted %q", b)
			}
		case "checks":
		default:
			t.Fatalf("accepted op %q", r.Op)
		}
	})
}

func TestJSONFloatSpecials(t *testing.T) {
	for in, want := range map[float64]string{math.Inf(1): `"+Inf"`, math.Inf(-1): `"-Inf"`} {
		b, _ := jsonFloat(in).MarshalJSON()
		if string(b) != want {
			t.Errorf("%v: got %s, want %s", in, b, want)
		}
	}
	if b, _ := jsonFloat(math.NaN()).MarshalJSON(); string(b) != `"NaN"` {
		t.Errorf("NaN: got %s", b)
	}
}
