// The reports dashboard's charts. The numbers come from the page's JSON
// data block (the CSP runs no inline script) and are the same as the
// tables under each chart, which stay the page for print and for phones
// without script. Labels come translated from the server, and ECharts'
// own words follow the page's language; each box keeps the page's
// aria-label, and its table is what a screen reader reads.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var block = document.getElementById("report-data");
  if (!block || !window.echarts) return;
  var d = JSON.parse(block.textContent);
  var L = d.labels;
  var en = document.documentElement.lang === "en";
  var shortMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var red = "#b3261e", green = "#1e6b3a", amber = "#b06000", blue = "#0b57d0", gold = "#d4a017";
  var font = getComputedStyle(document.body).fontFamily;
  var narrow = function () { return window.innerWidth < 520; };
  var charts = [];

  // draw shows a chart's box (hidden until now, so a page without script
  // has no empty frames) and draws into it.
  function draw(id, option, height) {
    var el = document.getElementById(id);
    if (!el) return null;
    el.hidden = false;
    if (height) el.style.height = height + "px";
    var c = echarts.init(el, null, { renderer: "canvas", locale: en ? "EN" : "ZH" });
    option.textStyle = { fontFamily: font, fontSize: 14 };
    // An HTML tooltip is written with style attributes, which the CSP
    // refuses; drawn on the canvas it needs none.
    if (option.tooltip) {
      option.tooltip.renderMode = "richText";
      option.tooltip.textStyle = { fontSize: 15 };
    }
    option.animationDuration = 400;
    c.setOption(option);
    charts.push(c);
    return c;
  }

  function monthLabel(m, i) {
    var year = m.slice(0, 4), mo = parseInt(m.slice(5), 10);
    var s = en ? shortMonths[mo - 1] : mo + "月";
    return i === 0 || mo === 1 ? s + "\n" + year : s;
  }

  var legend = { top: 0, left: "center", itemGap: 14, textStyle: { fontSize: 14 } };
  var axisName = { fontSize: 13, color: "#5f5a56" };

  var months = draw("chart-months", {
    color: [red, green, amber, blue],
    tooltip: { trigger: "axis" },
    legend: legend,
    grid: { left: 6, right: 6, bottom: 6, top: narrow() ? 92 : 64, containLabel: true },
    xAxis: { type: "category", data: d.months, axisLabel: { formatter: monthLabel, fontSize: 13 } },
    yAxis: [
      { type: "value", name: L.axis_hours, nameTextStyle: axisName, minInterval: 1 },
      { type: "value", name: L.axis_points, nameTextStyle: axisName, minInterval: 1, splitLine: { show: false } }
    ],
    series: [
      { name: L.hours, type: "bar", data: d.hours, barMaxWidth: 36 },
      { name: L.awarded, type: "line", yAxisIndex: 1, data: d.awarded, symbolSize: 7, lineStyle: { width: 3 } },
      { name: L.deducted, type: "line", yAxisIndex: 1, data: d.deducted, symbolSize: 7, lineStyle: { width: 3 } },
      { name: L.redeemed, type: "line", yAxisIndex: 1, data: d.redeemed, symbolSize: 7, lineStyle: { width: 3, type: "dashed" } }
    ]
  });

  var kids = d.children || [];
  if (kids.length) {
    // One row of bars per child org; its name is a link too (triggerEvent),
    // since a thin bar of a quiet village is hard to hit with a finger.
    var c = draw("chart-children", {
      color: [red, green],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: legend,
      grid: { left: 6, right: 18, bottom: 6, top: 64, containLabel: true },
      yAxis: { type: "category", inverse: true, triggerEvent: true, data: kids.map(function (k) { return k.name; }),
        axisLabel: { fontSize: 14, width: narrow() ? 84 : 160, overflow: "truncate", color: blue } },
      xAxis: [
        { type: "value", position: "bottom", name: L.axis_hours, nameLocation: "middle", nameGap: 26, nameTextStyle: axisName, minInterval: 1 },
        { type: "value", position: "top", splitLine: { show: false }, minInterval: 1, axisLabel: { color: green } }
      ],
      series: [
        { name: L.hours, type: "bar", xAxisIndex: 0, data: kids.map(function (k) { return k.hours; }), barMaxWidth: 22, cursor: "pointer" },
        { name: L.awarded, type: "bar", xAxisIndex: 1, data: kids.map(function (k) { return k.awarded; }), barMaxWidth: 22, cursor: "pointer" }
      ]
    }, Math.max(240, 110 + 56 * kids.length));
    c.on("click", function (p) {
      var i = p.componentType === "yAxis" ? kids.map(function (k) { return k.name; }).indexOf(p.value) : p.dataIndex;
      if (kids[i]) window.location.href = kids[i].href;
    });
  }

  var stars = d.stars || [];
  draw("chart-stars", {
    color: [gold],
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { left: 6, right: 6, bottom: 6, top: 30, containLabel: true },
    xAxis: { type: "category", data: stars.map(function (s) { return s.label; }), axisLabel: { fontSize: 14, interval: 0 } },
    yAxis: { type: "value", name: L.people, nameTextStyle: axisName, minInterval: 1 },
    series: [{ name: L.people, type: "bar", data: stars.map(function (s) { return s.people; }), barMaxWidth: 48,
      label: { show: true, position: "top", fontSize: 14 } }]
  });

  // Charts follow the box: a phone turned sideways, a window resized.
  var pending = 0;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      // The legend wraps onto more lines on a phone; keep the bars below it.
      if (months) months.setOption({ grid: { top: narrow() ? 92 : 64 } });
      charts.forEach(function (c) { c.resize(); });
    }, 100);
  });
});
