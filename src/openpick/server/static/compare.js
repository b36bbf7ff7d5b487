// The compare page: start a comparison, watch its jobs over SSE, resume stopped runs.
// Everything from the server (suite and model names, errors) goes in with textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("compare-form");
  const list = $("job-list");
  const watching = new Map();   // job id -> EventSource
  const startedHere = new Set(); // jobs this page started: open their results when done

  // -- the suite ----------------------------------------------------------------------
  function source() {
    return $("source-text").checked ? "text" : "named";
  }

  function showSource() {
    const text = source() === "text";
    $("text-suite").hidden = !text;
    $("named-suite").hidden = text;
    clearSuiteMessages();
    if (!text) describeNamed();
  }

  function clearSuiteMessages() {
    $("suite-error").hidden = true;
    $("suite-error").textContent = "";
    $("suite-info").textContent = "";
  }

  function describeNamed() {
    const opt = $("suite-select").selectedOptions[0];
    $("suite-info").textContent = opt ? (opt.dataset.description || "") : "";
  }

  function suiteBody() {
    if (source() === "text") {
      return {suite_text: $("suite-text").value, suite_filename: $("suite-text").dataset.filename || null};
    }
    return {suite: $("suite-select").value};
  }

  function showSuiteError(err) {
    const box = $("suite-error");
    box.textContent = err.message;
    box.hidden = false;
    if (err.line && source() === "text") markLine($("suite-text"), err.line);
  }

  // Select the offending line in the textarea, so the line number points somewhere.
  function markLine(area, line) {
    const lines = area.value.split("\n");
    if (line < 1 || line > lines.length) return;
    let start = 0;
    for (let i = 0; i < line - 1; i++) start += lines[i].length + 1;
    area.focus();
    area.setSelectionRange(start, start + lines[line - 1].length);
  }

  async function post(url, body) {
    const resp = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)});
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) {
      const err = (data && data.error) || {message: resp.status + " " + resp.statusText};
      if (!data || !data.error) {
        if (data && Array.isArray(data.detail)) err.message = data.detail.map((d) => d.msg).join("; ");
      }
      throw err;
    }
    return data;
  }

  async function checkSuite() {
    clearSuiteMessages();
    try {
      const info = await post("/ui/api/compare/check", suiteBody());
      $("suite-info").textContent = info.name + ": " + info.cases + " case" + (info.cases === 1 ? "" : "s") +
        (info.description ? " — " + info.description : "");
      return true;
    } catch (err) {
      showSuiteError(err);
      return false;
    }
  }

  $("suite-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    $("suite-text").value = await file.text();
    $("suite-text").dataset.filename = file.name;
    checkSuite();
  });
  $("suite-text").addEventListener("input", () => { delete $("suite-text").dataset.filename; });
  $("check-suite").addEventListener("click", checkSuite);
  $("source-named").addEventListener("change", showSource);
  $("source-text").addEventListener("change", showSource);
  $("suite-select").addEventListener("change", describeNamed);

  // -- starting ----------------------------------------------------------------------
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const formError = $("form-error");
    formError.hidden = true;
    clearSuiteMessages();
    const models = [...form.querySelectorAll("input[name=models]:checked")].map((c) => c.value);
    if (!models.length) {
      formError.textContent = "Pick at least one model (two or more to compare).";
      formError.hidden = false;
      return;
    }
    if (source() === "text" && !$("suite-text").value.trim()) {
      showSuiteError({message: "The suite is empty: paste a suite or upload a file."});
      return;
    }
    const limit = $("limit").value ? Number($("limit").value) : null;
    const body = {...suiteBody(), models, repeats: Number($("repeats").value || 1), limit};
    $("start").disabled = true;
    try {
      const job = await post("/ui/api/compare", body);
      startedHere.add(job.id);
      track(job);
    } catch (err) {
      if (err.line || /suite|yaml|case/i.test(err.message || "")) showSuiteError(err);
      else { formError.textContent = err.message; formError.hidden = false; }
    } finally {
      $("start").disabled = false;
    }
  });

  // -- jobs --------------------------------------------------------------------------
  function fmtSeconds(s) {
    if (s === null || s === undefined) return "";
    if (s < 1) return "< 1 s";
    if (s < 90) return Math.round(s) + " s";
    if (s < 5400) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }

  function card(job) {
    let c = list.querySelector(`.job[data-job="${CSS.escape(job.id)}"]`);
    if (c) return c;
    c = OP.el("article", "job card");
    c.dataset.job = job.id;
    const head = OP.el("header", "job-head");
    head.append(OP.el("h3", "job-suite"), OP.el("span", "status job-status"), OP.el("span", "job-eta muted small"));
    const stop = OP.el("button", "job-stop secondary", "Stop");
    stop.type = "button";
    stop.addEventListener("click", () => post(`/ui/api/compare/jobs/${encodeURIComponent(job.id)}/stop`, {})
      .then(render).catch((e) => alert(e.message)));
    const link = OP.el("a", "job-results", "Open results →");
    link.hidden = true;
    head.append(stop, link);
    const table = OP.el("table", "job-models list");
    table.createTHead().insertRow().append(...["Model", "Progress", "Done", "Passed", "Failed", "Errors", "ETA"]
      .map((t) => OP.el("th", null, t)));
    table.createTBody();
    c.append(head, OP.el("p", "job-error error"), table);
    list.prepend(c);
    $("no-jobs").hidden = true;
    return c;
  }

  function render(job) {
    const c = card(job);
    c.dataset.status = job.status;
    c.querySelector(".job-suite").textContent = job.suite + (job.resume ? " (resumed)" : "");
    const st = c.querySelector(".job-status");
    st.textContent = job.status;
    st.className = "status job-status st-" + job.status;
    c.querySelector(".job-eta").textContent = job.status === "running" ?
      `${job.done} / ${job.total}` + (job.eta_s !== null ? ` · about ${fmtSeconds(job.eta_s)} left` : "") : "";
    c.querySelector(".job-stop").hidden = !["queued", "running"].includes(job.status);
    const link = c.querySelector(".job-results");
    if (job.results_url && job.status !== "queued") {
      link.href = job.results_url;
      link.textContent = job.status === "running" ? "Results so far →" : "Open results →";
      link.hidden = false;
    }
    const err = c.querySelector(".job-error");
    err.textContent = job.error || "";
    err.hidden = !job.error;
    const body = c.querySelector("tbody");
    for (const m of job.models) {
      let row = [...body.rows].find((r) => r.dataset.model === m.model);
      if (!row) {
        row = body.insertRow();
        row.dataset.model = m.model;
        row.className = "job-model";
        const name = OP.el("td", "model-name", m.model);
        const bar = OP.el("td");
        const prog = document.createElement("progress");
        prog.setAttribute("aria-label", "progress of " + m.model);
        bar.append(prog);
        row.append(name, bar, ...["done", "passed", "failed", "errors", "eta"].map((k) => OP.el("td", "m-" + k)));
      }
      row.dataset.state = m.state;
      const prog = row.querySelector("progress");
      prog.max = m.total || 1;
      prog.value = m.done;
      row.querySelector(".m-done").textContent = `${m.done} / ${m.total}`;
      row.querySelector(".m-passed").textContent = m.passed;
      row.querySelector(".m-failed").textContent = m.failed;
      row.querySelector(".m-errors").textContent = m.errors;
      row.querySelector(".m-eta").textContent = m.state === "done" ? "done" :
        m.state === "waiting" ? "waiting" : (m.eta_s === null ? "…" : fmtSeconds(m.eta_s));
    }
  }

  function track(job) {
    render(job);
    if (!["queued", "running"].includes(job.status) || watching.has(job.id)) return;
    const es = new EventSource(`/ui/api/compare/jobs/${encodeURIComponent(job.id)}/events`);
    watching.set(job.id, es);
    es.addEventListener("progress", (ev) => render(JSON.parse(ev.data)));
    es.addEventListener("end", (ev) => {
      es.close();
      watching.delete(job.id);
      const done = JSON.parse(ev.data);
      render(done);
      if (done.status === "finished" && startedHere.has(done.id) && done.results_url) {
        window.location.assign(done.results_url);
      }
    });
  }

  // -- resuming ----------------------------------------------------------------------
  document.addEventListener("click", async (ev) => {
    const btn = ev.target.closest("button.resume");
    if (!btn) return;
    btn.disabled = true;
    try {
      const job = await post(`/ui/api/compare/runs/${encodeURIComponent(btn.dataset.run)}/resume`, {});
      startedHere.add(job.id);
      btn.closest("tr").remove();
      if (!$("stopped-table").tBodies[0].rows.length) $("stopped-runs").hidden = true;
      track(job);
    } catch (err) {
      btn.disabled = false;
      const f = $("form-error");
      f.textContent = err.message;
      f.hidden = false;
    }
  });

  for (const job of JSON.parse($("jobs").dataset.jobs || "[]").reverse()) track(job);
  showSource();
})();

// The models ticked here are the comparison basket (the nav's count, the model pages'
// "Add to comparison"): ticking or unticking one here updates it.
(() => {
  const form = document.getElementById("compare-form");
  if (!form || typeof BASKET === "undefined") return;
  form.addEventListener("change", (ev) => {
    if (!ev.target.matches("input[name=models]")) return;
    BASKET.set([...form.querySelectorAll("input[name=models]:checked")].map((c) => c.value));
  });
})();
