package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive headless Chromium against a real `ward serve`. Outside CI they
// skip when no Chromium is installed; with CI=true a missing Chromium fails them.

// chromiumPath finds the browser: $CHROMIUM, then the usual names.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium with a fresh profile, and the console errors and
// uncaught exceptions its pages produced.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// optionalAPIs are endpoints pages probe and degrade without (404 until their issue
// lands); the browser logs such a 404 as a network error, which is not a page error.
var optionalAPIs = []string{"/api/v1/deploys", "/api/v1/annotations", "/api/v1/experiments", "/guard"}

func newBrowser(t *testing.T, budget time.Duration) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no Chromium found (install it with apt-get install chromium, or set CHROMIUM)")
		}
		t.Skip("no Chromium found: install chromium or set CHROMIUM to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, budget)
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				b.addErr("console.error: " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.addErr(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *cdplog.EventEntryAdded:
			e := ev.Entry
			if e.Level != cdplog.LevelError {
				return
			}
			for _, p := range optionalAPIs {
				if strings.Contains(e.URL, p) && strings.Contains(e.Text, "404") {
					return
				}
			}
			// /guard answers wait and roll back with 503 and 409 and a verdict body.
			if strings.Contains(e.URL, "/guard?") && (strings.Contains(e.Text, "503") || strings.Contains(e.Text, "409")) {
				return
			}
			b.addErr(fmt.Sprintf("%s: %s %s", e.Source, e.Text, e.URL))
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable()); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	// Registered after the cancels, so it runs before them: a screenshot of the page
	// as it was when the test failed.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var png []byte
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := chromedp.Run(sctx, chromedp.FullScreenshot(&png, 100)); err != nil {
			t.Logf("screenshot: %v", err)
			return
		}
		dir := os.Getenv("WARD_SCREENSHOTS")
		if dir == "" {
			dir = os.TempDir()
		}
		name := filepath.Join(dir, "ward-ui-"+strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Logf("save screenshot: %v", err)
			return
		}
		t.Logf("screenshot of the failed page: %s", name)
	})
	return b
}

func (b *browser) addErr(s string) {
	b.mu.Lock()
	b.errs = append(b.errs, s)
	b.mu.Unlock()
}

// takeErrs returns and clears the errors seen so far.
func (b *browser) takeErrs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errs
	b.errs = nil
	return e
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page into out.
func (b *browser) eval(js string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(js, out))
}

// waitJS polls a JavaScript condition in the page until it is true.
func (b *browser) waitJS(what, js string) {
	b.t.Helper()
	waitFor(b.t, 20*time.Second, what, func() (bool, string) {
		var ok bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(js, &ok)); err != nil {
			return false, err.Error()
		}
		return ok, "false"
	})
}

// open loads the app at a hash route and waits until the page says it is ready.
func (b *browser) open(base, route string) {
	b.t.Helper()
	page := strings.SplitN(strings.TrimPrefix(route, "#/"), "/", 2)[0]
	page = strings.SplitN(page, "?", 2)[0]
	b.run(chromedp.Navigate(base + "/" + route))
	b.waitJS(route+" ready", fmt.Sprintf(`!!document.querySelector('[data-page=%q][data-ready="1"]')`, page))
}

func (b *browser) noErrors(where string) {
	b.t.Helper()
	if errs := b.takeErrs(); len(errs) > 0 {
		b.t.Errorf("%s: %d browser errors:\n%s", where, len(errs), strings.Join(errs, "\n"))
	}
}

// TestUIInBrowser is the UI issue's acceptance test in a real browser: every page loads
// without errors; a graph shows what the API returns; a live graph gains the point of a
// counter sent over UDP; the alert board turns CRITICAL when data crosses a rule;
// changing an experiment's rollout in the page changes the API; and the first page load
// stays small.
func TestUIInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, `groups:
  - name: ui
    interval: 1s
    rules:
      - alert: UIErrors
        expr: ui_errors
        crit: "> 10"
guard:
  interval: 1s
  metrics:
    - name: requests
      expr: sum(increase(ui_req{$selector}[$window]))
`)
	w := startWard(t, filepath.Join(dir, "data"), "--rules", rulesFile)
	base := "http://" + w.http
	mustSend(t, w, "ui.gauge:42|g", "ui.live:1|c", "ui.errors:1|g")
	w.waitValue("ui_gauge", 42)
	w.waitValue("ui_live", 1)
	w.waitValue("ui_errors", 1)
	b := newBrowser(t, 60*time.Second)

	t.Run("first load size", func(t *testing.T) {
		b.t = t
		b.open(base, "#/explore")
		var size struct{ Transfer, Decoded, Resources float64 }
		b.eval(`(() => {
			const n = performance.getEntriesByType("navigation")[0];
			const rs = performance.getEntriesByType("resource");
			return {
				Transfer: n.transferSize + rs.reduce((s, r) => s + r.transferSize, 0),
				Decoded: n.decodedBodySize + rs.reduce((s, r) => s + r.decodedBodySize, 0),
				Resources: rs.length,
			};
		})()`, &size)
		t.Logf("bench: ui first load transfer %.0f bytes (%.0f decoded) in %.0f requests", size.Transfer, size.Decoded, size.Resources+1)
		if size.Transfer <= 0 || size.Transfer >= 300<<10 {
			t.Errorf("first page load transferred %.0f bytes, want under 300 KB", size.Transfer)
		}
		if size.Resources < 10 {
			t.Errorf("first load fetched %.0f resources; the app's scripts are missing", size.Resources)
		}
		b.noErrors("first load")
	})

	t.Run("pages load without errors", func(t *testing.T) {
		b.t = t
		for _, r := range []string{"#/explore", "#/dashboards", "#/dashboards/system", "#/alerts", "#/deploys", "#/experiments"} {
			b.open(base, r)
			// Graphs finish loading after the page is ready: wait for every one.
			b.waitJS(r+" graphs loaded", `[...document.querySelectorAll('.chart')].every(c => c.dataset.state === "ok")`)
			b.noErrors(r)
			if r == "#/dashboards/system" {
				var n int
				b.eval(`document.querySelectorAll('#dash-grid .chart').length`, &n)
				if n != 5 {
					t.Errorf("System dashboard shows %d graphs, want its 5 panels", n)
				}
			}
		}
	})

	t.Run("graph shows the API's values", func(t *testing.T) {
		b.t = t
		b.open(base, "#/explore?expr=ui_gauge&range=15m")
		b.waitJS("graph loaded", `document.querySelector('#explore-chart')?.dataset.state === "ok"`)
		var got struct {
			Values []float64
			Legend string
		}
		b.eval(`({
			Values: W.charts[0].ys[0].filter(v => v !== null),
			Legend: document.querySelector('.u-legend').textContent,
		})`, &got)
		v, ok, err := w.scalar("ui_gauge")
		if err != nil || !ok {
			t.Fatalf("API: %v %v", ok, err)
		}
		if len(got.Values) == 0 {
			t.Fatal("graph drew no points")
		}
		for _, g := range got.Values {
			if g != v {
				t.Fatalf("graph values %v, API says %v", got.Values, v)
			}
		}
		if !strings.Contains(got.Legend, "ui_gauge") {
			t.Errorf("legend %q lacks the series", got.Legend)
		}
		// The table view shows the same value.
		b.run(chromedp.Click("#view-table", chromedp.ByQuery))
		b.waitJS("table", `!!document.querySelector('#explore-table')`)
		var cell string
		b.eval(`document.querySelector('#explore-table tbody td.num').textContent`, &cell)
		if cell != "42" {
			t.Errorf("table shows %q, want 42", cell)
		}
		// A bad expression shows its error in place.
		b.open(base, "#/explore?expr=rate(ui_gauge)&range=15m")
		b.waitJS("error shown", `!document.querySelector('#expr-error').hidden`)
		var msg string
		b.eval(`document.querySelector('#expr-error').textContent`, &msg)
		if !strings.Contains(msg, "range vector") {
			t.Errorf("error in place %q, want the parser's complaint", msg)
		}
		b.takeErrs() // the failed query's 400 is logged by the browser, as intended
	})

	t.Run("live graph gains the new point", func(t *testing.T) {
		b.t = t
		b.open(base, "#/explore?expr=ui_live&range=15m&live=1")
		b.waitJS("graph loaded", `document.querySelector('#explore-chart')?.dataset.state === "ok"`)
		b.waitJS("websocket connected", `W.live.connected()`)
		var before int
		b.eval(`W.charts[0].xs.length`, &before)
		mustSend(t, w, "ui.live:5|c")
		// No reload: the pushed point carries the new total.
		b.waitJS("pushed point with 6", `(() => { const c = W.charts[0]; const y = c.ys[0]; return y[y.length-1] === 6; })()`)
		var after int
		b.eval(`W.charts[0].xs.length`, &after)
		if after <= before {
			t.Errorf("live graph has %d points, had %d", after, before)
		}
		b.noErrors("live")
	})

	t.Run("live page reconnects after a restart", func(t *testing.T) {
		b.t = t
		b.open(base, "#/explore?expr=ui_live&range=15m&live=1")
		b.waitJS("websocket connected", `W.live.connected()`)
		w.stop() // exits 0 with the browser connected: the hub closed its socket
		b.waitJS("disconnected", `!W.live.connected() && document.querySelector('#live-status').textContent.startsWith("reconnecting")`)
		w.start()
		b.waitJS("reconnected with backoff", `W.live.connected()`)
		mustSend(t, w, "ui.live:10|c")
		b.waitJS("point after the restart", `(() => { const y = W.charts[0].ys[0]; return y[y.length-1] === 16; })()`)
		b.noErrors("reconnect")
	})

	t.Run("alert board turns CRITICAL", func(t *testing.T) {
		b.t = t
		b.open(base, "#/alerts")
		b.waitJS("UIErrors OK", `document.querySelector('tr[data-check="UIErrors"]')?.dataset.status === "OK"`)
		mustSend(t, w, "ui.errors:50|g")
		b.waitJS("UIErrors CRITICAL without a reload", `document.querySelector('tr[data-check="UIErrors"]')?.dataset.status === "CRITICAL"`)
		// Filtering out CRITICAL hides it.
		b.run(chromedp.Click(`input[data-state="CRITICAL"]`, chromedp.ByQuery))
		b.waitJS("filtered", `!document.querySelector('tr[data-check="UIErrors"]')`)
		b.noErrors("alerts")
	})

	t.Run("deploys and markers", func(t *testing.T) {
		b.t = t
		// The canary host c and the baseline host b count requests; two rounds give
		// both counters an increase.
		mustSend(t, w, "ui.req:5|c|#host:c", "ui.req:20|c|#host:b")
		w.waitValue(`ui_req{host="b"}`, 20)
		mustSend(t, w, "ui.req:3|c|#host:c", "ui.req:30|c|#host:b")
		w.waitValue(`ui_req{host="b"}`, 50)
		w.waitValue(`ui_req{host="c"}`, 8)
		code, body := httpDo(t, "POST", base+"/api/v1/deploys", `{"release":"v9.9.9","author":"ui","canary":"host=\"c\"","baseline":"host=\"b\""}`)
		if code == 404 {
			t.Skip("no deploys API in this build")
		}
		if code != 200 {
			t.Fatalf("register deploy: %d %s", code, body)
		}
		// A deploy younger than a second is not judged yet: wait for a verdict that
		// lists the watched metric with its graph queries.
		waitFor(t, 20*time.Second, "verdict with graph queries", func() (bool, string) {
			_, body := httpDo(t, "GET", base+"/guard?release=v9.9.9&status=200", "")
			return strings.Contains(string(body), `"canary_query"`), string(body)
		})
		b.open(base, "#/deploys")
		b.waitJS("deploy listed", `document.querySelectorAll('#deploy-list tbody tr').length === 1 && document.querySelectorAll('#deploy-timeline .tick').length === 1`)
		b.waitJS("verdict shown", `!!document.querySelector('#guard-verdict .badge')`)
		var decision string
		b.eval(`document.querySelector('#guard-verdict .badge').textContent`, &decision)
		if decision != "WAIT" && decision != "PROMOTE" && decision != "ROLLBACK" {
			t.Errorf("verdict badge %q", decision)
		}
		var verdict string
		b.eval(`document.querySelector('#guard-verdict').textContent`, &verdict)
		if strings.Contains(verdict, "null") || strings.Contains(verdict, "undefined") {
			t.Errorf("verdict renders a missing value: %q", verdict)
		}

		// The watched metric's graph: canary against baseline, each line what the
		// API's query_range answers for the verdict's queries over the range the graph
		// asked for.
		type graph struct {
			Names   []string
			Last    []float64
			Exprs   []string
			Start   float64
			End     float64
			Step    float64
			Markers []string
		}
		readGraph := func() graph {
			t.Helper()
			b.waitJS("deploy graph loaded", `document.querySelector('#deploy-graphs .chart[data-metric="requests"]')?.dataset.state === "ok"`)
			var g graph
			b.eval(`(() => {
				const c = W.charts.find(c => c.el.dataset.metric === "requests");
				return {
					Names: c.names,
					Last: c.ys.map(col => col.filter(v => v !== null).pop()),
					Exprs: c.opts.queries.map(q => q.expr),
					Start: c.asked.start, End: c.asked.end, Step: c.asked.step,
					Markers: c.markers.map(m => m.text),
				};
			})()`, &g)
			if len(g.Names) != 2 || g.Names[0] != "canary" || g.Names[1] != "baseline" || len(g.Last) != 2 || len(g.Exprs) != 2 {
				t.Fatalf("deploy graph series %q (last %v, queries %q), want canary and baseline", g.Names, g.Last, g.Exprs)
			}
			return g
		}
		// apiLast is the last value query_range answers for the graph's i-th query.
		apiLast := func(g graph, i int) float64 {
			t.Helper()
			r, err := w.get("/api/v1/query_range", "query", g.Exprs[i],
				"start", strconv.FormatFloat(g.Start, 'f', 3, 64), "end", strconv.FormatFloat(g.End, 'f', 3, 64),
				"step", strconv.FormatFloat(g.Step, 'f', -1, 64))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Result) != 1 || len(r.Result[0].Values) == 0 {
				t.Fatalf("query_range %q: %+v, want one series", g.Exprs[i], r)
			}
			vals := r.Result[0].Values
			s, _ := vals[len(vals)-1][1].(string)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		g := readGraph()
		for i, want := range []string{`host="c"`, `host="b"`} {
			if !strings.Contains(g.Exprs[i], want) || !strings.Contains(g.Exprs[i], "ui_req") {
				t.Errorf("%s query %q, want ui_req on %s", g.Names[i], g.Exprs[i], want)
			}
		}
		// A flush that lands between the graph's query and ours adds a point inside the
		// range (the daemon keeps writing the counters): then the graph loads again.
		var mismatch string
		for attempt := 0; attempt < 3; attempt++ {
			mismatch = ""
			for i := range g.Exprs {
				if api := apiLast(g, i); g.Last[i] != api {
					mismatch += fmt.Sprintf("%s line ends at %v, the API says %v for %q; ", g.Names[i], g.Last[i], api, g.Exprs[i])
				}
			}
			if mismatch == "" {
				break
			}
			b.eval(`W.charts.find(c => c.el.dataset.metric === "requests").load(), true`, nil)
			g = readGraph()
		}
		if mismatch != "" {
			t.Error(mismatch)
		}
		if g.Last[0] == g.Last[1] {
			t.Errorf("canary and baseline both end at %v; the data differ (3 against 30 in the last round)", g.Last[0])
		}
		if len(g.Markers) != 1 || !strings.Contains(g.Markers[0], "v9.9.9") {
			t.Errorf("deploy graph markers %q, want the deploy v9.9.9", g.Markers)
		}
		// Every graph draws the deploy as a marker.
		b.open(base, "#/explore?expr=ui_gauge&range=15m")
		b.waitJS("graph loaded", `document.querySelector('#explore-chart')?.dataset.state === "ok"`)
		var marks []string
		b.eval(`W.charts[0].markers.map(m => m.text)`, &marks)
		if len(marks) != 1 || !strings.Contains(marks[0], "v9.9.9") {
			t.Errorf("graph markers %q, want the deploy v9.9.9", marks)
		}
		b.noErrors("deploys")
	})

	t.Run("experiment rollout changed in the page", func(t *testing.T) {
		b.t = t
		def := `{"name":"ui-button","branches":[{"name":"control","weight":50},{"name":"green","weight":50}],"rollout":10,"metrics":[{"name":"order","kind":"conversion"}]}`
		code, body := httpDo(t, "POST", base+"/api/v1/experiments", def)
		if code == 404 {
			t.Skip("no experiments API in this build")
		}
		if code != 200 && code != 201 {
			t.Fatalf("create experiment: %d %s", code, body)
		}
		b.open(base, "#/experiments")
		b.waitJS("row", `!!document.querySelector('tr[data-experiment="ui-button"] input.rollout')`)
		b.run(
			chromedpSetValue(`tr[data-experiment="ui-button"] input.rollout`, "35"),
			chromedpClick(`tr[data-experiment="ui-button"] button.set-rollout`),
		)
		waitFor(t, 20*time.Second, "rollout 35 in the API", func() (bool, string) {
			code, body := httpDo(t, "GET", base+"/api/v1/experiments/ui-button", "")
			var env struct {
				Data struct {
					Experiment struct {
						Rollout float64 `json:"rollout"`
					} `json:"experiment"`
				} `json:"data"`
			}
			if code != 200 || json.Unmarshal(body, &env) != nil {
				return false, string(body)
			}
			return env.Data.Experiment.Rollout == 35, string(body)
		})
		b.waitJS("page shows 35", `document.querySelector('tr[data-experiment="ui-button"] input.rollout')?.value === "35"`)
		b.noErrors("experiments")

		// The results page shows both branches and the metric's table and graph.
		b.open(base, "#/experiments/ui-button")
		b.waitJS("results", `document.querySelectorAll('#view table').length >= 2`)
		b.waitJS("conversion graph loaded", `[...document.querySelectorAll('.chart')].every(c => c.dataset.state === "ok")`)
		var text string
		b.eval(`document.querySelector('#view').textContent`, &text)
		for _, want := range []string{"control", "green", "order"} {
			if !strings.Contains(text, want) {
				t.Errorf("results page lacks %q", want)
			}
		}
		b.noErrors("experiment results")
	})

	t.Run("dashboard saved in storage", func(t *testing.T) {
		b.t = t
		b.open(base, "#/dashboards/_new?edit=1")
		b.run(
			chromedp.SendKeys("#dash-id", "mine", chromedp.ByQuery),
			chromedp.SendKeys("#dash-title", "Mine", chromedp.ByQuery),
			chromedp.SendKeys(".p-expr", "ui_gauge", chromedp.ByQuery),
			chromedp.Click("#dash-save", chromedp.ByQuery),
		)
		b.waitJS("saved dashboard shown", `document.querySelector('#dash-tabs button.on')?.dataset.id === "mine"`)
		resp, err := http.Get(base + "/api/v1/dashboards/mine")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/v1/dashboards/mine: %d", resp.StatusCode)
		}
		b.noErrors("dashboards")
	})
}

func chromedpSetValue(sel, v string) chromedp.Action {
	return chromedp.SetValue(sel, v, chromedp.ByQuery)
}

func chromedpClick(sel string) chromedp.Action { return chromedp.Click(sel, chromedp.ByQuery) }

// httpDo sends one request and returns the status and body.
func httpDo(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
