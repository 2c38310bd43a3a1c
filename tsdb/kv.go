package tsdb

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/wardmetrics/ward/tsdb/internal/keys"
)

// KV is a small durable key-value store for other components' state
// (alert states, deploys, experiments), kept in the DB's Pebble under its
// own namespace. Retention never touches it. Writes are durable per
// Options.Sync on return.
type KV struct {
	db     *DB
	ns     string
	prefix []byte
}

// KVPair is one entry of KV.PutBatch.
type KVPair struct {
	Key, Value []byte
	// Delete removes Key instead of setting it.
	Delete bool
}

// KV returns the store of namespace ns. Namespaces are independent: no key
// of one is visible in another.
func (db *DB) KV(namespace string) *KV {
	return &KV{db: db, ns: namespace, prefix: keys.KVPrefix(namespace)}
}

func (kv *KV) key(k []byte) []byte {
	return append(append(make([]byte, 0, len(kv.prefix)+len(k)), kv.prefix...), k...)
}

// Get returns a copy of the value of key.
func (kv *KV) Get(key []byte) ([]byte, bool, error) {
	if err := kv.db.enter(); err != nil {
		return nil, false, err
	}
	defer kv.db.leave()
	v, closer, err := kv.db.pdb.Get(kv.key(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("tsdb: kv %s get %q: %w", kv.ns, key, err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	return out, true, closer.Close()
}

// Put sets key to val.
func (kv *KV) Put(key, val []byte) error {
	return kv.PutBatch([]KVPair{{Key: key, Value: val}})
}

// Delete removes key; deleting a missing key is not an error.
func (kv *KV) Delete(key []byte) error {
	return kv.PutBatch([]KVPair{{Key: key, Delete: true}})
}

// PutBatch applies every pair atomically: after a crash either all or none
// are visible.
func (kv *KV) PutBatch(pairs []KVPair) error {
	if err := kv.db.enter(); err != nil {
		return err
	}
	defer kv.db.leave()
	b := kv.db.pdb.NewBatch()
	defer b.Close()
	for _, p := range pairs {
		if p.Delete {
			_ = b.Delete(kv.key(p.Key), nil)
		} else {
			_ = b.Set(kv.key(p.Key), p.Value, nil)
		}
	}
	if err := kv.db.commit(b, kv.db.wo); err != nil {
		return fmt.Errorf("tsdb: kv %s write %d pairs: %w", kv.ns, len(pairs), err)
	}
	return nil
}

// Scan calls fn for every key with prefix, in key order. fn must not keep
// k or v after it returns. An error from fn stops the scan and is returned.
func (kv *KV) Scan(prefix []byte, fn func(k, v []byte) error) error {
	if err := kv.db.enter(); err != nil {
		return err
	}
	defer kv.db.leave()
	lo := kv.key(prefix)
	it, err := kv.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: keys.PrefixEnd(lo)})
	if err != nil {
		return fmt.Errorf("tsdb: kv %s scan %q: %w", kv.ns, prefix, err)
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key()[len(kv.prefix):], it.Value()); err != nil {
			return errors.Join(err, it.Close())
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("tsdb: kv %s scan %q: %w", kv.ns, prefix, err)
	}
	return nil
}
