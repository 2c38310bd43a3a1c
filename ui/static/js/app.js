// app.js: the hash router. Each page renders into #view and returns its cleanup
// (charts destroyed, websocket subscriptions dropped) for when the page changes.
"use strict";
(function () {
  let cleanup = null, seq = 0;

  async function render() {
    const route = W.parseHash();
    const page = W.pages[route.page] ? route.page : "explore";
    document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
    if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } }
    cleanup = null;
    const my = ++seq;
    const view = document.getElementById("view");
    const root = W.el("div", { "data-page": page });
    view.replaceChildren(root);
    document.title = `Ward · ${page[0].toUpperCase()}${page.slice(1)}`;
    const c = await W.pages[page](root, route);
    // A page that finished loading after the user moved on cleans up at once.
    if (my !== seq) { if (c) c(); return; }
    cleanup = c;
    root.dataset.ready = "1";
  }
  W.refresh = render;
  window.addEventListener("hashchange", render);
  render();
})();
