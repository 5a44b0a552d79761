// The alert and action pages of the admin, enhanced. Without this script the
// progress block shows the counts as of the page's loading (a reload refreshes
// them), and the action form shows the place fields all the time.
(function () {
  "use strict";

  // --- the progress of a sending alert ------------------------------------------
  var block = document.getElementById("alert-progress");
  // While sending: every few seconds. Scheduled: now and then. Otherwise the
  // counts do not move by themselves.
  var DELAYS = { sending: 3000, scheduled: 30000 };

  function show(progress) {
    var fields = block.querySelectorAll("[data-progress]");
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].getAttribute("data-progress");
      if (Object.prototype.hasOwnProperty.call(progress, name)) {
        // textContent: the values are numbers and a status name, never markup.
        fields[i].textContent = String(progress[name]);
      }
    }
    var bar = block.querySelector("[data-progress-bar]");
    if (bar) {
      bar.max = Math.max(progress.total, 1);
      bar.value = progress.done;
    }
    block.setAttribute("data-status", progress.status);
  }

  function poll() {
    var delay = DELAYS[block.getAttribute("data-status")];
    if (!delay) {
      return;
    }
    setTimeout(function () {
      if (document.visibilityState === "hidden") {
        poll();
        return;
      }
      fetch(block.getAttribute("data-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (progress) {
          if (progress) {
            var before = block.getAttribute("data-status");
            show(progress);
            if (before !== progress.status) {
              // Which buttons apply changed (pause, resume…): a reload shows them.
              setNote(note && note.getAttribute("data-changed-text"));
            }
          }
          poll();
        })
        .catch(function () { poll(); });
    }, delay);
  }

  var note = block && block.querySelector(".alert-progress-reload");

  function setNote(text) {
    // The same line, other words: nothing on the page moves.
    if (note && text) {
      note.textContent = text;
    }
  }

  if (block && block.getAttribute("data-url")) {
    if (note && DELAYS[block.getAttribute("data-status")]) {
      setNote(note.getAttribute("data-live-text"));
    }
    poll();
  }

  // --- the action form: the place fields only for "at one named place" ----------
  var where = document.getElementById("id_where");
  var place = document.querySelector("fieldset.action-place");
  if (where && place) {
    var toggle = function () {
      var errors = place.querySelector(".errorlist");
      place.hidden = where.value !== "place" && !errors;
    };
    where.addEventListener("change", toggle);
    toggle();
  }
})();
