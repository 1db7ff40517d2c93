// The dashboard's sends-per-hour charts, drawn by the vendored Chart.js from the numbers the page carries
// (json_script, so no inline script: the Content-Security-Policy allows scripts from the console only).
(function () {
  "use strict";
  var source = document.getElementById("send-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var series = [
    {key: "sent", label: "Sent", color: "#198754"},
    {key: "failed", label: "Failed", color: "#dc3545"},
    {key: "unconfirmed", label: "Unconfirmed", color: "#ffc107"}
  ];
  function draw(canvasId, chart) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: series.map(function (s) {
          return {label: s.label, data: chart[s.key], backgroundColor: s.color, stack: "sends"};
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {x: {stacked: true, ticks: {autoSkip: true, maxTicksLimit: 12}},
                 y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {position: "bottom"}}
      }
    });
    canvas.closest("[data-chart]").dataset.drawn = "1";
  }
  draw("send-chart-day", data.day);
  draw("send-chart-week", data.week);
})();
