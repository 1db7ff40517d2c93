// Compose and schedule-edit pages: a live character counter, a search box over the group checklist, only
// the fields that apply shown, and a button that says what it will do. Without this script every field
// shows and the button reads "Save" (compose.html).
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
  var options = Array.from(form.querySelectorAll("[data-group-option]"));
  var filter = document.getElementById("group-filter");
  if (filter && options.length) {
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      options.forEach(function (option) {
        var text = option.dataset.search;
        var box = option.querySelector("input");
        // A chosen group stays in sight, so what will be sent to is never hidden.
        option.hidden = !box.checked && !words.every(function (word) { return text.indexOf(word) !== -1; });
      });
    });
  }
  var button = document.getElementById("compose-submit");
  var audience = document.getElementById("audience");
  var frequency = form.querySelector("select[name=frequency]");
  function when() {
    var chosen = form.querySelector("input[name=when]:checked") || form.querySelector("input[name=when]");
    return chosen && chosen.value ? chosen.value : "now";
  }
  function update() {
    var value = when();
    form.querySelectorAll(".when-section").forEach(function (section) {
      section.hidden = section.dataset.when !== value;
    });
    var often = frequency ? frequency.value : "";
    form.querySelectorAll("[data-frequency]").forEach(function (section) {
      section.hidden = section.dataset.frequency !== often;
    });
    if (audience) {
      // Subscribers exist in public groups only: the audience shows once a public group is chosen (or while
      // it holds a value, so that what will be sent, or refused, is never hidden).
      var filled = Array.from(audience.querySelectorAll("input[type=checkbox], textarea")).some(function (input) {
        return input.type === "checkbox" ? input.checked : input.value.trim() !== "";
      });
      audience.hidden = !filled && !options.some(function (option) {
        return option.dataset.public === "1" && option.querySelector("input").checked;
      });
    }
    if (button) { button.textContent = button.dataset["label" + value.charAt(0).toUpperCase() + value.slice(1)]; }
  }
  form.addEventListener("change", update);
  update();
})();
