package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// serveManually starts s on a loopback port and returns its base URL, the
// cancel of Serve's context and Serve's result.
func serveManually(t *testing.T, s *Server) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), cancel, done
}

func waitServe(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context was cancelled")
		return nil
	}
}

func TestShutdownCancelsStuckQueries(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s, err := New(Options{Queryable: blockingQueryable{loadTestStorage(t), release}, ShutdownTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	base, cancel, done := serveManually(t, s)
	ts := &testServer{Server: s, base: base, client: &http.Client{Transport: &http.Transport{}}}
	defer ts.client.CloseIdleConnections()

	got := make(chan httpResult, 1)
	go func() { got <- ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}}) }()
	waitFor(t, "the query to run", func() bool { return s.m.running.Load() == 1 })
	cancel()
	if err := waitServe(t, done); err != nil {
		t.Errorf("Serve: %v", err)
	}
	// The query outlived the grace period and was cancelled, as Prometheus
	// answers cancelled queries.
	(<-got).wantError(t, 499, ErrCanceled, "query was canceled")

	if err := s.Serve(context.Background(), nil); !errors.Is(err, ErrServing) {
		t.Errorf("second Serve: %v, want ErrServing", err)
	}
}

func TestShutdownLetsQueriesFinish(t *testing.T) {
	release := make(chan struct{})
	s, err := New(Options{Queryable: blockingQueryable{loadTestStorage(t), release}, ShutdownTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	base, cancel, done := serveManually(t, s)
	ts := &testServer{Server: s, base: base, client: &http.Client{Transport: &http.Transport{}}}
	defer ts.client.CloseIdleConnections()

	got := make(chan httpResult, 1)
	go func() {
		got <- ts.get(t, "/api/v1/query", url.Values{"query": {"http_requests_total"}, "time": {"60"}})
	}()
	waitFor(t, "the query to run", func() bool { return s.m.running.Load() == 1 })
	cancel()
	close(release)
	(<-got).wantSuccess(t, nil)
	if err := waitServe(t, done); err != nil {
		t.Errorf("Serve: %v", err)
	}
	// New connections are refused once Serve has returned.
	if _, err := http.Get(base + "/-/healthy"); err == nil {
		t.Error("the server still accepts connections after Serve returned")
	}
}
