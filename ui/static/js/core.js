// core.js: the W namespace, DOM and API helpers shared by every page.
"use strict";
(function () {
  const W = (window.W = { pages: {}, charts: [] });

  // el builds an element: el("div", {class: "x", onclick: f}, child, "text").
  W.el = function (tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  };

  // APIError carries the HTTP status so pages can tell "not available" (404) apart.
  class APIError extends Error {
    constructor(status, message, type) {
      super(message);
      this.status = status;
      this.type = type;
    }
  }
  W.APIError = APIError;

  // api calls Ward's JSON API and returns the envelope's data.
  W.api = async function (path, opts) {
    const o = Object.assign({}, opts);
    // accept lists error statuses whose body is an answer, as /guard's 409 and 503.
    const accept = o.accept || [];
    delete o.accept;
    delete o.retried;
    if (o.json !== undefined) {
      o.body = JSON.stringify(o.json);
      o.headers = Object.assign({ "Content-Type": "application/json" }, o.headers);
      delete o.json;
    }
    const tok = localStorage.getItem("ward.token");
    if (tok) o.headers = Object.assign({ Authorization: "Bearer " + tok }, o.headers);
    let resp;
    try {
      resp = await fetch(path, o);
    } catch (e) {
      throw new APIError(0, "cannot reach Ward: " + e.message);
    }
    let body = null;
    const text = await resp.text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (resp.status === 401 && !opts?.retried) {
      // Writes (and reads, with --auth-reads) need the bearer token: ask once, keep it.
      const t = window.prompt("This Ward needs an API token:");
      if (t) {
        localStorage.setItem("ward.token", t.trim());
        return W.api(path, Object.assign({}, opts, { retried: true }));
      }
    }
    if (accept.includes(resp.status) && body) return body;
    if (!resp.ok || (body && body.status === "error")) {
      const msg = (body && body.error) || text.trim() || resp.statusText;
      throw new APIError(resp.status, msg, body && body.errorType);
    }
    return body && "data" in body ? body.data : body;
  };

  W.notAvailable = (e) => e instanceof APIError && e.status === 404 && e.type !== "bad_data";

  W.unavailable = function (root, what) {
    root.append(W.el("div", { class: "panel muted", "data-unavailable": what },
      `${what} not available: this Ward has no ${what.toLowerCase()} API yet.`));
  };

  W.qs = function (params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
    return u.toString();
  };

  W.fmtVal = function (v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
    return (+v.toFixed(4)).toLocaleString("en-US", { maximumFractionDigits: 4 });
  };

  W.fmtTime = function (ms) {
    if (!ms) return "–";
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  };

  W.fmtDur = function (s) {
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return `${d}d ${h}h ${m}m`;
    if (h) return `${h}h ${m}m ${s % 60}s`;
    if (m) return `${m}m ${s % 60}s`;
    return `${s}s`;
  };

  // seriesName renders a label set the way PromQL writes it.
  W.seriesName = function (metric) {
    const name = metric.__name__ || "";
    const rest = Object.keys(metric).filter((k) => k !== "__name__").sort()
      .map((k) => `${k}="${metric[k]}"`).join(", ");
    if (!rest) return name || "{}";
    return `${name}{${rest}}`;
  };

  W.parseHash = function () {
    const h = location.hash.replace(/^#\/?/, "");
    const [path, query] = h.split("?");
    const parts = path.split("/").filter(Boolean);
    return { page: parts[0] || "explore", args: parts.slice(1).map(decodeURIComponent), params: new URLSearchParams(query || "") };
  };

  W.go = function (page, args, params) {
    const p = [page].concat((args || []).map(encodeURIComponent)).join("/");
    const q = params ? W.qs(params) : "";
    location.hash = "#/" + p + (q ? "?" + q : "");
  };

  // Deploy markers for graphs, from /api/v1/annotations when deploys exist.
  let annotationsMissing = false;
  W.annotations = async function (startMs, endMs) {
    if (annotationsMissing) return [];
    try {
      const d = await W.api("/api/v1/annotations?" + W.qs({ start: Math.floor(startMs / 1000), end: Math.ceil(endMs / 1000) }));
      return (Array.isArray(d) ? d : []).map((a) => ({
        t: a.time > 1e11 ? a.time : a.time * 1000,
        text: a.title || a.release || a.text || "deploy",
        phase: a.phase,
      }));
    } catch (e) {
      if (W.notAvailable(e)) annotationsMissing = true;
      return [];
    }
  };
})();
