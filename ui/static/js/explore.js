// explore.js: ad-hoc queries. Metric autocomplete, PromQL box with errors in place,
// time presets and custom range, graph or table, live mode. State lives in the URL.
"use strict";
(function () {
  let metricNames = null;

  async function loadNames(list) {
    if (!metricNames) {
      try { metricNames = await W.api("/api/v1/label/__name__/values"); } catch (e) { metricNames = []; }
    }
    list.replaceChildren(...metricNames.map((n) => W.el("option", { value: n })));
  }

  W.pages.explore = function (root, route) {
    const p = route.params;
    const st = W.rangeFrom(p);
    const live = p.get("live") === "1" && !!st.preset;
    const view = p.get("view") === "table" ? "table" : "graph";
    let expr = p.get("expr") || "";
    let chart = null;

    const navigate = (next) => W.go("explore", [], Object.assign({ expr, view, live: live ? 1 : "" }, W.rangeParams(st), next));

    const list = W.el("datalist", { id: "metric-names" });
    const metric = W.el("input", { id: "metric-search", list: "metric-names", placeholder: "metric name…", autocomplete: "off", "aria-label": "metric search" });
    metric.addEventListener("change", () => {
      if (metric.value) { input.value = metric.value; run(); }
    });
    const input = W.el("input", { id: "expr", class: "expr", value: expr, placeholder: "PromQL, e.g. sum(rate(logins[5m]))", spellcheck: "false", "aria-label": "PromQL expression" });
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
    const err = W.el("div", { id: "expr-error", class: "error", hidden: true });
    const out = W.el("div", { id: "explore-out", class: "panel" });

    function run() {
      expr = input.value.trim();
      navigate({});
    }
    function showError(e) {
      err.textContent = e.message;
      err.hidden = false;
      out.replaceChildren(W.el("div", { class: "muted" }, "The query failed; see the error above."));
    }

    root.append(
      W.el("h1", {}, "Explore"),
      W.el("div", { class: "row" }, list, metric,
        W.el("div", { class: "grow" }, input),
        W.el("button", { class: "primary", id: "run", onclick: run }, "Run")),
      err,
      W.rangePicker(st, live, (s, l) => {
        Object.keys(st).forEach((k) => delete st[k]);
        Object.assign(st, s);
        navigate({ live: l && s.preset ? 1 : "" });
      }),
      W.el("div", { class: "row" },
        W.el("button", { id: "view-graph", class: view === "graph" ? "on" : "", onclick: () => navigate({ view: "graph" }) }, "Graph"),
        W.el("button", { id: "view-table", class: view === "table" ? "on" : "", onclick: () => navigate({ view: "table" }) }, "Table")),
      out);
    loadNames(list);

    if (!expr) {
      out.append(W.el("div", { class: "muted" }, "Type a PromQL expression or pick a metric."));
    } else if (view === "graph") {
      const el = W.el("div", { id: "explore-chart" });
      out.append(el);
      chart = new W.Chart(el, { expr, range: W.toRange(st), live, height: Math.max(260, Math.round(window.innerHeight * 0.5)), onError: showError });
      chart.load();
    } else {
      renderTable(out, expr, st).catch(showError);
    }
    return () => chart && chart.destroy();
  };

  // renderTable shows the instant values at the end of the range.
  async function renderTable(out, expr, st) {
    const r = W.toRange(st);
    const t = (r.end || Date.now()) / 1000;
    const d = await W.api("/api/v1/query?" + W.qs({ query: expr, time: t }));
    let rows = [];
    if (d.resultType === "vector") rows = d.result.map((s) => [W.seriesName(s.metric), s.value[1]]);
    else if (d.resultType === "scalar" || d.resultType === "string") rows = [["scalar", d.result[1]]];
    else if (d.resultType === "matrix") rows = d.result.map((s) => [W.seriesName(s.metric), s.values.map((v) => v[1]).join(", ")]);
    const tbl = W.el("table", { id: "explore-table" },
      W.el("thead", {}, W.el("tr", {}, W.el("th", {}, "series"), W.el("th", {}, "value"))),
      W.el("tbody", {}, rows.map(([n, v]) => W.el("tr", {}, W.el("td", { class: "mono" }, n), W.el("td", { class: "num" }, v)))));
    out.replaceChildren(rows.length ? tbl : W.el("div", { class: "empty muted" }, "no data"),
      W.el("div", { class: "muted" }, `at ${W.fmtTime(t * 1000)}`));
  }
})();
