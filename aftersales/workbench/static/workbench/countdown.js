// Live countdowns: every element with data-due (an ISO time) shows the time left, once a
// second, in the format of display.clock_text: "2 d 03:04:05", "03:04:05", "overdue 00:12:00".
// Paused or stopped clocks (data-state other than "running") are left as the server wrote them.
// Elements swapped in by htmx are picked up on the next tick.
(function () {
  "use strict";
  var body = document.body;
  var dayFormat = body.getAttribute("data-day-format") || "%(days)d d";
  var overdue = body.getAttribute("data-overdue") || "overdue";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function format(seconds) {
    var prefix = seconds < 0 ? overdue + " " : "";
    var s = Math.abs(seconds);
    var days = Math.floor(s / 86400);
    s -= days * 86400;
    var hours = Math.floor(s / 3600);
    s -= hours * 3600;
    var minutes = Math.floor(s / 60);
    var secs = s - minutes * 60;
    var dayPart = days ? dayFormat.replace("%(days)d", String(days)) + " " : "";
    return prefix + dayPart + pad(hours) + ":" + pad(minutes) + ":" + pad(secs);
  }

  function tick() {
    var now = Date.now();
    var nodes = document.querySelectorAll("[data-due][data-state='running']");
    for (var i = 0; i < nodes.length; i++) {
      var due = Date.parse(nodes[i].getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = Math.floor((due - now) / 1000);
      nodes[i].textContent = format(left);
      if (left < 0) nodes[i].classList.add("breached");
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
