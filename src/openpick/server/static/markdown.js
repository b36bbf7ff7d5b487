// One way to show a model's answer, shared by the chat and both arena panels: while it
// streams, plain text (textContent); once done, the server's sanitized markdown (markdown-it
// without raw HTML, then nh3) rebuilt through common.js's allow-list walker, with a copy
// button on each code block. Model text never reaches innerHTML.
"use strict";

const MD = (() => {
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* below */ }
    }
    const area = document.createElement("textarea");  // older browsers, plain http
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  // A button that copies getText() and says so for a moment.
  function copyButton(getText, label, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls || "copy";
    b.textContent = label;
    b.addEventListener("click", async () => {
      const ok = await copyText(getText());
      b.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { b.textContent = label; }, 1500);
    });
    return b;
  }

  // Copy buttons on the code blocks of a rendered answer (once per block).
  function decorate(el) {
    for (const pre of el.querySelectorAll("pre")) {
      if (pre.parentElement.classList.contains("code-block")) continue;
      const box = document.createElement("div");
      box.className = "code-block";
      pre.replaceWith(box);
      box.append(copyButton(() => pre.textContent, "Copy code", "copy copy-code"), pre);
    }
  }

  function streaming(el, text) {
    el.classList.remove("md");
    el.classList.add("content", "answer", "plain");
    el.textContent = text;
  }

  function final(el, html) {
    el.classList.remove("plain");
    el.classList.add("content", "answer", "md");
    OP.setMarkdown(el, html);
    decorate(el);
  }

  for (const el of document.querySelectorAll(".content.md")) decorate(el);
  return {streaming, final, decorate, copyButton, copyText};
})();
