// A button marked data-print opens the browser's print dialogue (the booklet). A file of
// its own, not an onclick attribute: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
