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
