// Shared helpers. Model output is untrusted: it is only ever put on the page with
// textContent, or (for rendered markdown, already sanitized by the server) rebuilt
// node by node through an allow-list. innerHTML is never used with anything a model wrote.
"use strict";

const OP = (() => {
  const TAGS = new Set(["p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol",
    "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td",
    "del", "s"]);
  const DROP = new Set(["script", "style", "iframe", "object", "embed", "template", "noscript"]);

  function safeHref(value) {
    try {
      const u = new URL(value, window.location.href);
      return ["http:", "https:", "mailto:"].includes(u.protocol) ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function copyChildren(src, dst) {
    for (const n of src.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) {
        dst.appendChild(document.createTextNode(n.nodeValue));
      } else if (n.nodeType === Node.ELEMENT_NODE) {
        const tag = n.tagName.toLowerCase();
        if (DROP.has(tag)) continue;
        if (!TAGS.has(tag)) { copyChildren(n, dst); continue; }
        const el = document.createElement(tag);
        if (tag === "a") {
          const href = safeHref(n.getAttribute("href") || "");
          if (href) { el.href = href; el.rel = "noopener noreferrer nofollow"; el.target = "_blank"; }
          if (n.title) el.title = n.title;
        }
        copyChildren(n, el);
        dst.appendChild(el);
      }
    }
  }

  // Sanitized markdown HTML from the server → DOM, through the allow-list above.
  // DOMParser documents have no browsing context: nothing in them runs or loads.
  function setMarkdown(el, html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    el.replaceChildren();
    copyChildren(doc.body, el);
  }

  async function errorMessage(resp) {
    try {
      const body = await resp.json();
      if (body.error && body.error.message) return body.error.message;
      if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
      if (body.detail) return String(body.detail);
    } catch (e) { /* not JSON */ }
    return resp.status + " " + resp.statusText;
  }

  async function postJSON(url, body) {
    const resp = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)});
    if (!resp.ok) throw new Error(await errorMessage(resp));
    return resp.json();
  }

  // POST and read a text/event-stream response; calls onEvent(name, data) per event.
  async function streamSSE(url, body, onEvent, signal) {
    const resp = await fetch(url, {method: "POST", signal,
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream"},
      body: body === null ? undefined : JSON.stringify(body)});
    if (!resp.ok) throw new Error(await errorMessage(resp));
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += decoder.decode(value, {stream: true});
      let at;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, at);
        buf = buf.slice(at + 2);
        let name = "message", data = "";
        for (const line of chunk.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function timing(done) {
    const t = done.timings || {};
    const n = (done.usage || {}).completion_tokens;
    const parts = [];
    if (n) parts.push(n + " tokens");
    if (t.ttft_s != null) parts.push("first token " + Math.round(t.ttft_s * 1000) + " ms");
    if (t.decode_tok_s) parts.push(t.decode_tok_s.toFixed(1) + " tok/s");
    return parts.join(" · ");
  }

  return {setMarkdown, postJSON, streamSSE, el, timing};
})();

// The comparison basket: model names picked on model pages ("Add to comparison"), kept in
// localStorage and shown as a count on the nav's Compare link, which opens them preselected.
const BASKET = (() => {
  const KEY = "openpick.compare";

  function get() {
    try {
      const v = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
    } catch (e) {
      return [];  // storage off or a bad value: an empty basket
    }
  }

  function set(names) {
    try { localStorage.setItem(KEY, JSON.stringify([...new Set(names)])); } catch (e) { /* off */ }
    show();
  }

  function url(names) {
    const q = new URLSearchParams();
    for (const n of names) q.append("model", n);
    return "/ui/compare" + (names.length ? "?" + q.toString() : "");
  }

  function show() {
    const names = get();
    const link = document.getElementById("nav-compare");
    const count = document.getElementById("basket-count");
    if (!link || !count) return;
    link.href = url(names);
    count.hidden = names.length === 0;
    count.textContent = String(names.length);
    link.title = names.length ? names.length + " model(s) to compare: " + names.join(", ") : "";
  }

  return {get, set, url, show,
    add: (name) => set([...get(), name]),
    remove: (name) => set(get().filter((n) => n !== name))};
})();

// A model page: "Add to comparison" fills the basket (without JS the link opens the compare
// page with this model picked); a second click takes it out again.
function initModelActions() {
  const note = document.getElementById("basket-note");
  for (const a of document.querySelectorAll("a.action-compare")) {
    const name = a.dataset.model;
    const label = () => {
      const inBasket = BASKET.get().includes(name);
      a.textContent = inBasket ? "Remove from comparison" : "Add to comparison";
    };
    label();
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      if (BASKET.get().includes(name)) BASKET.remove(name); else BASKET.add(name);
      label();
      if (note) {
        const n = BASKET.get();
        note.replaceChildren();
        note.append(n.length + " model(s) in the comparison: " + n.join(", ") + ". ");
        const go = OP.el("a", "", "Compare them →");
        go.href = BASKET.url(n);
        go.id = "basket-go";
        note.append(go);
      }
    });
  }
}

// The catalog: filters apply as they change (text boxes after a pause), the results are
// swapped in from the server's own page, and the URL follows (history.replaceState), so a
// filtered view can be shared or reloaded. Without JS the form submits as before.
function initCatalogFilters() {
  const form = document.getElementById("catalog-filters");
  if (!form) return;
  let timer = null, seq = 0;

  function query() {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim() && !(k === "sort" && v === "auto")) q.append(k, String(v).trim());
    return q.toString();
  }

  async function apply() {
    clearTimeout(timer);
    const qs = query(), mine = ++seq;
    const url = "/ui/catalog" + (qs ? "?" + qs : "");
    const table = document.getElementById("catalog-table");
    if (table) table.setAttribute("aria-busy", "true");
    try {
      const resp = await fetch(url, {headers: {"Accept": "text/html"}});
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      if (mine !== seq) return;  // a newer filter is on its way
      for (const id of ["catalog-results"]) {
        const fresh = doc.getElementById(id), old = document.getElementById(id);
        if (fresh && old) old.replaceWith(document.adoptNode(fresh));
      }
      focusableScrollers();
      history.replaceState(null, "", url);
    } catch (e) {
      form.submit();  // the server is the fallback
    }
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); apply(); });
  form.addEventListener("change", (ev) => { if (ev.target.matches("select")) apply(); });
  form.addEventListener("input", (ev) => {
    if (!ev.target.matches("input")) return;
    clearTimeout(timer);
    timer = setTimeout(apply, 300);
  });
}

// A box that scrolls sideways (a wide table on a narrow screen) takes keyboard focus, so
// it can be scrolled without a mouse.
function focusableScrollers() {
  for (const box of document.querySelectorAll(".scroll, .rv-scroll, main table")) {
    if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) box.tabIndex = 0;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  BASKET.show();
  focusableScrollers();
  initModelActions();
  initCatalogFilters();
});
