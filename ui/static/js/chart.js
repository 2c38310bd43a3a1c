// chart.js: a graph of one PromQL expression (or of several labelled ones, such as a
// canary against its baseline) over a time range, drawn with uPlot: legend, tooltips,
// deploy markers, and live mode fed by the websocket.
"use strict";
(function () {
  const palette = ["#5aa9ff", "#2fb36b", "#e0a106", "#e5484d", "#a06cd5", "#35c2c1", "#f28c28",
    "#d16ba5", "#9bbf3c", "#7f8cff", "#c9a27a", "#4bd4ff"];
  const maxSeries = 50;

  function seriesKey(metric) {
    return JSON.stringify(Object.keys(metric).sort().map((k) => [k, metric[k]]));
  }

  // tooltipPlugin shows the values under the cursor next to it.
  function tooltipPlugin(chart) {
    const tip = document.getElementById("tooltip");
    return {
      hooks: {
        setCursor: (u) => {
          const i = u.cursor.idx;
          if (i === null || i === undefined || u.cursor.left < 0) { tip.hidden = true; return; }
          const rows = [];
          for (let s = 1; s < u.series.length; s++) {
            const v = u.data[s][i];
            if (v !== null && v !== undefined && u.series[s].show) rows.push([v, s]);
          }
          rows.sort((a, b) => b[0] - a[0]);
          tip.replaceChildren(W.el("div", { class: "muted" }, W.fmtTime(u.data[0][i] * 1000)),
            ...rows.slice(0, 12).map(([v, s]) => W.el("div", {},
              W.el("span", { class: "sw", style: `background:${u.series[s].stroke()}` }),
              `${W.fmtVal(v)}  ${chart.names[s - 1]}`)));
          const r = u.over.getBoundingClientRect();
          tip.style.left = Math.min(r.left + u.cursor.left + 14, window.innerWidth - 320) + "px";
          tip.style.top = r.top + u.cursor.top + 14 + "px";
          tip.hidden = rows.length === 0;
        },
      },
    };
  }

  // markersPlugin draws deploys as vertical lines.
  function markersPlugin(chart) {
    return {
      hooks: {
        draw: (u) => {
          if (!chart.markers.length) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue("--deploy") || "#f28c28";
          ctx.fillStyle = ctx.strokeStyle;
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          for (const m of chart.markers) {
            const x = u.valToPos(m.t / 1000, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillText(m.text, x + 3 * devicePixelRatio, u.bbox.top + 11 * devicePixelRatio);
          }
          ctx.restore();
        },
      },
    };
  }

  class Chart {
    // opts: {expr, range: {start, end, length} in ms (end null = the last length ms
    // up to now), live, height, onError}. Instead of expr, queries: [{expr, label}]
    // draws several expressions in one graph, each series named by its query's label
    // (live mode follows a single expr only).
    constructor(el, opts) {
      this.el = el;
      this.opts = opts;
      this.names = [];
      this.keys = new Map(); // series key -> index
      this.xs = [];
      this.ys = [];
      this.markers = [];
      this.u = null;
      this.unsub = null;
      el.classList.add("chart");
      el.dataset.expr = opts.expr || (opts.queries || []).map((q) => q.expr).join("\n");
      this.ro = new ResizeObserver(() => this.u && this.u.setSize(this.size()));
      this.ro.observe(el);
      W.charts.push(this);
    }

    size() {
      return { width: Math.max(200, this.el.clientWidth), height: this.opts.height || 260 };
    }

    // load fetches the range and draws it; in live mode it then follows the stream.
    async load() {
      const r = this.opts.range;
      const end = r.end || Date.now();
      const start = r.end ? r.start : end - r.length;
      const step = Math.max(1, Math.round((end - start) / 1000 / 300)); // ~300 points
      this.window = end - start;
      // The exact range asked for, so a caller (or a test) can ask the API the same.
      this.asked = { start: start / 1000, end: end / 1000, step };
      this.el.dataset.state = "loading";
      try {
        const [d, marks] = await Promise.all([
          this.fetch(start / 1000, end / 1000, step),
          W.annotations(start, end),
        ]);
        this.markers = marks;
        this.setMatrix(d, start / 1000, end / 1000);
        this.el.dataset.state = "ok";
      } catch (e) {
        this.el.dataset.state = "error";
        this.fail(e);
        return;
      }
      if (this.opts.live && !r.end && this.opts.expr) this.follow();
    }

    // fetch runs the range query, or each labelled query, into one matrix whose series
    // carry their display name: the label alone when its query gave one series.
    async fetch(startS, endS, step) {
      const get = (expr) => W.api("/api/v1/query_range?" + W.qs({ query: expr, start: startS, end: endS, step }));
      if (!this.opts.queries) return get(this.opts.expr);
      const parts = await Promise.all(this.opts.queries.map((q) => get(q.expr)));
      const result = [];
      parts.forEach((d, i) => {
        const label = this.opts.queries[i].label;
        const rs = d.resultType === "matrix" ? d.result || [] : [];
        for (const s of rs) result.push({ metric: s.metric, values: s.values, name: rs.length === 1 ? label : `${label} ${W.seriesName(s.metric)}` });
      });
      return { resultType: "matrix", result };
    }

    fail(e) {
      if (this.opts.onError) this.opts.onError(e);
      else this.el.replaceChildren(W.el("div", { class: "error" }, e.message));
    }

    setMatrix(d, startS, endS) {
      this.keys.clear();
      this.names = [];
      let result = d.result;
      if (d.resultType === "scalar") result = [{ metric: {}, values: [d.result] }];
      if (d.resultType === "vector") result = d.result.map((s) => ({ metric: s.metric, values: [s.value] }));
      result = (result || []).slice(0, maxSeries);
      const ts = new Set();
      for (const s of result) for (const [t] of s.values) ts.add(+t);
      this.xs = [...ts].sort((a, b) => a - b);
      const at = new Map(this.xs.map((t, i) => [t, i]));
      this.ys = result.map((s, i) => {
        this.keys.set(s.name || seriesKey(s.metric), i);
        this.names.push(s.name || W.seriesName(s.metric));
        const col = new Array(this.xs.length).fill(null);
        for (const [t, v] of s.values) col[at.get(+t)] = parseFloat(v);
        return col;
      });
      this.scale = { min: startS, max: endS };
      this.draw(true);
    }

    // draw renders the data; rebuild when the set of series changed.
    draw(rebuild) {
      this.el.dataset.points = String(this.xs.length);
      this.el.dataset.series = String(this.ys.length);
      this.el.dataset.last = JSON.stringify(this.ys.map((c) => c[c.length - 1]));
      if (this.ys.length === 0) {
        if (this.u) { this.u.destroy(); this.u = null; }
        this.el.replaceChildren(W.el("div", { class: "empty" }, "no data"));
        return;
      }
      const data = [this.xs, ...this.ys];
      if (this.u && !rebuild) {
        this.u.setData(data, !this.opts.live);
        if (this.opts.live) this.u.setScale("x", { min: this.xs[this.xs.length - 1] - this.window / 1000, max: this.xs[this.xs.length - 1] });
        return;
      }
      if (this.u) this.u.destroy();
      this.el.replaceChildren();
      const axis = { stroke: "#8a94a6", grid: { stroke: "#2a313c", width: 1 }, ticks: { stroke: "#2a313c" } };
      const opts = Object.assign(this.size(), {
        scales: { x: { time: true, range: (u, min, max) => this.opts.live ? [min, max] : [this.scale.min, this.scale.max] } },
        axes: [axis, Object.assign({ size: 60, values: (u, vs) => vs.map(W.fmtVal) }, axis)],
        series: [{ value: (u, v) => (v === null ? "–" : W.fmtTime(v * 1000)) }].concat(this.names.map((n, i) => ({
          label: n, stroke: palette[i % palette.length], width: 1.5, spanGaps: false,
          value: (u, v) => W.fmtVal(v),
        }))),
        legend: { live: true },
        cursor: { points: { size: 6 } },
        plugins: [tooltipPlugin(this), markersPlugin(this)],
      });
      this.u = new uPlot(opts, data, this.el);
    }

    // follow appends the points the server pushes after each flush.
    follow() {
      if (this.unsub) return;
      this.unsub = W.live.subscribe(this.opts.expr, (m) => {
        if (m.type === "error") { this.fail(new Error(m.error)); return; }
        this.append(m);
      });
    }

    append(m) {
      const x = m.t / 1000;
      if (this.xs.length && x <= this.xs[this.xs.length - 1]) return;
      let rebuild = false;
      this.xs.push(x);
      for (const c of this.ys) c.push(null);
      for (const s of m.series) {
        const k = seriesKey(s.metric);
        let i = this.keys.get(k);
        if (i === undefined) {
          if (this.ys.length >= maxSeries) continue;
          i = this.ys.length;
          this.keys.set(k, i);
          this.names.push(W.seriesName(s.metric));
          this.ys.push(new Array(this.xs.length).fill(null));
          rebuild = true;
        }
        this.ys[i][this.xs.length - 1] = parseFloat(s.v);
      }
      // Keep the window: drop what scrolled out of it.
      const cut = x - this.window / 1000;
      let n = 0;
      while (n < this.xs.length && this.xs[n] < cut) n++;
      if (n) { this.xs.splice(0, n); for (const c of this.ys) c.splice(0, n); }
      this.draw(rebuild || !this.u);
    }

    destroy() {
      if (this.unsub) this.unsub();
      this.unsub = null;
      this.ro.disconnect();
      if (this.u) this.u.destroy();
      this.u = null;
      W.charts = W.charts.filter((c) => c !== this);
    }
  }
  W.Chart = Chart;
})();
