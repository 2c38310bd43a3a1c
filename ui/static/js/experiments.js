// experiments.js: the admin table (rollout, mode, status, what each state means for
// users, controls to change them, as IMVU's admin page) and a results page per
// experiment with conversion over time.
"use strict";
(function () {
  // explain says what the state means for a user, in words.
  function explain(e) {
    if (e.status === "closed") return `Closed: everyone gets ${e.winner || "the winner"}; nothing is recorded.`;
    const now = Date.now();
    if (e.start && Date.parse(e.start) > now) return "Scheduled: everyone gets control until it starts.";
    if (e.end && Date.parse(e.end) < now) return "Ended: everyone gets control; nothing is recorded.";
    if (e.mode === "qa") return "QA only: users with role qa or admin are randomised; everyone else gets control.";
    if (!e.rollout) return "Open at 0%: everyone gets control; nothing is recorded.";
    return `Running: ${e.rollout}% of users are randomised across ${(e.branches || []).map((b) => `${b.name} (${b.weight})`).join(", ")}; the rest get control and are not recorded.`;
  }

  W.pages.experiments = async function (root, route) {
    if (route.args[0]) return results(root, route.args[0]);
    root.append(W.el("h1", {}, "Experiments"));
    let data;
    try {
      data = await W.api("/api/v1/experiments");
    } catch (e) {
      if (W.notAvailable(e)) W.unavailable(root, "Experiments");
      else root.append(W.el("div", { class: "error" }, e.message));
      return () => {};
    }
    const list = (data && data.experiments) || [];
    const err = W.el("div", { class: "error", id: "exp-error", hidden: true });
    const patch = async (name, body) => {
      err.hidden = true;
      try {
        await W.api(`/api/v1/experiments/${encodeURIComponent(name)}`, { method: "PATCH", json: body });
        W.refresh();
      } catch (e) { err.textContent = `${name}: ${e.message}`; err.hidden = false; }
    };
    const rows = list.map((e) => {
      const rollout = W.el("input", { type: "number", min: 0, max: 100, step: "any", value: e.rollout, class: "rollout", style: "width:6em", "aria-label": "rollout percent" });
      const mode = W.el("select", { class: "mode" }, ["all", "qa"].map((m) => W.el("option", { value: m, selected: e.mode === m }, m === "all" ? "everyone" : "QA only")));
      const winner = W.el("select", { class: "winner" }, (e.branches || []).map((b) => W.el("option", { value: b.name, selected: e.winner === b.name }, b.name)));
      return W.el("tr", { "data-experiment": e.name },
        W.el("td", {}, W.el("a", { href: `#/experiments/${encodeURIComponent(e.name)}` }, e.name), W.el("div", { class: "muted" }, e.description || "")),
        W.el("td", {}, rollout, "% ", W.el("button", { class: "set-rollout", onclick: () => patch(e.name, { rollout: parseFloat(rollout.value) }) }, "Set")),
        W.el("td", {}, mode, " ", W.el("button", { onclick: () => patch(e.name, { mode: mode.value }) }, "Set")),
        W.el("td", {}, W.el("span", { class: "badge " + (e.status === "closed" ? "" : "good") }, e.status || "open"),
          e.status === "closed"
            ? W.el("button", { onclick: () => patch(e.name, { status: "open" }) }, "Reopen")
            : W.el("span", {}, " ", winner, " ", W.el("button", { onclick: () => patch(e.name, { status: "closed", winner: winner.value }) }, "Close on"))),
        W.el("td", { class: "explain" }, explain(e)));
    });
    root.append(err, W.el("div", { class: "panel" }, W.el("table", { id: "experiments" },
      W.el("thead", {}, W.el("tr", {}, ["Experiment", "Rollout", "Who", "Status", "What users get"].map((h) => W.el("th", {}, h)))),
      W.el("tbody", {}, rows.length ? rows : W.el("tr", {}, W.el("td", { colspan: 5, class: "muted" }, "No experiments yet."))))));
    return () => {};
  };

  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(2) + "%");
  const num = (v) => (v === null || v === undefined ? "–" : W.fmtVal(v));
  const pval = (v) => (v === null || v === undefined ? "–" : v < 1e-4 ? v.toExponential(1) : v.toFixed(4));

  async function results(root, name) {
    root.append(W.el("h1", {}, W.el("a", { href: "#/experiments" }, "Experiments"), " / ", name));
    let r;
    try {
      r = await W.api(`/api/v1/experiments/${encodeURIComponent(name)}/results`);
    } catch (e) {
      root.append(W.el("div", { class: W.notAvailable(e) ? "muted" : "error" }, W.notAvailable(e) ? "Results not available." : e.message));
      return () => {};
    }
    root.append(W.el("div", { class: "row" }, W.el("span", { class: "badge" }, r.status), `${r.users} users, confidence ${r.confidence}, correction ${r.correction}${r.sequential ? ", sequential" : ""}`));
    for (const w of r.warnings || []) root.append(W.el("div", { class: "warn" }, "⚠ " + w));
    if (r.srm && r.srm.mismatch) root.append(W.el("div", { class: "warn", id: "srm-warning" }, `Sample ratio mismatch (p=${pval(r.srm.p_value)}): assignment or logging is broken; no comparison can be trusted.`));
    root.append(W.el("h2", {}, "Branches"), W.el("div", { class: "panel" }, W.el("table", {},
      W.el("thead", {}, W.el("tr", {}, ["Branch", "Weight", "Users", "Share", "Expected"].map((h) => W.el("th", {}, h)))),
      W.el("tbody", {}, (r.branches || []).map((b) => W.el("tr", {}, W.el("td", {}, b.name), W.el("td", { class: "num" }, b.weight),
        W.el("td", { class: "num" }, b.users), W.el("td", { class: "num" }, pct(b.share)), W.el("td", { class: "num" }, pct(b.expected_share))))))));
    const charts = [];
    for (const m of r.metrics || []) {
      root.append(W.el("h2", {}, `${m.metric} (${m.kind})`), W.el("div", { class: "panel" }, W.el("table", {},
        W.el("thead", {}, W.el("tr", {}, ["Branch", "Users", "Conversion", "Mean", "Lift", "p-value", "Significant"].map((h) => W.el("th", {}, h)))),
        W.el("tbody", {}, (m.branches || []).map((b) => {
          const c = b.vs_control;
          return W.el("tr", {}, W.el("td", {}, b.branch), W.el("td", { class: "num" }, b.users), W.el("td", { class: "num" }, pct(b.conversion_rate)),
            W.el("td", { class: "num" }, num(b.mean)), W.el("td", { class: "num" }, c ? pct(c.relative_lift) : "control"),
            W.el("td", { class: "num" }, c ? pval(c.adjusted_p_value ?? c.p_value) : "–"),
            W.el("td", {}, c ? W.el("span", { class: "badge " + (c.significant ? (c.direction === "increase" ? "good" : "bad") : "") }, c.significant ? c.direction : "no") : ""));
        })))));
      const el = W.el("div");
      root.append(W.el("div", { class: "panel" }, W.el("h3", {}, "Conversion over time"), el));
      const sel = `experiment="${name.replace(/"/g, '\\"')}"`;
      const c = new W.Chart(el, {
        expr: `sum by (branch) (ward_experiment_conversions_total{${sel},metric="${m.metric.replace(/"/g, '\\"')}"}) / sum by (branch) (ward_experiment_exposures_total{${sel}})`,
        range: { length: W.presets["7d"] }, height: 220,
      });
      charts.push(c);
      c.load();
    }
    return () => charts.forEach((c) => c.destroy());
  }
})();
