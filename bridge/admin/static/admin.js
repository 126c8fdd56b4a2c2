// termin-bridge admin page: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Confirm before destructive form posts (forms carry data-confirm="question").
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    }
  });

  // Copy buttons: <button class="copy" data-copy="input-id">.
  document.addEventListener("click", function (event) {
    var button = event.target;
    if (!(button instanceof HTMLElement) || !button.dataset.copy) { return; }
    var input = document.getElementById(button.dataset.copy);
    if (!input) { return; }
    input.select();
    var done = function () { button.dataset.copied = "1"; button.classList.add("copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Live import progress: poll the JSON status endpoint named by data-status-url.
  function fill(root, data) {
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.dataset.field;
      if (Object.prototype.hasOwnProperty.call(data, key) && data[key] !== null) {
        el.textContent = String(data[key]);
      }
    });
    var bar = root.querySelector("progress");
    if (bar && typeof data.percent === "number") { bar.value = data.percent; }
  }

  function poll(root) {
    var url = root.dataset.statusUrl;
    var timer = null;
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) {
          fill(root, data);
          root.dataset.phase = data.phase || "";
          if (data.finished) {
            root.classList.add("finished");
            var next = root.querySelector("[data-when-finished]");
            if (next) { next.hidden = false; }
            return;
          }
          timer = window.setTimeout(tick, 1000);
        })
        .catch(function () { timer = window.setTimeout(tick, 3000); });
    };
    tick();
    window.addEventListener("pagehide", function () { if (timer) { window.clearTimeout(timer); } });
  }

  document.querySelectorAll("[data-status-url]").forEach(poll);
})();
