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
// R10.3: the composer counts characters and advises brevity past the region's soft limit.
document.querySelectorAll("textarea[data-soft-limit]").forEach(function (area) {
  var limit = parseInt(area.getAttribute("data-soft-limit"), 10);
  var counter = area.form && area.form.querySelector(".counter");
  if (!counter) { return; }
  var update = function () {
    var n = Array.from(area.value).length;
    counter.textContent = n > limit
      ? n + "文字です。目安の" + limit + "文字を超えています。要点を短くまとめましょう(投稿はできます)。"
      : n + "文字 / 目安" + limit + "文字";
    counter.classList.toggle("advice", n > limit);
  };
  area.addEventListener("input", update);
  update();
});
// Live updates (Server-Sent Events): new posts, edits, deletions, 了解 and read marks appear
// without reloading. Without JavaScript a reload shows the same.
(function () {
  var timeline = document.getElementById("timeline");
  if (!timeline || !window.EventSource) { return; }
  var list = document.getElementById("posts");
  var state = document.getElementById("live-state");
  var csrfInput = document.querySelector("input[name=csrf]");
  var csrf = csrfInput ? csrfInput.value : "";
  var source = new EventSource(timeline.getAttribute("data-live"));
  var say = function (text) { state.textContent = text; state.hidden = !text; };
  var read = function (id) {
    if (document.visibilityState !== "visible") { return; }
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    fetch("/posts/" + encodeURIComponent(id) + "/read", { method: "POST", body: body, credentials: "same-origin" });
  };
  source.addEventListener("open", function () { say(""); timeline.setAttribute("data-connected", "1"); });
  source.addEventListener("post", function (ev) {
    var data = JSON.parse(ev.data);
    var tpl = document.createElement("template");
    tpl.innerHTML = data.html.trim();
    var card = tpl.content.firstElementChild;
    var existing = document.getElementById("post-" + data.id);
    if (existing) {
      existing.replaceWith(card);
    } else {
      list.appendChild(card);
      var empty = document.getElementById("no-posts");
      if (empty) { empty.remove(); }
      if (!data.mine) { read(data.id); }
    }
  });
  source.addEventListener("closed", function () {
    source.close();
    timeline.setAttribute("data-connected", "closed");
    say("このページを表示できなくなったため(メンバーから外れた等)、新着の表示を止めました。");
  });
  source.addEventListener("reload", function () { window.location.reload(); });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) { say("新着の表示が止まりました。再読み込みしてください。"); }
  });
  document.addEventListener("visibilitychange", function () {
    var last = list.lastElementChild;
    if (document.visibilityState === "visible" && last) { read(last.getAttribute("data-post")); }
  });
})();
