// Draws the dashboard charts from the figures embedded in the page; polls the live feed.
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var FEED_MS = 5000;
  var charts = [];

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var chart = echarts.init(el);
    chart.setOption(option);
    charts.push(chart);
  }

  function bar(items, horizontal) {
    var names = items.map(function (i) { return i.name; });
    var values = items.map(function (i) { return i.value; });
    var cat = { type: "category", data: names, axisLabel: { interval: 0, width: 90, overflow: "truncate" } };
    var val = { type: "value", minInterval: 1 };
    return {
      tooltip: { trigger: "axis" },
      grid: { left: horizontal ? 110 : 40, right: 20, top: 20, bottom: 40 },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? Object.assign({ inverse: true }, cat) : val,
      series: [{ type: "bar", data: values, itemStyle: { color: "#2f6fb5" } }]
    };
  }

  draw("chart-trend", {
    tooltip: { trigger: "axis" },
    grid: { left: 40, right: 20, top: 20, bottom: 30 },
    xAxis: { type: "category", data: figures.trend.map(function (d) { return d.day.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "line", smooth: true, areaStyle: {}, data: figures.trend.map(function (d) { return d.value; }) }]
  });
  draw("chart-gender", {
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: figures.gender }]
  });
  draw("chart-regions", bar(figures.regions, false));
  draw("chart-majors", bar(figures.majors, true));
  draw("chart-industries", bar(figures.industries, true));
  draw("chart-salary", bar(figures.salary, false));
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  var feed = document.getElementById("feed");
  function renderFeed(items) {
    feed.textContent = "";
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "暂无动态";
      feed.appendChild(empty);
    }
    items.forEach(function (i) {
      var li = document.createElement("li");
      var t = document.createElement("time");
      t.textContent = new Date(i.at).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
      li.appendChild(t);
      li.appendChild(document.createTextNode(" " + i.school + " · " + i.student + " " + i.text));
      feed.appendChild(li);
    });
  }
  function poll() {
    fetch("/admin/feed.json", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) renderFeed(data.items); })
      .catch(function () {})
      .finally(function () { setTimeout(poll, FEED_MS); });
  }
  setTimeout(poll, FEED_MS);
})();
