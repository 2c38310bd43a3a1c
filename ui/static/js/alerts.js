// alerts.js: the alert board, like Nagios' service status page. One row per check with
// its coloured state, duration in state, last check and info; filters by state; a
// click opens the check's graph around its last transition. Pushed over the websocket.
"use strict";
(function () {
  const states = ["CRITICAL", "WARNING", "UNKNOWN", "PENDING", "OK"];
  const order = Object.fromEntries(states.map((s, i) => [s, i]));

  W.pages.alerts = async function (root, route) {
    const shown = new Set((route.params.get("states") || states.join(",")).split(",").filter((s) => order[s] !== undefined));
    let rows = [];
    const counts = W.el("div", { class: "row filters", id: "alert-filters" });
    const body = W.el("tbody");
    const stamp = W.el("span", { class: "muted", id: "alerts-updated" });
    root.append(W.el("h1", {}, "Alerts"), counts,
      W.el("div", { class: "panel" }, W.el("table", { id: "alert-board" },
        W.el("thead", {}, W.el("tr", {}, ["Status", "Check", "Duration", "Last check", "Value", "Info"].map((h) => W.el("th", {}, h)))),
        body)), stamp);

    function render() {
      const n = Object.fromEntries(states.map((s) => [s, 0]));
      rows.forEach((r) => { n[r.status] = (n[r.status] || 0) + 1; });
      counts.replaceChildren(...states.map((s) => {
        const cb = W.el("input", { type: "checkbox", "data-state": s, checked: shown.has(s) });
        cb.addEventListener("change", () => { cb.checked ? shown.add(s) : shown.delete(s); render(); });
        return W.el("label", {}, cb, " ", W.el("span", { class: `status s-${s}` }, `${s} ${n[s]}`));
      }));
      const vis = rows.filter((r) => shown.has(r.status))
        .sort((a, b) => (order[a.status] ?? 9) - (order[b.status] ?? 9) || a.name.localeCompare(b.name));
      body.replaceChildren(...vis.map((r) => W.el("tr", { class: "click", "data-check": r.name, "data-status": r.status, onclick: () => open(r) },
        W.el("td", {}, W.el("span", { class: `status s-${r.status}` }, r.status), r.flapping ? W.el("span", { class: "warn", title: `flapping ${Math.round(r.flapPercent)}%` }, " ⚑") : null),
        W.el("td", {}, r.name, r.group ? W.el("div", { class: "muted" }, r.group) : null),
        W.el("td", {}, r.duration || W.fmtDur(r.durationSeconds || 0)),
        W.el("td", {}, r.lastCheck ? W.fmtTime(Date.parse(r.lastCheck)) : "–"),
        W.el("td", { class: "num" }, r.value || "–"),
        W.el("td", {}, r.info || ""))));
      if (!vis.length) body.append(W.el("tr", {}, W.el("td", { colspan: 6, class: "muted" }, rows.length ? "No check in the selected states." : "No checks: load rule files with --rules.")));
      stamp.textContent = `updated ${W.fmtTime(Date.now())}`;
    }

    // open shows the check's rule from an hour before its last transition to now.
    function open(r) {
      const now = Date.now();
      const since = r.since ? Date.parse(r.since) : now - (r.durationSeconds || 0) * 1000;
      const start = Math.min(since - 3600e3, now - 900e3);
      W.go("explore", [], { expr: r.rule, start: Math.round(start), end: now });
    }

    const update = (list) => { rows = Array.isArray(list) ? list : []; render(); };
    try {
      update(await W.api("/api/v1/checks"));
    } catch (e) {
      if (W.notAvailable(e)) { W.unavailable(root, "Alerts"); return () => {}; }
      root.append(W.el("div", { class: "error" }, e.message));
    }
    return W.live.onChecks(update);
  };
})();
