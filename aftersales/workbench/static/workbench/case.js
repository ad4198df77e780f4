// The case page: choosing a message template fills the message box with the template's
// text, its variables already filled in on the server (see replies.py).
(function () {
  "use strict";
  var data = document.getElementById("message-templates");
  var select = document.getElementById("message-template");
  var text = document.getElementById("message-text");
  if (!data || !select || !text) return;
  var templates = JSON.parse(data.textContent);
  select.addEventListener("change", function () {
    if (templates[select.value]) {
      text.value = templates[select.value];
      text.focus();
    }
  });
})();

// The reject form: a reason the platform refuses without evidence (data-needs-evidence on
// its option) says so at once and makes the upload required until evidence on the case is
// chosen, so the browser refuses the form before it is sent. The server checks it again.
(function () {
  "use strict";
  var reason = document.getElementById("reject-reason_code");
  var upload = document.getElementById("reject-uploads");
  if (!reason || !upload) return;
  var form = reason.form;
  var hint = document.createElement("p");
  hint.className = "hint evidence-hint";
  hint.setAttribute("role", "status");
  hint.textContent = reason.getAttribute("data-evidence-hint") || "";
  reason.parentNode.insertBefore(hint, reason.nextSibling);
  function update() {
    var option = reason.options[reason.selectedIndex];
    var needs = Boolean(option && option.getAttribute("data-needs-evidence") === "true");
    var chosen = form.querySelectorAll('input[name="evidence"]:checked').length > 0;
    upload.required = needs && !chosen;
    // The browser's own bubble says what the hint says, in the page's language.
    upload.setCustomValidity(upload.required && !upload.files.length ? hint.textContent : "");
    hint.hidden = !needs;
  }
  form.addEventListener("change", update);
  update();
})();

// The refund form: the confirmation names the total typed (goods + shipping + the buyer's
// return postage), and a line says how goods + shipping compare with what the buyer asked
// for. Amounts are read as yuan with at most two decimals, counted in whole fen.
(function () {
  "use strict";
  function toFen(text) {
    var match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text || "0");
    if (!match) return null;
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }
  function toYuan(fen) {
    var cents = String(fen % 100);
    return Math.floor(fen / 100) + "." + (cents.length < 2 ? "0" + cents : cents);
  }
  function sum(inputs) {
    var total = 0;
    for (var i = 0; i < inputs.length; i++) {
      var fen = toFen(inputs[i].value);
      if (fen === null) return null;
      total += fen;
    }
    return total;
  }
  document.querySelectorAll("form[data-confirm-template]").forEach(function (form) {
    var template = form.getAttribute("data-confirm-template");
    var generic = form.getAttribute("data-confirm-generic");
    var parts = form.querySelectorAll("[data-refund-part]");
    var orderParts = form.querySelectorAll("[data-refund-part]:not([name='return_postage'])");
    var difference = form.querySelector(".refund-difference");
    function update() {
      var total = sum(parts);
      form.setAttribute(
        "data-confirm", total === null ? generic : template.replace("{amount}", toYuan(total))
      );
      if (!difference) return;
      var typed = sum(orderParts);
      var requested = parseInt(difference.getAttribute("data-requested-fen"), 10);
      if (typed === null) {
        difference.textContent = "";
      } else if (typed === requested) {
        difference.textContent = difference.getAttribute("data-same");
      } else {
        var kind = typed > requested ? "data-more" : "data-less";
        difference.textContent = difference.getAttribute(kind)
          .replace("{amount}", toYuan(Math.abs(typed - requested)));
      }
    }
    form.addEventListener("input", update);
    update();
  });
  // A refused form comes back open: put the cursor on the first field to fix.
  var wrong = document.querySelector("details[open] .has-error input, details[open] .has-error textarea, details[open] .has-error select");
  if (wrong) {
    wrong.focus();
  }
})();
