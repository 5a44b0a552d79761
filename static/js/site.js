// Enhancement only: every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll("button.copy-link").forEach(function (button) {
    var url = button.getAttribute("data-url");
    if (!url || !(navigator.share || navigator.clipboard)) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.share) {
        navigator.share({ url: url, title: document.title }).catch(function () {});
        return;
      }
      navigator.clipboard.writeText(url).then(function () {
        button.textContent = button.getAttribute("data-done") || "✓";
      });
    });
  });
})();

// Live count: refresh the signature count every 20 s while the page is visible.
(function () {
  "use strict";
  var box = document.querySelector(".counts[data-count-url]");
  if (!box || !window.fetch) return;
  // The count under the title and the one beside the form.
  var totals = document.querySelectorAll(".count-total");
  var meter = box.querySelector("meter");
  function refresh() {
    if (document.hidden) return;
    fetch(box.getAttribute("data-count-url"), { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        totals.forEach(function (total) { total.textContent = String(data.total); });
        if (meter && data.percent !== null) meter.value = data.percent;
      })
      .catch(function () {});
  }
  setInterval(refresh, 20000);
})();
