// The dashboard's per-hour charts (sends by outcome, posts from members), drawn by the vendored Chart.js from
// the numbers the page carries (json_script, so no inline script: the Content-Security-Policy allows scripts
// from the console only).
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var charts = [
    {data: "send-chart-data", canvas: "send-chart", stack: "sends", series: [
      {key: "sent", label: "Sent", color: "#198754"},
      {key: "failed", label: "Failed", color: "#dc3545"},
      {key: "unconfirmed", label: "Unconfirmed", color: "#ffc107"}
    ]},
    {data: "posts-chart-data", canvas: "posts-chart", stack: "posts", series: [
      {key: "posts", label: "Posts from members", color: "#0d6efd"}
    ]}
  ];
  function draw(canvasId, chart, spec) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: spec.series.map(function (s) {
          return {label: s.label, data: chart[s.key], backgroundColor: s.color, stack: spec.stack};
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
  charts.forEach(function (spec) {
    var source = document.getElementById(spec.data);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    draw(spec.canvas + "-day", data.day, spec);
    draw(spec.canvas + "-week", data.week, spec);
  });
})();
