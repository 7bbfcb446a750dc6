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
