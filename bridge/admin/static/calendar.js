// termin-bridge calendar view: click a free time to book, drag to move, drag the lower edge to
// resize, Alt+arrow keys to move from the keyboard.  Plain JavaScript on pointer events; every
// change posts to the same "save" endpoint as the appointment form (CSRF header), and the
// server's booking rules decide.  Without this script every appointment is a link to its form.
(function () {
  "use strict";
  var root = document.getElementById("calendar");
  if (!root) { return; }
  var SLOT_MIN = 15;
  var base = root.dataset.base;
  var writable = root.dataset.writable === "1";
  var status = document.getElementById("cal-status");

  // Calendar picker: navigate on change (the form's GET works without script too).
  var picker = document.getElementById("cal-select");
  if (picker) {
    picker.addEventListener("change", function () { window.location.assign(picker.value); });
  }
  // Start the day at 07:00.
  var scroller = document.getElementById("cal-scroll");
  var slotPx = 12;
  var probe = scroller && scroller.querySelector(".cal-hour");
  if (probe) { slotPx = probe.getBoundingClientRect().height / 4 || 12; }
  if (scroller) { scroller.scrollTop = slotPx * 4 * 7; }
  var focusUid = window.sessionStorage.getItem("cal-focus");
  if (focusUid) {
    window.sessionStorage.removeItem("cal-focus");
    var again = root.querySelector('.cal-entry[data-uid="' + focusUid.replace(/"/g, "") + '"]');
    if (again) { again.focus(); }
  }

  // -- local times as "YYYY-MM-DDTHH:MM" (wall clock of the calendar's zone) -------------------
  function parse(text) {
    var p = text.split(/[-T:]/).map(Number);
    return Date.UTC(p[0], p[1] - 1, p[2], p[3] || 0, p[4] || 0);
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  var MIN = 60000;

  function say(text) { if (status) { status.textContent = text; } }

  // -- the dialog: scope question, refusal with suggestions ------------------------------------
  var dialog = document.getElementById("cal-dialog");
  function ask(text, items, buttons) {
    return new Promise(function (resolve) {
      if (!dialog || typeof dialog.showModal !== "function") {
        resolve(window.confirm(text) ? buttons[0].value : null);
        return;
      }
      document.getElementById("cal-dialog-text").textContent = text;
      var list = document.getElementById("cal-dialog-list");
      list.textContent = "";
      items.forEach(function (line) {
        var li = document.createElement("li");
        li.textContent = line;
        list.appendChild(li);
      });
      var box = document.getElementById("cal-dialog-buttons");
      box.textContent = "";
      buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.className = b.primary ? "primary" : "";
        button.dataset.choice = b.value === null ? "" : String(b.value);
        button.addEventListener("click", function () { dialog.close(); resolve(b.value); });
        box.appendChild(button);
      });
      dialog.addEventListener("cancel", function () { resolve(null); }, { once: true });
      dialog.showModal();
    });
  }

  function scopeFor(entry) {
    if (entry.dataset.recurring !== "1") { return Promise.resolve("series"); }
    return ask(root.dataset.msgScope, [], [
      { label: root.dataset.msgThis, value: "this", primary: true },
      { label: root.dataset.msgSeries, value: "series" },
      { label: root.dataset.msgCancel, value: null }
    ]);
  }

  function post(fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    body.append("view", root.dataset.view);
    return fetch(base + "/save", {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRF-Token": root.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; },
        function () { return { status: r.status, data: {} }; });
    });
  }

  // Save a new time; on a refusal offer the free slots and "book anyway".
  function save(entry, start, end, scope, extra) {
    var fields = {
      uid: entry.dataset.uid, rid: entry.dataset.rid, etag: entry.dataset.etag, scope: scope,
      start: start, end: end, was_start: entry.dataset.start, was_end: entry.dataset.end
    };
    Object.keys(extra || {}).forEach(function (k) { fields[k] = extra[k]; });
    entry.classList.add("saving");
    return post(fields).then(function (res) {
      if (res.status === 200) {
        window.sessionStorage.setItem("cal-focus", entry.dataset.uid);
        window.location.reload();
        return;
      }
      if (res.status === 409) {
        var d = res.data;
        var lines = (d.conflicts || []).map(function (c) {
          return root.dataset.msgConflicts + ": " + c.title + " · " + c.time;
        });
        var buttons = (d.suggestions || []).map(function (s) {
          return { label: root.dataset.msgMoveTo + " " + s.label, value: s };
        });
        buttons.push({ label: d.confirm, value: "force" });
        buttons.push({ label: root.dataset.msgCancel, value: null });
        return ask(d.error + (buttons.length > 2 ? " " + root.dataset.msgSuggest + ":" : ""),
                   lines, buttons).then(function (choice) {
          if (choice === "force") {
            return save(entry, start, end, scope, { allow_conflict: "1" });
          }
          if (choice && choice.start) {
            return save(entry, choice.start, choice.end, scope, {});
          }
          window.location.reload();
        });
      }
      say((res.data && res.data.error) || root.dataset.msgFailed);
      window.setTimeout(function () { window.location.reload(); }, 1500);
    }, function () {
      say(root.dataset.msgFailed);
      entry.classList.remove("saving");
    });
  }

  function move(entry, start, end) {
    return scopeFor(entry).then(function (scope) {
      if (!scope) { window.location.reload(); return; }
      return save(entry, start, end, scope, {});
    });
  }

  if (!writable) { return; }

  // -- click a free time: the form of a new appointment ----------------------------------------
  function slotAt(column, clientY) {
    var top = column.getBoundingClientRect().top;
    return Math.max(0, Math.min(95, Math.floor((clientY - top) / slotPx)));
  }
  root.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    if (suppressClick && target.closest(".cal-entry")) {
      event.preventDefault();
      suppressClick = false;
      return;
    }
    var column = target.closest(".cal-day");
    if (!column || target.closest(".cal-entry")) { return; }
    var startMs = parse(column.dataset.date) + slotAt(column, event.clientY) * SLOT_MIN * MIN;
    var url = base + "/event?view=" + encodeURIComponent(root.dataset.view) +
      "&start=" + encodeURIComponent(format(startMs)) +
      "&end=" + encodeURIComponent(format(startMs + 2 * SLOT_MIN * MIN));
    window.location.assign(url);
  });

  // -- drag to move, drag the lower edge to resize ---------------------------------------------
  var drag = null;
  var suppressClick = false;
  root.addEventListener("pointerdown", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || event.button !== 0) { return; }
    var entry = target.closest(".cal-day .cal-entry[data-movable]");
    if (!entry) { return; }
    drag = {
      entry: entry, resize: !!target.closest(".cal-resize"), x: event.clientX, y: event.clientY,
      moved: false, column: entry.parentElement, startMs: parse(entry.dataset.start),
      endMs: parse(entry.dataset.end), top: entry.offsetTop, height: entry.offsetHeight,
      pointer: event.pointerId
    };
  });
  root.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointer) { return; }
    var dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dy) < 4 && Math.abs(event.clientX - drag.x) < 4) { return; }
    if (!drag.moved) {
      drag.moved = true;
      drag.entry.classList.add("dragging");
      try { drag.entry.setPointerCapture(event.pointerId); } catch (e) { /* not capturable */ }
    }
    event.preventDefault();
    var slots = Math.round(dy / slotPx);
    if (drag.resize) {
      var length = Math.max(slotPx, drag.height + slots * slotPx);
      drag.entry.style.height = length + "px";
      drag.slots = slots;
      return;
    }
    var under = document.elementsFromPoint(event.clientX, event.clientY);
    var column = null;
    for (var i = 0; i < under.length; i++) {
      if (under[i].classList && under[i].classList.contains("cal-day")) { column = under[i]; break; }
    }
    if (column && column !== drag.entry.parentElement) { column.appendChild(drag.entry); }
    drag.target = column || drag.entry.parentElement;
    drag.slots = slots;
    drag.entry.style.top = Math.max(0, drag.top + slots * slotPx) + "px";
  });
  function finish(event) {
    if (!drag || event.pointerId !== drag.pointer) { return; }
    var d = drag;
    drag = null;
    if (!d.moved) { return; }
    suppressClick = true;
    window.setTimeout(function () { suppressClick = false; }, 400);
    d.entry.classList.remove("dragging");
    var delta = (d.slots || 0) * SLOT_MIN * MIN;
    if (d.resize) {
      var end = Math.max(d.startMs + SLOT_MIN * MIN, d.endMs + delta);
      if (end === d.endMs) { return; }
      move(d.entry, format(d.startMs), format(end));
      return;
    }
    var days = Math.round((parse(d.target.dataset.date) - parse(d.column.dataset.date)) / (1440 * MIN));
    var shift = delta + days * 1440 * MIN;
    if (shift === 0) { return; }
    move(d.entry, format(d.startMs + shift), format(d.endMs + shift));
  }
  root.addEventListener("pointerup", finish);
  root.addEventListener("pointercancel", function (event) {
    if (drag && event.pointerId === drag.pointer) { drag = null; window.location.reload(); }
  });

  // -- keyboard: Alt+arrows move, Alt+Shift+up/down resize -------------------------------------
  root.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || !event.altKey) { return; }
    var entry = target.closest(".cal-entry[data-movable]");
    if (!entry) { return; }
    var step = { ArrowUp: -SLOT_MIN * MIN, ArrowDown: SLOT_MIN * MIN,
                 ArrowLeft: -1440 * MIN, ArrowRight: 1440 * MIN }[event.key];
    if (!step) { return; }
    event.preventDefault();
    var start = parse(entry.dataset.start);
    var end = parse(entry.dataset.end);
    if (event.shiftKey) {
      if (Math.abs(step) !== SLOT_MIN * MIN) { return; }
      end = Math.max(start + SLOT_MIN * MIN, end + step);
    } else {
      start += step;
      end += step;
    }
    move(entry, format(start), format(end));
  });
})();
