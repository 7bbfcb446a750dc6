// Kumanet: small progressive enhancements. Every page works without this file.
"use strict";
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    ev.preventDefault();
    return;
  }
  // One submission per click: a busy phone must not post twice.
  var buttons = form.querySelectorAll("button[type=submit]");
  window.setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
});
document.addEventListener("click", function (ev) {
  if (ev.target && ev.target.id === "print") { window.print(); }
});
// R8.4 / 第8条(5): when nobody has touched the page for the idle limit, reload it. The server has
// ended the session by then, so the login page replaces whatever was on screen.
(function () {
  var seconds = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  if (!seconds) { return; }
  var last = Date.now();
  ["keydown", "pointerdown", "touchstart", "input"].forEach(function (ev) {
    document.addEventListener(ev, function () { last = Date.now(); }, { passive: true });
  });
  window.setInterval(function () {
    if (Date.now() - last > (seconds + 5) * 1000) { window.location.assign("/"); }
  }, 5000);
})();
