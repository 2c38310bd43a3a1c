package client

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/experiment"
	"github.com/wardmetrics/ward/tsdb"
)

// ward is a Manager on a real tsdb behind the routes of experiment/README.md, served by
// net/http on 127.0.0.1 with Ward's response envelope, as api will mount them.
type ward struct {
	t       *testing.T
	db      *tsdb.DB
	m       *experiment.Manager
	srv     *httptest.Server
	down    atomic.Bool // answer 503 to everything
	posts   atomic.Int64
	maxBody atomic.Int64 // largest number of items in one POST
}

type kvBatcher struct{ *tsdb.KV }

func (b kvBatcher) PutMany(keys, vals [][]byte) error {
	pairs := make([]tsdb.KVPair, len(keys))
	for i := range keys {
		pairs[i] = tsdb.KVPair{Key: keys[i], Value: vals[i]}
	}
	return b.PutBatch(pairs)
}

func newWard(t *testing.T) *ward {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), tsdb.Options{Sync: tsdb.SyncNone}, metrics.NewSet())
	if err != nil {
		t.Fatal(err)
	}
	m, err := experiment.Open(kvBatcher{db.KV("experiment")}, nil, metrics.NewSet(), experiment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &ward{t: t, db: db, m: m}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(w.serve))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.srv.Listener = ln
	w.srv.Start()
	t.Cleanup(func() {
		w.srv.Close()
		if err := db.Close(); err != nil {
			t.Errorf("close tsdb: %v", err)
		}
	})
	return w
}

func (w *ward) serve(rw http.ResponseWriter, r *http.Request) {
	if w.down.Load() {
		http.Error(rw, `{"status":"error","errorType":"unavailable","error":"down for the test"}`, http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var data any
	var err error
	switch {
	case r.Method == http.MethodGet && r.URL.Path == PathExperiments:
		data = w.m.List()
	case r.Method == http.MethodPost && r.URL.Path == PathExposures:
		var req experiment.ExposuresRequest
		if req, err = experiment.DecodeExposures(body); err == nil {
			w.posted(len(req.Exposures))
			data, err = w.m.RecordExposures(req)
		}
	case r.Method == http.MethodPost && r.URL.Path == PathEvents:
		var evs []experiment.Event
		if evs, err = experiment.DecodeEvents(body); err == nil {
			w.posted(len(evs))
			data, err = w.m.RecordEvents(evs)
		}
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/assign"):
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, PathExperiments+"/"), "/assign")
		data, err = w.m.Assign(name, r.URL.Query().Get("uid"), r.URL.Query().Get("role"))
	default:
		http.NotFound(rw, r)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, experiment.ErrInvalid) {
			code = http.StatusBadRequest
		}
		rw.WriteHeader(code)
		_ = json.NewEncoder(rw).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": err.Error()})
		return
	}
	_ = json.NewEncoder(rw).Encode(map[string]any{"status": "success", "data": data})
}

func (w *ward) posted(n int) {
	w.posts.Add(1)
	for {
		old := w.maxBody.Load()
		if int64(n) <= old || w.maxBody.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

func (w *ward) create(d experiment.Definition) {
	w.t.Helper()
	if _, err := w.m.Create(d, "test"); err != nil {
		w.t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
