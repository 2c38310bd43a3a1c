// range.js: the time range picker (presets, custom range, live toggle) shared by pages.
"use strict";
(function () {
  const presets = { "15m": 900e3, "1h": 3600e3, "6h": 6 * 3600e3, "1d": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3, "1y": 365 * 86400e3 };
  W.presets = presets;

  // rangeFrom reads a range from URL parameters: range=1h, or start/end in ms.
  W.rangeFrom = function (params) {
    const s = +params.get("start"), e = +params.get("end");
    if (s && e && e > s) return { start: s, end: e };
    const p = params.get("range");
    return { preset: presets[p] ? p : "1h" };
  };

  // toRange turns picker state into what a Chart takes.
  W.toRange = (st) => (st.preset ? { length: presets[st.preset] } : { start: st.start, end: st.end });

  W.rangeParams = (st) => (st.preset ? { range: st.preset } : { start: st.start, end: st.end });

  function localInput(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
    return d.toISOString().slice(0, 16);
  }

  // rangePicker renders the controls; onChange gets the new state {preset} or {start, end}, and live.
  W.rangePicker = function (st, live, onChange) {
    const box = W.el("div", { class: "row presets" });
    for (const p of Object.keys(presets)) {
      box.append(W.el("button", { class: st.preset === p ? "on" : "", "data-preset": p, onclick: () => onChange({ preset: p }, live) }, p));
    }
    const now = Date.now();
    const from = W.el("input", { type: "datetime-local", value: localInput(st.start || now - 3600e3), "aria-label": "from" });
    const to = W.el("input", { type: "datetime-local", value: localInput(st.end || now), "aria-label": "to" });
    box.append(W.el("span", { class: "muted" }, "or"), from, to,
      W.el("button", { onclick: () => {
        const s = new Date(from.value).getTime(), e = new Date(to.value).getTime();
        if (s && e && e > s) onChange({ start: s, end: e }, false);
      } }, "Apply"));
    if (live !== null) {
      const cb = W.el("input", { type: "checkbox", id: "live", checked: live && !!st.preset, disabled: !st.preset });
      cb.addEventListener("change", () => onChange(st, cb.checked));
      box.append(W.el("label", { for: "live", title: "Follow new points as they are stored" }, cb, " live"));
    }
    return box;
  };
})();
