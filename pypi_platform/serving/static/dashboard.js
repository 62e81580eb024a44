// The dashboard's charts: fetch this app's /dashboard-data/ JSON and draw it with Chart.js.
// The page names its data and view in a JSON block (#page-config); each chart is a <canvas id="chart-…">.
(function () {
  "use strict";

  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#aaaaaa"];
  const LABELS = {with_mirrors: "with mirrors", without_mirrors: "without mirrors"};

  const config = JSON.parse(document.getElementById("page-config").textContent);
  const status = document.getElementById("status");

  function say(text, failed) {
    if (status) {
      status.textContent = text;
      status.classList.toggle("failed", Boolean(failed));
    }
  }

  // Each value as a share (in %) of its day's sum over all series; days without data stay gaps.
  function percentages(seriesList, days) {
    const sums = new Array(days).fill(0);
    for (const s of seriesList) s.data.forEach((v, i) => { if (v !== null) sums[i] += v; });
    return seriesList.map(s => s.data.map((v, i) => (v === null ? null : sums[i] ? (100 * v) / sums[i] : 0)));
  }

  function draw(canvas, dates, seriesList, percent, stackPercent) {
    const values = percent ? percentages(seriesList, dates.length) : seriesList.map(s => s.data);
    const stacked = percent && stackPercent;
    const datasets = seriesList.map((s, i) => ({
      label: s.label,
      data: values[i],
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length] + (stacked ? "99" : "33"),
      fill: stacked ? (i === 0 ? "origin" : "-1") : false,
      borderWidth: 1.5,
      pointRadius: dates.length > 60 ? 0 : 2,
      tension: 0.1,
      spanGaps: false,
    }));
    return new Chart(canvas, {
      type: "line",
      data: {labels: dates, datasets},
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {ticks: {maxTicksLimit: 12}},
          y: {
            stacked,
            beginAtZero: true,
            max: stacked ? 100 : undefined,
            ticks: {callback: v => (percent ? v + " %" : Number(v).toLocaleString("en"))},
          },
        },
        plugins: {
          legend: {position: "bottom", labels: {boxWidth: 12}},
          tooltip: {
            callbacks: {
              label: item => item.dataset.label + ": " +
                (percent ? item.parsed.y.toFixed(1) + " %" : Number(item.parsed.y).toLocaleString("en")),
            },
          },
        },
      },
    });
  }

  function drawPackage(data) {
    for (const chart of data.charts) {
      const canvas = document.getElementById("chart-" + chart.dimension);
      if (!canvas) continue;
      const series = chart.series.map(s => ({label: LABELS[s.category] || s.category, data: s.data}));
      // Without mirrors is a part of with mirrors: their shares of a sum mean nothing, so that chart stays absolute.
      const percent = config.view === "percent" && chart.dimension !== "overall";
      draw(canvas, data.dates, series, percent, true);
    }
    say(data.dates.length ? "Daily downloads from " + data.start + " to " + data.end + " (UTC)." : "No data.");
  }

  function drawCompare(data) {
    const canvas = document.getElementById("chart-compare");
    const series = data.series.map(s => ({label: s.package, data: s.data}));
    draw(canvas, data.dates, series, config.view === "percent", false);
    say(data.dates.length ? "Daily downloads from " + data.start + " to " + data.end + " (UTC)." : "No data.");
  }

  fetch(config.data_url, {headers: {Accept: "application/json"}})
    .then(response => response.json().then(body => {
      if (!response.ok) throw new Error(body.error || response.statusText);
      return body;
    }))
    .then(data => {
      if (config.kind === "package") drawPackage(data); else drawCompare(data);
      document.body.dataset.charts = "ready";
    })
    .catch(error => {
      say("The charts could not be loaded: " + error.message, true);
      document.body.dataset.charts = "failed";
    });
})();
