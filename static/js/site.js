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
