// Better with JavaScript: rows of the listing form are added, removed and moved in
// place, without a round trip. Without it, the same buttons ask the server, which gives
// the form back with what was typed.
(function () {
  "use strict";
  var form = document.querySelector("form[data-listing-form]");
  if (!form) return;

  function renumber(fieldset) {
    var group = fieldset.getAttribute("data-group");
    fieldset.querySelectorAll("li[data-row]").forEach(function (row, index) {
      row.querySelectorAll("input, textarea, select, label").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(new RegExp("^" + group + "-\\d+-"), group + "-" + index + "-"));
        });
      });
      var position = row.querySelector("[data-position]");
      if (position) position.value = index + 1;
    });
  }

  function controls(row, fieldset) {
    var bar = document.createElement("div");
    [["↑", -1], ["↓", 1]].forEach(function (pair) {
      if (fieldset.getAttribute("data-group") !== "how_to_invest") return;
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = pair[0];
      button.setAttribute("aria-label", pair[1] < 0 ? form.dataset.up : form.dataset.down);
      button.setAttribute("data-move", pair[1] < 0 ? "up" : "down");
      button.addEventListener("click", function () {
        var sibling = pair[1] < 0 ? row.previousElementSibling : row.nextElementSibling;
        if (!sibling) return;
        if (pair[1] < 0) row.parentNode.insertBefore(row, sibling);
        else row.parentNode.insertBefore(sibling, row);
        renumber(fieldset);
        button.focus();
      });
      bar.appendChild(button);
    });
    row.appendChild(bar);
  }

  form.querySelectorAll("fieldset[data-group]").forEach(function (fieldset) {
    var list = fieldset.querySelector("ol.rows");
    list.querySelectorAll("li[data-row]").forEach(function (row) { controls(row, fieldset); });
    var add = fieldset.querySelector('button[name="action"][value^="add-"]');
    if (!add) return;
    add.addEventListener("click", function (event) {
      var rows = list.querySelectorAll("li[data-row]");
      if (!rows.length) return; // nothing to copy: let the server add one
      event.preventDefault();
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (el) {
        if (el.type === "checkbox") el.checked = false; else el.value = "";
        el.removeAttribute("aria-invalid");
      });
      copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
      copy.querySelectorAll("div:last-child > button").forEach(function (el) { el.parentNode.remove(); });
      list.appendChild(copy);
      controls(copy, fieldset);
      renumber(fieldset);
      var first = copy.querySelector("input");
      if (first) first.focus();
    });
  });
})();
