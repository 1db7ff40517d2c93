// The results page's per-question charts (actions/results.html), drawn by the vendored Chart.js from the
// numbers the page carries (json_script: the Content-Security-Policy allows no inline script). The live
// part of the page is replaced every 2 s by htmx; its charts are drawn again from the new numbers.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  function draw() {
    var source = document.getElementById("action-chart-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    data.questions.forEach(function (q) {
      var canvas = document.getElementById("chart-" + q.id);
      if (!canvas || canvas.dataset.drawn) { return; }
      new Chart(canvas, {
        type: "bar",
        data: {labels: q.labels, datasets: [{label: "Answers", data: q.counts, backgroundColor: "#0d6efd"}]},
        options: {
          indexAxis: "y",
          animation: false,
          maintainAspectRatio: false,
          scales: {x: {beginAtZero: true, ticks: {precision: 0}}},
          plugins: {legend: {display: false}}
        }
      });
      canvas.dataset.drawn = "1";
      canvas.closest("[data-chart]").dataset.drawn = "1";
    });
  }
  draw();
  document.body.addEventListener("htmx:afterSettle", draw);
})();
