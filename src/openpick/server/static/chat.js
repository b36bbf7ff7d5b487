// Chat: streams one answer at a time; the model picker applies to the next message, and
// the server keeps the whole history, so switching models mid-conversation keeps it.
"use strict";

(() => {
  const root = document.getElementById("chat");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const messages = $("messages"), form = $("composer"), prompt = $("prompt");
  const sendBtn = $("send"), stopBtn = $("stop"), errorBox = $("chat-error");
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

  async function send(text) {
    const model = $("model-picker").value;
    if (!model) { showError("No model to answer: install one first."); return; }
    showError("");
    const hint = $("empty-hint");
    if (hint) hint.remove();

    const user = OP.el("div", "msg user");
    user.append(OP.el("div", "who", "you"), OP.el("div", "content plain", text));
    const answer = OP.el("div", "msg assistant streaming");
    const who = OP.el("div", "who");
    who.appendChild(OP.el("span", "model-label", model));
    const content = OP.el("div", "content plain");
    answer.append(who, content);
    messages.append(user, answer);
    scrollDown();

    const body = {
      conversation_id: conversation, model, message: text,
      system: $("system-prompt").value,
      max_tokens: numberOr("max-tokens", 256), temperature: numberOr("temperature", 0.7),
      top_p: numberOr("top-p", 1), seed: numberOr("seed", null),
    };
    let streamed = "";
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
          if (data.model !== model) who.querySelector(".model-label").textContent = model + " → " + data.model;
        } else if (event === "delta") {
          streamed += data.text;
          content.textContent = streamed;
          scrollDown();
        } else if (event === "done") {
          content.className = "content md";
          OP.setMarkdown(content, data.html);
          const note = data.finish_reason === "length" ? "cut at max tokens · " : "";
          who.appendChild(OP.el("span", "muted small meta", " " + note + OP.timing(data)));
          answer.classList.remove("streaming");
          answer.classList.add("done");
        } else if (event === "error") {
          showError(data.message);
          answer.classList.add("failed");
        }
      }, controller.signal);
    } catch (e) {
      if (e.name === "AbortError") {
        who.appendChild(OP.el("span", "muted small meta", " stopped"));
        answer.classList.remove("streaming");
        answer.classList.add("done", "stopped");
      } else {
        showError(e.message);
        answer.classList.add("failed");
      }
    } finally {
      controller = null;
      busy(false);
      prompt.focus();
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = prompt.value.trim();
    if (!text || controller) return;
    prompt.value = "";
    send(text);
  });
  prompt.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  stopBtn.addEventListener("click", () => { if (controller) controller.abort(); });
  messages.scrollTop = messages.scrollHeight;
})();
