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
