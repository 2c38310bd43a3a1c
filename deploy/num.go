package deploy

import (
	"math"
	"strconv"
)

// Num is a float64 that survives JSON: NaN (missing) is null and infinities are the
// strings "+Inf" and "-Inf", as Prometheus spells them. A rate ratio against a baseline
// with no errors is +Inf, and a metric without data has no value at all.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte("null"), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "null":
		*n = Num(math.NaN())
		return nil
	case `"+Inf"`, `"Inf"`:
		*n = Num(math.Inf(1))
		return nil
	case `"-Inf"`:
		*n = Num(math.Inf(-1))
		return nil
	default:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*n = Num(f)
		return nil
	}
}

var nan = Num(math.NaN())
