package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// statusErr is an error that chooses its HTTP status, as the daemon's adapter wraps
// deploy's errors.
type statusErr struct {
	code int
	msg  string
}

func (e statusErr) Error() string   { return e.msg }
func (e statusErr) HTTPStatus() int { return e.code }

// deploys is a DeploySource that records calls; the real one is exercised end to end in
// cmd/ward.
type deploys struct {
	start, end time.Time
	phaseBody  string
}

func (d *deploys) Register(body []byte) (any, error) {
	if !strings.Contains(string(body), "release") {
		return nil, statusErr{400, "release is empty"}
	}
	return map[string]string{"release": "r1"}, nil
}
func (d *deploys) Deploys() (any, error) { return []string{"r1"}, nil }
func (d *deploys) SetPhase(release string, body []byte) (any, error) {
	d.phaseBody = string(body)
	switch release {
	case "gone":
		return nil, statusErr{404, "not found"}
	case "done":
		return nil, statusErr{409, "done"}
	}
	return map[string]string{"release": release}, nil
}
func (d *deploys) Annotations(start, end time.Time) (any, error) {
	d.start, d.end = start, end
	return []string{}, nil
}
func (d *deploys) Guard(_ context.Context, release string) (int, int, any, error) {
	switch release {
	case "good":
		return 200, 0, map[string]string{"decision": "promote"}, nil
	case "bad":
		return 409, 0, map[string]string{"decision": "rollback"}, nil
	case "young":
		return 503, 60, map[string]string{"decision": "wait"}, nil
	}
	return 0, 0, nil, statusErr{404, "release not found"}
}

func TestDeployRoutes(t *testing.T) {
	src := &deploys{}
	ts := startServer(t, Options{})
	ts.MountDeploys(src)
	do := func(method, path, body string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, ts.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		contains           string
		retry              string
	}{
		{"GET", "/guard?release=good", "", 200, `"decision":"promote"`, ""},
		{"GET", "/guard?release=bad", "", 409, `"decision":"rollback"`, ""},
		{"GET", "/guard?release=bad&status=200", "", 200, `"decision":"rollback"`, ""},
		{"GET", "/guard?release=young", "", 503, `"decision":"wait"`, "60"},
		{"GET", "/guard?release=nope", "", 404, `"decision":"error"`, ""},
		{"GET", "/guard", "", 400, "missing parameter release", ""},
		{"POST", "/api/v1/deploys", `{"release":"r1"}`, 200, `"status":"success"`, ""},
		{"POST", "/api/v1/deploys", `{}`, 400, `"errorType":"bad_data"`, ""},
		{"GET", "/api/v1/deploys", "", 200, `"data":["r1"]`, ""},
		{"POST", "/api/v1/deploys/r1/phase", `{"phase":"full"}`, 200, `"release":"r1"`, ""},
		{"POST", "/api/v1/deploys/gone/phase", `{"phase":"full"}`, 404, `"errorType":"not_found"`, ""},
		{"POST", "/api/v1/deploys/done/phase", `{"phase":"full"}`, 409, `"errorType":"conflict"`, ""},
		{"GET", "/api/v1/annotations?start=100&end=200", "", 200, `"data":[]`, ""},
		{"GET", "/api/v1/annotations?start=300&end=200", "", 400, "before start", ""},
		{"GET", "/api/v1/annotations?start=x", "", 400, "start", ""},
	} {
		code, h, body := do(c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.contains) || h.Get("Retry-After") != c.retry {
			t.Errorf("%s %s: %d %q Retry-After %q; want %d containing %q, Retry-After %q", c.method, c.path, code, body, h.Get("Retry-After"), c.code, c.contains, c.retry)
		}
		if strings.HasPrefix(c.path, "/guard") && !json.Valid([]byte(body)) {
			t.Errorf("%s: body %q is not JSON", c.path, body)
		}
	}
	if !src.start.Equal(time.Unix(100, 0)) || !src.end.Equal(time.Unix(200, 0)) {
		t.Errorf("annotations range [%v, %v], want [100, 200]", src.start, src.end)
	}
	if src.phaseBody != `{"phase":"full"}` {
		t.Errorf("phase body %q", src.phaseBody)
	}
}
