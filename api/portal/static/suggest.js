// Suggestions for the catalogue's search box: the page works without this script; with
// it, a native <datalist> offers titles, sectors and cities as you type (keyboard
// accessible as the browser makes any datalist). No inline script: served from the app.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("suggestions");
  if (!input || !list || !window.fetch) return;
  var lang = document.documentElement.lang === "en" ? "en" : "th";
  var timer = null;
  var latest = 0;
  input.setAttribute("list", "suggestions");
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var typed = input.value;
      var asked = ++latest;
      if (!typed.trim()) { list.replaceChildren(); return; }
      fetch("/v1/suggest?limit=8&q=" + encodeURIComponent(typed))
        .then(function (response) { return response.ok ? response.json() : { data: [] }; })
        .then(function (body) {
          if (asked !== latest) return; // an older answer arriving late
          list.replaceChildren.apply(list, body.data.map(function (item) {
            var option = document.createElement("option");
            option.value = lang === "en" ? item.label_en : item.label_th;
            option.dataset.kind = item.kind;
            return option;
          }));
        })
        .catch(function () { list.replaceChildren(); });
    }, 120);
  });
})();
