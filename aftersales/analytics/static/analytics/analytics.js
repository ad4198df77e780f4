// The report charts: each [data-chart] element is drawn with ECharts (vendored beside this
// file, no CDN) from the figures the page put in <script type="application/json"
// id="analytics-data">. The tables beside the charts carry the exact numbers.
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var PARTY_COLOURS = { merchant: "#b42318", carrier: "#b54708", buyer: "#1d4ed8" };
  var FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif';

  function percentAxis() {
    return { type: "value", axisLabel: { formatter: "{value}%" } };
  }

  var builders = {
    trend: function (d) {
      var t = d.trend;
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        legend: { top: 0 },
        grid: { left: 50, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: t.days },
        yAxis: percentAxis(),
        series: t.series.map(function (s) {
          return { name: s.name, type: "line", data: s.values, connectNulls: false, showSymbol: t.days.length <= 31 };
        })
      };
    },
    reasons: function (d) {
      var rows = d.reasons.slice().reverse();
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 140, right: 30, top: 10, bottom: 30 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r.name; }) },
        series: [{
          type: "bar",
          name: d.words.cases,
          data: rows.map(function (r) {
            return { value: r.value, itemStyle: { color: PARTY_COLOURS[r.party] || "#6b7280" } };
          }),
          label: { show: true, position: "right" }
        }]
      };
    },
    sla: function (d) {
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        grid: { left: 50, right: 20, top: 20, bottom: 60 },
        xAxis: { type: "category", data: d.sla.map(function (r) { return r.name; }), axisLabel: { interval: 0, rotate: 20 } },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [{
          type: "bar",
          data: d.sla.map(function (r) {
            return { value: r.value, itemStyle: { color: r.value >= 95 ? "#067647" : r.value >= 80 ? "#b54708" : "#b42318" } };
          }),
          label: { show: true, position: "top", formatter: "{c}%" }
        }]
      };
    }
  };

  // One metric of the platform's: a line per definition version (they differ in unit).
  builders.metric = function (d, el) {
    var series = d.metrics[el.getAttribute("data-metric")].series;
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 50, right: 50, top: 40, bottom: 30 },
      xAxis: { type: "time" },
      yAxis: series.length ? series.map(function (s, i) {
        return { type: "value", position: i ? "right" : "left", axisLabel: { formatter: "{value}" + s.unit } };
      }) : [{ type: "value" }],
      series: series.map(function (s, i) {
        return { name: s.name, type: "line", yAxisIndex: i, data: s.points };
      })
    };
  };

  // After-sales cost by kind, stacked by who paid (yuan).
  builders.costs = function (d) {
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: d.costs.kinds },
      yAxis: { type: "value", axisLabel: { formatter: "¥{value}" } },
      series: d.costs.payers.map(function (p) {
        return { name: p.name, type: "bar", stack: "payer", data: p.values };
      })
    };
  };

  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var build = builders[el.getAttribute("data-chart")];
    if (!build) return;
    var chart = echarts.init(el, null, { renderer: "svg" });
    var option = build(data, el);
    option.textStyle = { fontFamily: FONT };
    option.animation = false;
    chart.setOption(option);
    el.setAttribute("data-rendered", "true");
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
