// The statement form, enhanced: the slug follows the title and says when it is
// taken, and the Markdown preview follows the text. Without this script the form
// does the same at save and with its "Preview" button.
(function () {
  "use strict";

  var editor = document.getElementById("statement-editor");
  if (!editor) {
    return;
  }
  var form = editor.closest("form");
  var csrf = form && form.querySelector("input[name=csrfmiddlewaretoken]");

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  // --- the slug ---------------------------------------------------------------
  var slug = document.getElementById("id_slug");
  var title = document.getElementById("id_title");
  if (slug) {
    var status = document.createElement("p");
    status.className = "help slug-status";
    status.setAttribute("aria-live", "polite");
    slug.insertAdjacentElement("afterend", status);
    var filledFromTitle = slug.value === "";

    var ask = function (params, onAnswer) {
      params.exclude = editor.dataset.statementId || "";
      var url = editor.dataset.slugCheckUrl + "?" + new URLSearchParams(params);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (answer) {
            onAnswer(answer);
          }
        })
        .catch(function () { status.textContent = ""; });
    };

    var show = function (answer) {
      // textContent: the other statement's title is text, never markup.
      status.textContent = answer.available ? editor.dataset.slugFree : answer.message;
      status.classList.toggle("errornote", !answer.available);
      slug.setAttribute("aria-invalid", answer.available ? "false" : "true");
    };

    var check = debounce(function () {
      var value = slug.value.trim();
      if (!value) {
        status.textContent = "";
        return;
      }
      ask({ slug: value }, function (answer) {
        if (answer.slug === slug.value.trim()) {
          show(answer);
        }
      });
    }, 300);

    // The server makes the address from the title, as it does at save without
    // this script: the same rules, and -2, -3… when the address is taken.
    var fillFromTitle = debounce(function () {
      var typed = title.value;
      ask({ title: typed }, function (answer) {
        if (filledFromTitle && title.value === typed) {
          slug.value = answer.slug;
          if (answer.slug) {
            show(answer);
          } else {
            status.textContent = "";
          }
        }
      });
    }, 300);

    slug.addEventListener("input", function () {
      filledFromTitle = slug.value === "";
      check();
    });
    if (title) {
      title.addEventListener("input", function () {
        if (filledFromTitle) {
          fillFromTitle();
        }
      });
    }
  }

  // --- the live preview -------------------------------------------------------
  function livePreview(textarea) {
    var box = document.createElement("div");
    box.className = "preview-body live-preview";
    box.setAttribute("aria-live", "polite");
    box.setAttribute("aria-label", editor.dataset.previewLabel);
    textarea.insertAdjacentElement("afterend", box);
    var render = debounce(function () {
      var body = new URLSearchParams({ text: textarea.value });
      fetch(editor.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "" },
        body: body,
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          // The server sanitizes with the public page's own rules (nh3).
          if (answer) {
            box.innerHTML = answer.html;
          }
        })
        .catch(function () {});
    }, 600);
    textarea.addEventListener("input", render);
  }

  if (editor.dataset.previewUrl) {
    var bodies = form.querySelectorAll("textarea#id_body, textarea[name^='versions-'][name$='-body']");
    Array.prototype.forEach.call(bodies, function (textarea) {
      if (textarea.name.indexOf("__prefix__") === -1) {
        livePreview(textarea);
      }
    });
  }
})();
