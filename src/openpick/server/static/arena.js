// Arena: the server picks the pair and keeps the names until the vote.
"use strict";

(() => {
  const form = document.getElementById("arena-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const errorBox = $("arena-error"), votes = $("votes"), result = $("vote-result");
  let battle = null;

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  async function runSide(id, side) {
    const out = $("out-" + side);
    let text = "";
    out.className = "content plain";
    await OP.streamSSE(`/ui/api/arena/battles/${encodeURIComponent(id)}/stream/${side}`, null,
      (event, data) => {
        if (event === "delta") { text += data.text; out.textContent = text; }
        else if (event === "done") { out.className = "content md"; OP.setMarkdown(out, data.html); }
        else if (event === "error") { throw new Error(data.message); }
      });
    $("side-" + side).classList.add("done");
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("");
    const models = [...form.querySelectorAll('input[name="models"]:checked')].map((i) => i.value);
    if (models.length < 2) { showError("Pick at least two models."); return; }
    const body = {models, prompt: $("arena-prompt").value,
      max_tokens: Number($("arena-max-tokens").value) || 256,
      temperature: Number($("arena-temperature").value) || 0};
    $("arena-go").disabled = true;
    votes.hidden = true;
    result.hidden = true;
    for (const s of ["a", "b"]) {
      $("out-" + s).replaceChildren();
      $("name-" + s).textContent = "";
      $("side-" + s).classList.remove("done", "winner");
    }
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
      battle = null;
    } catch (e) {
      showError(e.message);
    }
  });
})();
