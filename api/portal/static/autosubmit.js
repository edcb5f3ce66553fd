// A select marked data-autosubmit sends its form as soon as a choice is made (the sort
// of the catalogue); without JavaScript the form's own button does it. A file of its own,
// not an onchange attribute: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
      }
    });
  });
})();
