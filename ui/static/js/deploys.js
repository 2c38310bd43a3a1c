// deploys.js: the deploy timeline and, per deploy, the guard's verdict table with each
// watched metric's canary and baseline values, and a graph per watched metric of the
// canary against its baseline (the verdict's canary_query and baseline_query) over the
// deploy's window, with the deploy drawn as a marker.
"use strict";
(function () {
  W.pages.deploys = async function (root, route) {
    root.append(W.el("h1", {}, "Deploys"));
    let list;
    try {
      list = await W.api("/api/v1/deploys");
    } catch (e) {
      if (W.notAvailable(e)) W.unavailable(root, "Deploys");
      else root.append(W.el("div", { class: "error" }, e.message));
      return () => {};
    }
    list = (Array.isArray(list) ? list : list.deploys || []).slice().sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
    if (!list.length) { root.append(W.el("div", { class: "panel muted" }, "No deploys yet: `ward deploy` records them.")); return () => {}; }
    const sel = route.args[0] || list[0].release;

    // The timeline spans from the oldest to now.
    const t0 = Math.min(...list.map((d) => Date.parse(d.start))), t1 = Date.now();
    const line = W.el("div", { class: "timeline", id: "deploy-timeline" });
    for (const d of list) {
      const x = ((Date.parse(d.start) - t0) / Math.max(1, t1 - t0)) * 98 + 1;
      line.append(W.el("div", { class: `tick ${d.phase || ""}`, style: `left:${x}%`, title: `${d.release} ${d.phase || ""} ${W.fmtTime(Date.parse(d.start))}`, onclick: () => W.go("deploys", [d.release]) }));
    }
    root.append(line, W.el("div", { class: "panel" }, W.el("table", { id: "deploy-list" },
      W.el("thead", {}, W.el("tr", {}, ["Release", "Phase", "Started", "Author", "Canary", "Baseline"].map((h) => W.el("th", {}, h)))),
      W.el("tbody", {}, list.map((d) => W.el("tr", { class: "click" + (d.release === sel ? " sel" : ""), onclick: () => W.go("deploys", [d.release]) },
        W.el("td", {}, d.release), W.el("td", {}, W.el("span", { class: "badge" }, d.phase || "")), W.el("td", {}, W.fmtTime(Date.parse(d.start))),
        W.el("td", {}, d.author || ""), W.el("td", { class: "mono" }, d.canary || ""), W.el("td", { class: "mono" }, d.baseline || "")))))));

    const box = W.el("div", { id: "guard-verdict" });
    root.append(W.el("h2", {}, `Guard verdict: ${sel}`), box);
    const charts = [];
    try {
      // /guard answers 409 (roll back) and 503 (wait) with a verdict too.
      const v = await W.api("/guard?" + W.qs({ release: sel }), { accept: [409, 503] });
      renderVerdict(box, v);
      const d = list.find((x) => x.release === sel);
      if (d) renderGraphs(root, d, v.metrics || [], charts);
    } catch (e) {
      box.append(W.el("div", { class: W.notAvailable(e) ? "muted" : "error" }, W.notAvailable(e) ? "No verdict available for this release." : e.message));
    }
    return () => charts.forEach((c) => c.destroy());
  };

  // The phases after which a deploy's window is over.
  const final = { done: true, rolled_back: true };

  // deployRange is the graphs' range: from a little before the deploy (a quarter of its
  // age, at least a minute, so the sides before it show) to its end, or to now while it
  // runs.
  function deployRange(d) {
    const start = Date.parse(d.start);
    const hist = d.history || [];
    const end = final[d.phase] && hist.length ? Date.parse(hist[hist.length - 1].at) : null;
    const pad = Math.max(60e3, ((end || Date.now()) - start) / 4);
    if (end && end > start) return { start: start - pad, end: end + Math.min(pad, 5 * 60e3) };
    return { length: Date.now() - start + pad };
  }

  // renderGraphs draws, per watched metric, its canary and baseline as two lines.
  function renderGraphs(root, d, metrics, charts) {
    const watched = metrics.filter((m) => m.canary_query);
    if (!watched.length) return;
    const grid = W.el("div", { class: "grid", id: "deploy-graphs" });
    root.append(W.el("h2", {}, "Canary against baseline"), grid);
    const range = deployRange(d);
    for (const m of watched) {
      const el = W.el("div", { class: "deploy-chart", "data-metric": m.name });
      const queries = [{ expr: m.canary_query, label: m.compare === "canary_vs_baseline" || !m.compare ? "canary" : "after" }];
      if (m.baseline_query) queries.push({ expr: m.baseline_query, label: m.compare === "canary_vs_baseline" || !m.compare ? "baseline" : "before" });
      grid.append(W.el("div", { class: "panel" },
        W.el("h3", { title: queries.map((q) => `${q.label}: ${q.expr}`).join("\n") }, m.name, " ",
          W.el("span", { class: "badge " + (m.verdict === "pass" ? "good" : m.verdict === "fail" ? "bad" : "") }, m.verdict || "")),
        el));
      const c = new W.Chart(el, { queries, range, height: 220 });
      charts.push(c);
      c.load();
    }
  }

  const num = (v) => (typeof v === "number" ? W.fmtVal(v) : v === undefined || v === null ? "–" : String(v));

  function renderVerdict(box, v) {
    const good = v.decision === "promote";
    const metrics = v.metrics || [];
    const rows = metrics.length ? metrics.map((m) => W.el("tr", {},
      W.el("td", {}, m.name, m.critical ? W.el("span", { class: "badge bad" }, "critical") : null),
      W.el("td", {}, W.el("span", { class: "badge " + (m.verdict === "pass" ? "good" : m.verdict === "fail" ? "bad" : "") }, m.verdict || "")),
      W.el("td", { class: "num" }, `${num(m.canary)} (n=${m.canary_n ?? "–"})`),
      W.el("td", { class: "num" }, `${num(m.baseline)} (n=${m.baseline_n ?? "–"})`),
      W.el("td", { class: "num" }, m.effect_name ? `${m.effect_name} ${num(m.effect)} [${num(m.effect_lo)}, ${num(m.effect_hi)}]` : "–"),
      W.el("td", { class: "num" }, num(m.p_value)),
      W.el("td", { class: "muted" }, m.reason || "")))
      : [W.el("tr", {}, W.el("td", { colspan: 7, class: "muted" }, "No watched metric judged yet."))];
    const head = W.el("div", { class: "row" },
      W.el("span", { class: "badge " + (good ? "good" : v.decision === "rollback" ? "bad" : "") }, (v.decision || "?").toUpperCase()),
      W.el("span", {}, `score ${num(v.score)} (pass ${num(v.pass_score)}, marginal ${num(v.marginal_score)})`),
      W.el("span", { class: "muted" }, v.reason || ""),
      v.window ? W.el("span", { class: "muted" }, `window ${v.window}`) : null);
    const table = W.el("div", { class: "panel" }, W.el("table", {},
      W.el("thead", {}, W.el("tr", {}, ["Metric", "Verdict", "Canary", "Baseline", "Effect", "p-value", "Reason"].map((h) => W.el("th", {}, h)))),
      W.el("tbody", {}, rows)));
    box.append(head);
    if (v.srm && v.srm.mismatch) box.append(W.el("div", { class: "warn" }, "Sample ratio mismatch: ", v.srm.reason || ""));
    box.append(table);
  }
})();
