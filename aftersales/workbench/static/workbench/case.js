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
