// The live count beside the investor profile: ask the server how many published listings
// pass the limits as typed, whenever the form changes (the form works without this).
(function () {
  "use strict";
  var form = document.getElementById("profile-form");
  var out = document.getElementById("live-count");
  if (!form || !out || !window.fetch) return;
  var timer = null;
  var asked = 0;
  function update() {
    var data = new FormData(form);
    data.delete("csrf_token");
    data.delete("version");
    var params = new URLSearchParams(data);
    var mine = ++asked;
    fetch(form.dataset.countUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (mine !== asked || !body.text) return;
        out.textContent = body.text;
      })
      .catch(function () {});
  }
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
