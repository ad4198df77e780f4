// The queue's bulk bar: the row checkboxes belong to #bulk-form (form="bulk-form"); this keeps
// the count and the select-all box right, shows the field the chosen action needs, and keeps
// the selection when the rows refresh themselves every 30 s.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var selected = new Set();

  function boxes() {
    return document.querySelectorAll('input[name="case_ids"][form="bulk-form"]');
  }
  function update() {
    document.getElementById("bulk-count").textContent = String(selected.size);
    document.getElementById("bulk-submit").disabled = selected.size === 0;
    var all = document.getElementById("bulk-all");
    var list = boxes();
    all.checked = list.length > 0 && Array.prototype.every.call(list, function (b) { return b.checked; });
  }
  function showFieldsFor(action) {
    form.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      field.hidden = field.getAttribute("data-bulk-for") !== action;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "bulk-all") {
      boxes().forEach(function (box) {
        box.checked = target.checked;
        if (target.checked) selected.add(box.value); else selected.delete(box.value);
      });
      update();
    } else if (target.name === "case_ids" && target.getAttribute("form") === "bulk-form") {
      if (target.checked) selected.add(target.value); else selected.delete(target.value);
      update();
    } else if (target.id === "bulk-action") {
      showFieldsFor(target.value);
    }
  });
  // After the rows are replaced, tick again what was ticked (a case that left the page
  // is dropped from the selection: it can no longer be seen, so it is not acted on).
  document.addEventListener("htmx:afterSwap", function () {
    var present = new Set();
    boxes().forEach(function (box) {
      present.add(box.value);
      box.checked = selected.has(box.value);
    });
    selected.forEach(function (id) { if (!present.has(id)) selected.delete(id); });
    update();
  });
  showFieldsFor(document.getElementById("bulk-action").value);
  update();
})();
