// Arena: the server picks the pair and keeps the names until the vote. Both panels show
// their answer with the chat's component (markdown.js): plain text while it streams, the
// sanitized markdown once done. After a vote: the names, and "New battle".
// On the ratings page: the style-control switch applies as it changes.
"use strict";

(() => {
  const style = document.getElementById("style-control");
  if (style) {
    style.addEventListener("change", () => style.form.submit());
    const apply = document.getElementById("style-apply");
    if (apply) apply.hidden = true;
  }

  const form = document.getElementById("arena-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const errorBox = $("arena-error"), votes = $("votes"), result = $("vote-result");
  const after = $("after-vote");
  let battle = null;

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  async function runSide(id, side) {
    const out = $("out-" + side);
    let text = "";
    MD.streaming(out, "");
    await OP.streamSSE(`/ui/api/arena/battles/${encodeURIComponent(id)}/stream/${side}`, null,
      (event, data) => {
        if (event === "delta") { text += data.text; MD.streaming(out, text); }
        else if (event === "done") { MD.final(out, data.html); }
        else if (event === "error") { throw new Error(data.message); }
      });
    $("side-" + side).classList.add("done");
  }

  function reset() {
    votes.hidden = true;
    result.hidden = true;
    after.hidden = true;
    for (const s of ["a", "b"]) {
      $("out-" + s).replaceChildren();
      $("name-" + s).textContent = "";
      $("side-" + s).classList.remove("done", "winner");
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("");
    const models = [...form.querySelectorAll('input[name="models"]:checked')].map((i) => i.value);
    if (models.length < 2) { showError("Pick at least two models."); return; }
    const text = $("arena-prompt").value;
    if (!text.trim()) { showError("Type a prompt first: it is empty (only spaces or line breaks)."); return; }
    const num = (id, fallback) => ($(id).value === "" ? fallback : Number($(id).value));
    const include = $("arena-include") ? $("arena-include").dataset.model : null;
    if (include && !models.includes(include)) models.push(include);
    const body = {models, prompt: text, system: $("arena-system").value || null, include,
      max_tokens: num("arena-max-tokens", 256), temperature: num("arena-temperature", 0)};
    $("arena-go").disabled = true;
    reset();
    try {
      battle = (await OP.postJSON("/ui/api/arena/battles", body)).id;
      $("battle").hidden = false;
      await Promise.all([runSide(battle, "a"), runSide(battle, "b")]);
      for (const b of votes.querySelectorAll("button")) b.disabled = false;
      votes.hidden = false;
    } catch (e) {
      showError(e.message);
    } finally {
      $("arena-go").disabled = false;
    }
  });

  votes.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button[data-vote]");
    if (!button || !battle) return;
    for (const b of votes.querySelectorAll("button")) b.disabled = true;
    try {
      const r = await OP.postJSON(`/ui/api/arena/battles/${encodeURIComponent(battle)}/vote`,
        {winner: button.dataset.vote});
      $("name-a").textContent = "· " + r.model_a;
      $("name-b").textContent = "· " + r.model_b;
      if (r.winner === "a" || r.winner === "b") $("side-" + r.winner).classList.add("winner");
      const said = {a: r.model_a + " won", b: r.model_b + " won", tie: "a tie", both_bad: "both bad"};
      result.textContent = "Vote recorded: " + said[r.winner] + ". A was " + r.model_a + ", B was " + r.model_b + ".";
      result.hidden = false;
      votes.hidden = true;
      after.hidden = false;
      $("new-battle").focus();
      battle = null;
    } catch (e) {
      showError(e.message);
    }
  });

  // New battle: the same models and settings, a fresh prompt and a fresh pair.
  $("new-battle").addEventListener("click", () => {
    reset();
    $("battle").hidden = true;
    showError("");
    const p = $("arena-prompt");
    p.value = "";
    p.focus();
    window.scrollTo(0, 0);
  });
})();
