// Swagger UI leaves the choice lists of enum parameters without a name for screen
// readers, and its scrolling example boxes out of keyboard reach. Fix both as the
// operations are drawn.
(function () {
  "use strict";
  function fix(root) {
    root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(
      function (select) {
        var row = select.closest("tr[data-param-name]");
        select.setAttribute("aria-label", row.getAttribute("data-param-name"));
      }
    );
    root.querySelectorAll(".highlight-code > pre:not([tabindex])").forEach(
      function (box) {
        box.setAttribute("tabindex", "0");
      }
    );
  }
  var target = document.getElementById("swagger-ui");
  if (!target || !window.MutationObserver) return;
  new MutationObserver(function () { fix(target); }).observe(target, {
    childList: true,
    subtree: true,
  });
})();
