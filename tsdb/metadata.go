package tsdb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// Metadata describes a metric name, as /api/v1/metadata reports it.
type Metadata struct {
	Name string
	Type string // counter, gauge, histogram, summary, unknown...
	Help string
	Unit string
}

// SetMetadata stores (replacing) the metadata of m.Name.
func (db *DB) SetMetadata(m Metadata) error {
	if m.Name == "" {
		return fmt.Errorf("tsdb: metadata without a metric name")
	}
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	var v []byte
	for _, f := range []string{m.Type, m.Help, m.Unit} {
		v = binary.AppendUvarint(v, uint64(len(f)))
		v = append(v, f...)
	}
	if err := db.disk.check(uint64(len(v) + len(m.Name))); err != nil {
		return fmt.Errorf("tsdb: set metadata of %s: %w", m.Name, err)
	}
	if err := db.pdb.Set(keys.Metadata(m.Name), v, db.wo); err != nil {
		return fmt.Errorf("tsdb: set metadata of %s: %w", m.Name, err)
	}
	return nil
}

// Metadata returns the metadata of every metric, sorted by name. Entries
// that do not decode are skipped.
func (db *DB) Metadata() []Metadata {
	if err := db.enter(); err != nil {
		return nil
	}
	defer db.leave()
	it, err := db.pdb.NewIter(&pebble.IterOptions{
		LowerBound: []byte{byte(keys.KindMetadata)},
		UpperBound: []byte{byte(keys.KindMetadata) + 1},
	})
	if err != nil {
		return nil
	}
	var out []Metadata
	for it.First(); it.Valid(); it.Next() {
		v := it.Value()
		var fs [3]string
		ok := true
		for i := range fs {
			var f []byte
			if f, v, ok = lenPrefixed(v); !ok {
				break
			}
			fs[i] = string(f)
		}
		if ok {
			out = append(out, Metadata{Name: string(it.Key()[1:]), Type: fs[0], Help: fs[1], Unit: fs[2]})
		}
	}
	_ = errors.Join(it.Error(), it.Close())
	return out
}
