// Compose page: a live character counter, and only the fields of the chosen "When" shown.
// A file, not an inline script: the Content-Security-Policy allows scripts from the console only.
(function () {
  "use strict";
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var counter = document.getElementById(area.dataset.counter);
    if (!counter) { return; }
    var max = parseInt(counter.dataset.max, 10);
    function update() {
      // Count code points, as Kaizala and the server do, not UTF-16 units (an emoji is one character).
      var used = Array.from(area.value).length;
      counter.textContent = used + " / " + max;
      counter.classList.toggle("text-danger", used > max);
    }
    area.addEventListener("input", update);
    update();
  });
  var form = document.getElementById("compose-form");
  if (!form) { return; }
  function showWhen() {
    var chosen = form.querySelector("input[name=when]:checked");
    var value = chosen ? chosen.value : "now";
    form.querySelectorAll(".when-section").forEach(function (section) {
      section.hidden = section.dataset.when !== value;
    });
  }
  form.querySelectorAll("input[name=when]").forEach(function (radio) { radio.addEventListener("change", showWhen); });
  showWhen();
})();
