// carebook's pages work without this script; it only improves them:
// - moves focus to the part of the page that answers the last action ([data-focus]);
// - adds the reader's own time next to each doctor's time when their zones differ;
// - counts down a hold's time left inside its live region, so screen readers announce it.
(function () {
  "use strict";
  var focus = document.querySelector("[data-focus]");
  if (focus) { focus.focus(); }

  var mine;
  try { mine = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { mine = null; }
  if (mine) {
    var times = document.querySelectorAll("time[data-zone]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      if (t.getAttribute("data-zone") === mine) { continue; }
      var at = new Date(t.getAttribute("datetime"));
      if (isNaN(at.getTime())) { continue; }
      var local = document.createElement("span");
      local.className = "local";
      local.textContent = " (" + at.toLocaleString([], { weekday: "short", day: "numeric", month: "short",
        hour: "2-digit", minute: "2-digit" }) + " your time, " + mine + ")";
      var after = t.nextElementSibling && t.nextElementSibling.className === "zone" ? t.nextElementSibling : t;
      after.parentNode.insertBefore(local, after.nextSibling);
    }
  }

  var hold = document.querySelector("[data-deadline]");
  if (hold) {
    var deadline = new Date(hold.getAttribute("data-deadline")).getTime();
    var left = hold.querySelector("[data-left]");
    var last = null;
    var tick = function () {
      var minutes = Math.ceil((deadline - Date.now()) / 60000);
      var text = minutes <= 0 ? "The hold has run out: reload the page to see what became of it."
        : minutes === 1 ? "Less than a minute left to confirm." : minutes + " minutes left to confirm.";
      if (text !== last) { left.textContent = text; last = text; }
      if (minutes > 0) { setTimeout(tick, 15000); }
    };
    tick();
  }
})();
