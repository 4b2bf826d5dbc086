// The index's search and filters: hides the rows that do not match, and says how many
// remain. The rows carry their own text (data-* attributes); nothing is fetched, so the
// page works from the file system and from any static host. Without JavaScript every
// row stays visible.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("views");
  if (!form || !table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var shown = document.getElementById("shown");
  var search = document.getElementById("q");
  var selects = Array.prototype.slice.call(form.querySelectorAll("select"));

  function list(row, name) {
    try { return JSON.parse(row.getAttribute("data-" + name) || "[]"); } catch (e) { return []; }
  }

  function matches(row, words, wanted) {
    var text = row.getAttribute("data-search") || "";
    for (var i = 0; i < words.length; i++) {
      if (text.indexOf(words[i]) === -1) { return false; }
    }
    for (var name in wanted) {
      var value = wanted[name];
      if (!value) { continue; }
      if (name === "tag" || name === "sensitivity") {
        if (list(row, name === "tag" ? "tags" : "sensitivity").indexOf(value) === -1) { return false; }
      } else if (row.getAttribute("data-" + name) !== value) {
        return false;
      }
    }
    return true;
  }

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = {};
    selects.forEach(function (select) { wanted[select.name] = select.value; });
    var count = 0;
    rows.forEach(function (row) {
      var keep = matches(row, words, wanted);
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = "Showing " + count + " of " + rows.length + " views.";
  }

  var params = new URLSearchParams(window.location.search);
  if (params.has("q")) { search.value = params.get("q"); }
  selects.forEach(function (select) {
    if (params.has(select.name)) { select.value = params.get(select.name); }
  });
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  apply();
}());
