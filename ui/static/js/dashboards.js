// dashboards.js: saved sets of graphs (stored by Ward in its own storage), editable in
// the page and exportable as JSON. Ward ships Business and System.
"use strict";
(function () {
  W.pages.dashboards = async function (root, route) {
    const st = W.rangeFrom(route.params);
    const live = route.params.get("live") === "1" && !!st.preset;
    const editing = route.params.get("edit") === "1";
    let charts = [];
    const cleanup = () => charts.forEach((c) => c.destroy());

    root.append(W.el("h1", {}, "Dashboards"));
    let all;
    try {
      all = await W.api("/api/v1/dashboards");
    } catch (e) {
      if (W.notAvailable(e)) W.unavailable(root, "Dashboards");
      else root.append(W.el("div", { class: "error" }, e.message));
      return cleanup;
    }
    const isNew = route.args[0] === "_new";
    let cur = isNew ? { id: "", title: "", panels: [{ title: "", expr: "" }] } : all.find((d) => d.id === route.args[0]) || all[0];
    const nav = (id, extra) => W.go("dashboards", id ? [id] : [], Object.assign(W.rangeParams(st), { live: live ? 1 : "" }, extra));

    const tabs = W.el("div", { class: "row", id: "dash-tabs" },
      all.map((d) => W.el("button", { class: cur && d.id === cur.id ? "on" : "", "data-id": d.id, onclick: () => nav(d.id) }, d.title)),
      W.el("button", { onclick: () => nav("_new", { edit: 1 }) }, "+ New"));
    root.append(tabs);
    if (!cur) return cleanup;

    if (editing || isNew) {
      root.append(editor(cur, isNew, (id) => nav(id)));
      return cleanup;
    }
    root.append(W.el("div", { class: "row" },
      W.rangePicker(st, live, (s, l) => nav(cur.id, Object.assign(W.rangeParams(s), { live: l && s.preset ? 1 : "" }))),
      W.el("button", { id: "dash-edit", onclick: () => nav(cur.id, { edit: 1 }) }, "Edit"),
      W.el("button", { id: "dash-export", onclick: () => exportJSON(cur) }, "Export JSON")));
    const grid = W.el("div", { class: "grid", id: "dash-grid" });
    root.append(grid);
    for (const p of cur.panels) {
      const el = W.el("div");
      grid.append(W.el("div", { class: "panel" }, W.el("h3", { title: p.expr }, p.title || p.expr), el));
      const c = new W.Chart(el, { expr: p.expr, range: W.toRange(st), live, height: 220 });
      charts.push(c);
      c.load();
    }
    return cleanup;
  };

  function exportJSON(d) {
    const body = JSON.stringify({ id: d.id, title: d.title, panels: d.panels }, null, 2);
    const a = W.el("a", { href: URL.createObjectURL(new Blob([body], { type: "application/json" })), download: `ward-dashboard-${d.id}.json` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // editor edits title and panels, or the whole dashboard as JSON (for imports).
  function editor(d, isNew, done) {
    const box = W.el("div", { class: "panel", id: "dash-editor" });
    const id = W.el("input", { id: "dash-id", value: d.id, placeholder: "id (a-z, 0-9, -)", disabled: !isNew });
    const title = W.el("input", { id: "dash-title", value: d.title, placeholder: "title" });
    const panels = W.el("div");
    const err = W.el("div", { class: "error", hidden: true });
    function panelRow(p) {
      const row = W.el("div", { class: "edit-panel" },
        W.el("input", { class: "p-title", value: p.title || "", placeholder: "panel title" }),
        W.el("input", { class: "p-expr expr", value: p.expr || "", placeholder: "PromQL" }));
      row.append(W.el("button", { class: "danger", onclick: () => row.remove() }, "remove"));
      return row;
    }
    d.panels.forEach((p) => panels.append(panelRow(p)));
    const json = W.el("textarea", { class: "json", hidden: true, "aria-label": "dashboard JSON" });
    const collect = () => {
      if (!json.hidden) return JSON.parse(json.value);
      return {
        title: title.value,
        panels: [...panels.children].map((r) => ({ title: r.querySelector(".p-title").value, expr: r.querySelector(".p-expr").value })).filter((p) => p.expr.trim()),
      };
    };
    async function save() {
      err.hidden = true;
      try {
        const body = collect();
        const saved = await W.api(`/api/v1/dashboards/${encodeURIComponent(id.value.trim())}`, { method: "PUT", json: body });
        done(saved.id);
      } catch (e) {
        err.textContent = e.message;
        err.hidden = false;
      }
    }
    async function del() {
      if (!confirm(d.builtin ? "Restore the shipped dashboard?" : `Delete ${d.title}?`)) return;
      try {
        await W.api(`/api/v1/dashboards/${encodeURIComponent(d.id)}`, { method: "DELETE" });
        done("");
      } catch (e) { err.textContent = e.message; err.hidden = false; }
    }
    box.append(W.el("div", { class: "row" }, id, W.el("div", { class: "grow" }, title)), panels,
      W.el("div", { class: "row" },
        W.el("button", { onclick: () => panels.append(panelRow({})) }, "+ Panel"),
        W.el("button", { onclick: () => { json.hidden = !json.hidden; if (!json.hidden) json.value = JSON.stringify(Object.assign({ title: title.value }, collect()), null, 2); } }, "Edit as JSON"),
        W.el("button", { class: "primary", id: "dash-save", onclick: save }, "Save"),
        W.el("button", { onclick: () => done(d.id) }, "Cancel"),
        isNew ? null : W.el("button", { class: "danger", onclick: del }, d.builtin ? "Restore shipped" : "Delete")),
      json, err);
    return box;
  }
})();
