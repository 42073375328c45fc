// The dashboard's daily chart, from the figures the page carries as JSON (json_script);
// the table of the same figures stays on the page for readers without the chart.
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("dashboard-chart");
    var source = document.getElementById("dashboard-series");
    if (!canvas || !source || typeof window.Chart === "undefined") {
      return;
    }
    var series = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [
          { label: series.issuedLabel, data: series.issued, backgroundColor: "#2f7d4f" },
          { label: series.redeemedLabel, data: series.redeemed, backgroundColor: "#c0632b" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
