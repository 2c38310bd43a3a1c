package experiment

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// Float is a float64 whose undefined values (NaN, ±Inf: a mean of no users, the lift over
// a control of zero) encode as JSON null, which encoding/json cannot do for float64.
type Float float64

// MarshalJSON encodes NaN and ±Inf as null.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON decodes null as NaN.
func (f *Float) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Defined reports whether f is a finite number.
func (f Float) Defined() bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }
