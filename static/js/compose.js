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
    // The chosen kind's fields only (an edit page keeps its kind in a hidden input).
    var picked = form.querySelector("input[name=kind]:checked, input[name=kind][type=hidden]");
    var kind = picked ? picked.value : "text";
    form.querySelectorAll(".kind-section").forEach(function (section) {
      section.hidden = section.dataset.kinds.split(" ").indexOf(kind) === -1;
    });
    form.querySelectorAll("[data-kinds-label]").forEach(function (label) {
      label.hidden = label.dataset.kindsLabel.split(" ").indexOf(kind) === -1;
    });
    // A job's members: those of the chosen groups (a ticked one stays in sight).
    var chosen = options.filter(function (option) { return option.querySelector("input").checked; })
      .map(function (option) { return option.querySelector("input").value; })
      .concat(Array.prototype.map.call(form.querySelectorAll("input[name=groups][type=hidden]"),
                                       function (input) { return input.value; }));  // an edit's own group
    form.querySelectorAll("[data-member-option]").forEach(function (option) {
      var box = option.querySelector("input");
      var groups = (box.dataset.groups || "").split(" ");
      option.hidden = !box.checked && !chosen.some(function (pk) { return groups.indexOf(pk) !== -1; });
    });
    showFileName();
  }
  // The preview is rendered without the file (it is not sent with every keystroke): name it here.
  var fileInput = form.querySelector("input[name=media_file]");
  function showFileName() {
    var name = fileInput && fileInput.files && fileInput.files.length ? fileInput.files[0].name : "";
    document.querySelectorAll("#card-preview [data-file-name]").forEach(function (slot) {
      slot.textContent = name ? "Attached: " + name : "No file chosen yet";
    });
  }
  document.body.addEventListener("htmx:afterSwap", showFileName);
  // Survey questions: one more blank question from the formset's empty form.
  var add = document.getElementById("add-question");
  var template = document.getElementById("survey-question-template");
  var total = form.querySelector("input[name=q-TOTAL_FORMS]");
  if (add && template && total) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace("Question </label>", "Question " + (index + 1) + "</label>");
      document.getElementById("survey-questions").insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
    });
  }
  form.addEventListener("change", update);
  update();
})();
