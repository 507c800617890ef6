// Rotor console: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // While a rotation runs, reload the secret's page every few seconds so the
  // timeline and the run history follow it (a GET: nothing is changed).
  var active = document.querySelector("[data-refresh]");
  if (active && !document.getElementById("revealed")) {
    var secs = parseInt(active.getAttribute("data-refresh"), 10) || 3;
    setTimeout(function () { window.location.reload(); }, secs * 1000);
  }
  // A form with data-confirm (deleting a key, abandoning a rotation...)
  // asks first. Submitting a form disables its button, so a double click
  // posts once.
  document.addEventListener("submit", function (e) {
    var ask = e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    var b = e.target.querySelector("button[type=submit]");
    if (b) { setTimeout(function () { b.disabled = true; }, 0); }
  });
})();
