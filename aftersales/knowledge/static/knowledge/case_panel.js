// The case page's knowledge-base panel: "Insert into the message" puts the article's answer
// into the message form (appended after what is typed already) and focuses it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-insert-answer]") : null;
    if (!button) return;
    var text = document.getElementById("message-text");
    if (!text) return;
    var answer = button.getAttribute("data-insert-answer") || "";
    text.value = text.value.trim() ? text.value.replace(/\s+$/, "") + "\n" + answer : answer;
    text.focus();
  });
})();
