// Chat: streams one answer at a time; the model picker applies to the next message, and
// the server keeps the whole history, so switching models mid-conversation keeps it.
// Each answer: markdown (markdown.js), copy, its tokens and timings (stored with it, so
// they come back after a reload), regenerate on the last one; each question: edit and
// resend. Both replace the turns from that question on (the server drops them once the
// new answer is kept). Keys: Enter sends, Shift+Enter new line, Esc stops.
"use strict";

(() => {
  const root = document.getElementById("chat");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const messages = $("messages"), form = $("composer"), prompt = $("prompt");
  const sendBtn = $("send"), stopBtn = $("stop"), errorBox = $("chat-error");
  const COLOURS = 6;
  let conversation = root.dataset.conversation || null;
  let controller = null;

  function scrollDown() { messages.scrollTop = messages.scrollHeight; }

  function numberOr(id, fallback) {
    const v = $(id).value;
    return v === "" ? fallback : Number(v);
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function busy(on) {
    sendBtn.disabled = on;
    stopBtn.disabled = !on;
    prompt.readOnly = on;
    for (const b of messages.querySelectorAll(".msg-actions button.changes")) b.disabled = on;
  }

  // A colour per model, in the order models first answer in this conversation.
  function colour(name) {
    const seen = [];
    for (const l of messages.querySelectorAll(".msg.assistant .model-label")) {
      const m = l.dataset.model || l.textContent;
      if (!seen.includes(m)) seen.push(m);
    }
    const i = seen.indexOf(name);
    return "model-c" + ((i < 0 ? seen.length : i) % COLOURS);
  }

  // "12 tokens · first token 85 ms · 40.1 tok/s · 0.42 s", from a done event or stored stats.
  function statsLine(s) {
    const t = s.timings || {}, u = s.usage || {};
    const parts = [];
    if (u.completion_tokens != null) parts.push(u.completion_tokens + " tokens");
    if (u.prompt_tokens != null) parts.push(u.prompt_tokens + " prompt tokens");
    if (t.ttft_s != null) parts.push("first token " + Math.round(t.ttft_s * 1000) + " ms");
    if (t.decode_tok_s) parts.push(t.decode_tok_s.toFixed(1) + " tok/s");
    if (t.total_s != null) parts.push(t.total_s.toFixed(2) + " s");
    const cut = s.finish_reason === "length" ? "cut at max tokens · " : "";
    return cut + parts.join(" · ");
  }

  function userTurns() { return [...messages.querySelectorAll(".msg.user:not(.unsent)")]; }

  // Actions under an answer: copy always; regenerate on the last answer only.
  function answerActions(answer) {
    let bar = answer.querySelector(".msg-actions");
    if (!bar) { bar = OP.el("div", "msg-actions"); answer.appendChild(bar); }
    bar.replaceChildren(MD.copyButton(() => answer.dataset.raw || "", "Copy", "copy copy-answer"));
    const regen = OP.el("button", "regenerate changes", "Regenerate");
    regen.type = "button";
    regen.addEventListener("click", () => regenerate(answer));
    bar.appendChild(regen);
  }

  function userActions(user) {
    const bar = OP.el("div", "msg-actions");
    const edit = OP.el("button", "edit changes", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => startEdit(user));
    bar.appendChild(edit);
    user.appendChild(bar);
  }

  function refreshRegenerate() {
    const answers = [...messages.querySelectorAll(".msg.assistant:not(.failed)")];
    answers.forEach((a, i) => {
      const b = a.querySelector("button.regenerate");
      if (b) b.hidden = i !== answers.length - 1;
    });
  }

  // Remove a question and everything after it from the page (the server does the same
  // once the new answer is kept); returns that question's turn number.
  function cutFrom(user) {
    const turn = userTurns().indexOf(user);
    let n = user;
    while (n) { const next = n.nextElementSibling; n.remove(); n = next; }
    return turn;
  }

  function regenerate(answer) {
    if (controller) return;
    let user = answer.previousElementSibling;
    while (user && !user.classList.contains("user")) user = user.previousElementSibling;
    if (!user) return;
    const text = user.querySelector(".content").textContent;
    send(text, cutFrom(user));
  }

  function startEdit(user) {
    if (controller || user.classList.contains("editing")) return;
    const content = user.querySelector(".content");
    const area = OP.el("textarea", "edit-box");
    area.value = content.textContent;
    area.rows = Math.min(10, area.value.split("\n").length + 1);
    area.setAttribute("aria-label", "Edit your message");
    const save = OP.el("button", "save-edit", "Save & send"), cancel = OP.el("button", "cancel-edit", "Cancel");
    save.type = cancel.type = "button";
    const box = OP.el("div", "edit-area");
    box.append(area, save, cancel);
    user.classList.add("editing");
    content.hidden = true;
    user.insertBefore(box, content.nextSibling);
    const stop = () => { box.remove(); content.hidden = false; user.classList.remove("editing"); };
    cancel.addEventListener("click", stop);
    save.addEventListener("click", () => {
      const text = area.value.trim();
      if (!text) { showError(EMPTY); area.focus(); return; }
      send(text, cutFrom(user));
    });
    area.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { ev.preventDefault(); stop(); }
      else if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); save.click(); }
    });
    area.focus();
  }

  function addSidebarEntry(id, title) {
    const list = $("conversation-list");
    for (const a of list.querySelectorAll("a")) a.removeAttribute("aria-current");
    const li = OP.el("li"), a = OP.el("a", "", title || "untitled");
    a.href = "/ui/chat/" + encodeURIComponent(id);
    a.setAttribute("aria-current", "page");
    li.appendChild(a);
    list.prepend(li);
  }

  async function send(text, replaceTurn) {
    const model = $("model-picker").value;
    if (!model) { showError("No model to answer: install one first."); return; }
    showError("");
    const hint = $("empty-hint");
    if (hint) hint.remove();

    const user = OP.el("div", "msg user");
    user.append(OP.el("div", "who", "you"), OP.el("div", "content plain", text));
    const answer = OP.el("div", "msg assistant streaming " + colour(model));
    const who = OP.el("div", "who");
    const label = OP.el("span", "model-label", model);
    label.dataset.model = model;
    who.appendChild(label);
    const content = OP.el("div", "content answer plain");
    answer.append(who, content);
    messages.append(user, answer);
    scrollDown();

    const body = {
      conversation_id: conversation, model, message: text,
      system: $("system-prompt").value,
      max_tokens: numberOr("max-tokens", 256), temperature: numberOr("temperature", 0),
      top_p: numberOr("top-p", 1), seed: numberOr("seed", null),
    };
    if (replaceTurn !== undefined && replaceTurn >= 0) body.replace_turn = replaceTurn;
    let streamed = "", finished = false;
    controller = new AbortController();
    busy(true);
    try {
      await OP.streamSSE("/ui/api/chat/stream", body, (event, data) => {
        if (event === "meta") {
          if (!conversation) {
            conversation = data.conversation_id;
            root.dataset.conversation = conversation;
            history.replaceState(null, "", "/ui/chat/" + encodeURIComponent(conversation));
            addSidebarEntry(conversation, data.title);
          }
        } else if (event === "model") {
          // A route answers with one of its models: say which.
          if (data.model !== model) label.textContent = model + " → " + data.model;
        } else if (event === "delta") {
          streamed += data.text;
          MD.streaming(content, streamed);
          scrollDown();
        } else if (event === "done") {
          finished = true;
          MD.final(content, data.html);
          answer.dataset.raw = streamed;
          who.appendChild(OP.el("span", "muted small meta", " " + statsLine(data)));
          answer.classList.remove("streaming");
          answer.classList.add("done");
        } else if (event === "error") {
          showError(data.message);
          answer.classList.add("failed");
          user.classList.add("unsent");  // the server kept neither side of a failed turn
        }
      }, controller.signal);
    } catch (e) {
      if (e.name === "AbortError") {
        answer.dataset.raw = streamed;
        who.appendChild(OP.el("span", "muted small meta", " stopped"));
        answer.classList.remove("streaming");
        answer.classList.add("done", "stopped");
        finished = true;
      } else {
        showError(e.message);
        answer.classList.add("failed");
        user.classList.add("unsent");
      }
    } finally {
      controller = null;
      answer.classList.remove("streaming");
      if (finished) { userActions(user); answerActions(answer); }
      refreshRegenerate();
      busy(false);
      prompt.focus();
    }
  }

  const EMPTY = "Type a message first: this one is empty (only spaces or line breaks).";

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (controller) return;
    const text = prompt.value.trim();
    if (!text) { showError(EMPTY); prompt.focus(); return; }
    prompt.value = "";
    send(text);
  });
  prompt.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  prompt.addEventListener("input", () => { if (!errorBox.hidden && prompt.value.trim()) showError(""); });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && controller) { ev.preventDefault(); controller.abort(); }
  });
  stopBtn.addEventListener("click", () => { if (controller) controller.abort(); });

  // The stored history: colours, stats lines and actions, as for a live answer.
  for (const m of messages.querySelectorAll(".msg")) {
    if (m.classList.contains("user")) userActions(m);
    if (!m.classList.contains("assistant")) continue;
    const label = m.querySelector(".model-label");
    label.dataset.model = label.textContent;
    m.classList.add(colour(label.textContent));
    let stats = {};
    try { stats = JSON.parse(m.dataset.stats || "{}"); } catch (e) { stats = {}; }
    if (stats.usage || stats.timings) m.querySelector(".who").appendChild(OP.el("span", "muted small meta", " " + statsLine(stats)));
    answerActions(m);
  }
  refreshRegenerate();
  scrollDown();
})();
