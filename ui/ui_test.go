package ui

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wardmetrics/ward/api"
	"github.com/wardmetrics/ward/tsdb"
)

// server is the real API server over real storage, with the UI and dashboards mounted.
type server struct {
	url string
	db  *tsdb.DB
}

func startServer(t *testing.T, token string) *server {
	t.Helper()
	set := metrics.NewSet()
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "data"), tsdb.Options{}, set)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Queryable: db, Metrics: set, AuthToken: token})
	if err != nil {
		t.Fatal(err)
	}
	u, err := New()
	if err != nil {
		t.Fatal(err)
	}
	u.Mount(srv)
	NewDashboards(db.KV("dashboards")).Mount(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	return &server{url: "http://" + ln.Addr().String(), db: db}
}

func do(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip: sizes are real
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestServesEmbeddedApp(t *testing.T) {
	s := startServer(t, "")
	code, h, body := do(t, "GET", s.url+"/", "")
	if code != 200 || !strings.Contains(string(body), `<main id="view">`) {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Content-Security-Policy") == "" {
		t.Errorf("GET / headers: %v", h)
	}
	// Every script and stylesheet the page references is served with its type.
	refs := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if len(refs) < 10 {
		t.Fatalf("index references %d static files", len(refs))
	}
	for _, r := range refs {
		code, h, b := do(t, "GET", s.url+r[1], "")
		if code != 200 || len(b) == 0 {
			t.Errorf("GET %s: %d, %d bytes", r[1], code, len(b))
		}
		want := map[string]string{".js": "text/javascript", ".css": "text/css"}[filepath.Ext(r[1])]
		if !strings.HasPrefix(h.Get("Content-Type"), want) {
			t.Errorf("GET %s: Content-Type %q, want %s", r[1], h.Get("Content-Type"), want)
		}
	}
	// Revalidation with the ETag answers 304 without a body.
	_, h, _ = do(t, "GET", s.url+"/static/js/core.js", "")
	code, _, b := do(t, "GET", s.url+"/static/js/core.js", "", "If-None-Match", h.Get("ETag"))
	if code != 304 || len(b) != 0 {
		t.Errorf("conditional GET: %d with %d bytes, want 304 and none", code, len(b))
	}
	if code, _, _ := do(t, "GET", s.url+"/static/nope.js", ""); code != 404 {
		t.Errorf("missing file: %d, want 404", code)
	}
	// The uPlot licence ships with it.
	if code, _, b := do(t, "GET", s.url+"/static/vendor/uPlot.LICENSE", ""); code != 200 || !bytes.Contains(b, []byte("MIT")) {
		t.Errorf("uPlot licence: %d %q", code, b)
	}
}

// TestFirstLoadSize measures what a browser's first visit transfers with gzip: the page
// and every file it references. The budget is 300 KB.
func TestFirstLoadSize(t *testing.T) {
	s := startServer(t, "")
	_, _, index := do(t, "GET", s.url+"/", "", "Accept-Encoding", "gzip")
	total, raw := 0, 0
	plain, err := gunzipIfNeeded(index)
	if err != nil {
		t.Fatal(err)
	}
	total, raw = len(index), len(plain)
	for _, r := range regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(string(plain), -1) {
		_, _, b := do(t, "GET", s.url+r[1], "", "Accept-Encoding", "gzip")
		p, err := gunzipIfNeeded(b)
		if err != nil {
			t.Fatalf("%s: %v", r[1], err)
		}
		total += len(b)
		raw += len(p)
	}
	t.Logf("bench: ui first load %d bytes gzipped (%d raw)", total, raw)
	if total >= 300<<10 {
		t.Fatalf("first load transfers %d bytes, want under 300 KB", total)
	}
	if total >= raw {
		t.Errorf("responses not compressed: %d gzipped vs %d raw", total, raw)
	}
}

func gunzipIfNeeded(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

type envelope struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

func decodeEnv(t *testing.T, b []byte, out any) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if out != nil && e.Status == "success" {
		if err := json.Unmarshal(e.Data, out); err != nil {
			t.Fatalf("decode data %s: %v", e.Data, err)
		}
	}
	return e
}

func TestDashboardsCRUD(t *testing.T) {
	s := startServer(t, "")
	var all []Dashboard
	code, _, b := do(t, "GET", s.url+"/api/v1/dashboards", "")
	decodeEnv(t, b, &all)
	if code != 200 || len(all) != 2 || all[0].ID != "business" || all[1].ID != "system" || !all[0].Builtin {
		t.Fatalf("shipped dashboards: %d %+v", code, all)
	}

	body := `{"title":"Checkout","panels":[{"title":"orders","expr":"rate(orders[5m])"}]}`
	if code, _, b := do(t, "PUT", s.url+"/api/v1/dashboards/checkout", body); code != 200 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	var got Dashboard
	code, _, b = do(t, "GET", s.url+"/api/v1/dashboards/checkout", "")
	decodeEnv(t, b, &got)
	if code != 200 || got.Title != "Checkout" || len(got.Panels) != 1 || got.Panels[0].Expr != "rate(orders[5m])" {
		t.Fatalf("GET after PUT: %d %+v", code, got)
	}
	// It is in storage, not in the handler: the KV holds it.
	if _, ok, err := s.db.KV("dashboards").Get([]byte("d/checkout")); err != nil || !ok {
		t.Fatalf("stored dashboard: %v %v", ok, err)
	}

	// Replacing a shipped dashboard shadows it; deleting the copy restores it.
	if code, _, b := do(t, "PUT", s.url+"/api/v1/dashboards/system", `{"title":"My system","panels":[]}`); code != 200 {
		t.Fatalf("PUT system: %d %s", code, b)
	}
	_, _, b = do(t, "GET", s.url+"/api/v1/dashboards", "")
	decodeEnv(t, b, &all)
	titles := []string{}
	for _, d := range all {
		titles = append(titles, d.Title)
	}
	if strings.Join(titles, ",") != "Business,Checkout,My system" {
		t.Fatalf("after replacing system: %v", titles)
	}
	if code, _, b := do(t, "DELETE", s.url+"/api/v1/dashboards/system", ""); code != 200 {
		t.Fatalf("DELETE system: %d %s", code, b)
	}
	code, _, b = do(t, "GET", s.url+"/api/v1/dashboards/system", "")
	decodeEnv(t, b, &got)
	if code != 200 || !got.Builtin || got.Title != "System" {
		t.Fatalf("after deleting the copy: %+v", got)
	}

	for _, c := range []struct{ method, path, body, want string }{
		{"PUT", "/api/v1/dashboards/Bad%20Id", body, "dashboard id"},
		{"PUT", "/api/v1/dashboards/x", `{"title":""}`, "title"},
		{"PUT", "/api/v1/dashboards/x", `{"title":"x","panels":[{"expr":" "}]}`, "panel 1"},
		{"PUT", "/api/v1/dashboards/x", `{`, "decode JSON"},
		{"GET", "/api/v1/dashboards/none", "", "no such dashboard"},
	} {
		code, _, b := do(t, c.method, s.url+c.path, c.body)
		e := decodeEnv(t, b, nil)
		if code < 400 || e.Status != "error" || !strings.Contains(e.Error, c.want) {
			t.Errorf("%s %s %s: %d %+v, want an error with %q", c.method, c.path, c.body, code, e, c.want)
		}
	}
}

func TestDashboardWritesNeedToken(t *testing.T) {
	s := startServer(t, "sekrit")
	body := `{"title":"T","panels":[]}`
	if code, _, _ := do(t, "PUT", s.url+"/api/v1/dashboards/t", body); code != 401 {
		t.Fatalf("PUT without token: %d, want 401", code)
	}
	if code, _, _ := do(t, "PUT", s.url+"/api/v1/dashboards/t", body, "Authorization", "Bearer sekrit"); code != 200 {
		t.Fatalf("PUT with token: %d", code)
	}
	// The page itself is public.
	if code, _, _ := do(t, "GET", s.url+"/", ""); code != 200 {
		t.Fatalf("GET / with a token set: %d", code)
	}
}
