// Filters of the results view's case × model matrix (templates/results_view.html.j2): all
// cases, failures only, or cases where the shown models disagree; by tag; and which models'
// columns show. The offline report inlines this file, the web UI serves it as
// /ui/static/results.js. It only reads data-* attributes and toggles `hidden`: it never
// reads or writes any text a model wrote.
(function () {
  "use strict";
  var table = document.getElementById("matrix");
  var form = document.getElementById("matrix-filters");
  if (!table || !form) return;
  form.hidden = false;  // without script the filters would do nothing, so they show only now
  var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (tr) {
    return tr.hasAttribute("data-case");
  });
  var count = document.getElementById("matrix-count");
  var tagSelect = document.getElementById("filter-tag");

  function shownModels() {
    var on = {};
    form.querySelectorAll("input.rv-model").forEach(function (box) {
      if (box.checked) on[box.value] = true;
    });
    return on;
  }

  // A row's outcomes over the shown models: every repeat's pass (1) or fail (0).
  function outcomes(tr, on) {
    var seen = {};
    tr.querySelectorAll("td[data-col]").forEach(function (td) {
      if (!on[td.getAttribute("data-col")]) return;
      (td.getAttribute("data-passes") || "").split(" ").forEach(function (p) {
        if (p) seen[p] = true;
      });
    });
    return seen;
  }

  function apply() {
    var mode = (form.querySelector('input[name="rv-show"]:checked') || {}).value || "all";
    var tag = tagSelect ? tagSelect.value : "";
    var on = shownModels();
    table.querySelectorAll("[data-col]").forEach(function (el) {
      el.hidden = !on[el.getAttribute("data-col")];
    });
    var visible = 0;
    rows.forEach(function (tr) {
      var seen = outcomes(tr, on);
      var show = mode === "all" || (mode === "fail" && seen["0"]) ||
        (mode === "disagree" && seen["0"] && seen["1"]);
      if (show && tag) show = (tr.getAttribute("data-tags") || "").split(" ").indexOf(tag) >= 0;
      tr.hidden = !show;
      if (show) visible += 1;
    });
    if (count) count.textContent = visible + " of " + rows.length + " cases";
  }

  form.addEventListener("change", apply);
  apply();
})();
