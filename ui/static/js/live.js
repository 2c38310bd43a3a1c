// live.js: one websocket to /api/v1/stream shared by every graph on the page.
// Graphs subscribe to PromQL expressions; the alert board listens for checks.
// On a lost connection it reconnects with exponential backoff and subscribes again.
"use strict";
(function () {
  const subs = new Map(); // expr -> Set of callbacks(msg)
  const checkListeners = new Set();
  let ws = null, backoff = 500, timer = null, open = false;
  const status = () => document.getElementById("live-status");

  function setStatus(on, text) {
    const s = status();
    if (!s) return;
    s.textContent = text;
    s.classList.toggle("on", on);
  }

  function send(m) {
    if (ws && open) ws.send(JSON.stringify(m));
  }

  function wanted() {
    return subs.size > 0 || checkListeners.size > 0;
  }

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (ws || !wanted()) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/api/v1/stream`);
    ws = sock;
    sock.onopen = () => {
      open = true;
      backoff = 500;
      setStatus(true, "live");
      for (const expr of subs.keys()) send({ op: "subscribe", expr });
      if (checkListeners.size) send({ op: "checks" });
    };
    sock.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "checks") {
        for (const f of checkListeners) f(m.checks);
      } else if ((m.type === "points" || m.type === "error") && subs.has(m.expr)) {
        for (const f of subs.get(m.expr)) f(m);
      }
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      open = false;
      if (!wanted()) { setStatus(false, "offline"); return; }
      // Exponential backoff with jitter, so a restarted Ward is not hit by every
      // wall display at the same instant.
      const wait = backoff * (0.75 + Math.random() / 2);
      backoff = Math.min(backoff * 2, 30000);
      setStatus(false, `reconnecting in ${Math.round(wait / 1000)}s`);
      timer = setTimeout(connect, wait);
    };
    sock.onerror = () => {}; // onclose follows and schedules the retry
  }

  function maybeClose() {
    if (!wanted() && ws) {
      const s = ws;
      ws = null;
      open = false;
      s.close();
      setStatus(false, "offline");
    }
  }

  W.live = {
    // subscribe calls f with every pushed message for expr; it returns the unsubscribe.
    subscribe(expr, f) {
      let set = subs.get(expr);
      if (!set) {
        set = new Set();
        subs.set(expr, set);
        send({ op: "subscribe", expr });
      }
      set.add(f);
      connect();
      return () => {
        set.delete(f);
        if (set.size === 0 && subs.get(expr) === set) {
          subs.delete(expr);
          send({ op: "unsubscribe", expr });
        }
        maybeClose();
      };
    },
    onChecks(f) {
      checkListeners.add(f);
      if (checkListeners.size === 1) send({ op: "checks" });
      connect();
      return () => { checkListeners.delete(f); maybeClose(); };
    },
    connected: () => open,
  };
})();
