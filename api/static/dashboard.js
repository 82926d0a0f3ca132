// Draws the dashboard charts and the map from the figures embedded in the page; polls the feed.
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var FEED_MS = 5000;
  var BLUE = "#2f6fb5", GREEN = "#2f8f4e";
  var charts = [];
  var fmt = function (n) { return n == null ? "—" : Number(n).toLocaleString("zh-CN"); };
  var pct = function (v) { return v == null ? "—" : (v * 100).toFixed(1) + "%"; };

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return null;
    var chart = echarts.init(el);
    chart.setOption(option);
    charts.push(chart);
    return chart;
  }

  function bar(items, horizontal) {
    var names = items.map(function (i) { return i.name; });
    var values = items.map(function (i) { return i.value; });
    var cat = { type: "category", data: names, axisLabel: { interval: 0, width: 80, overflow: "truncate", hideOverlap: true } };
    var val = { type: "value", minInterval: 1, axisLabel: { formatter: fmt } };
    if (!horizontal) cat.axisLabel.rotate = names.length > 4 ? 30 : 0;
    return {
      tooltip: { trigger: "axis", valueFormatter: fmt },
      grid: { left: horizontal ? 90 : 50, right: 24, top: 16, bottom: horizontal ? 24 : 56, containLabel: false },
      xAxis: horizontal ? val : cat,
      yAxis: horizontal ? Object.assign({ inverse: true }, cat) : val,
      series: [{ type: "bar", data: values, itemStyle: { color: BLUE }, label: { show: true, position: horizontal ? "right" : "top", formatter: function (p) { return fmt(p.value); } } }]
    };
  }

  // The trend: each day's rate; weekends and holidays shaded, as most placements rest then.
  var trend = figures.trend || [];
  var days = trend.map(function (d) { return d.day.slice(5); });
  draw("chart-trend", {
    tooltip: {
      trigger: "axis",
      formatter: function (ps) {
        var d = trend[ps[0].dataIndex];
        return d.day + (d.workday ? "" : "（休息日）") + "<br>签到率 " + pct(d.rate) + "<br>已签到 " + fmt(d.value) + " / 应签到 " + fmt(d.due) + " 人";
      }
    },
    grid: { left: 48, right: 16, top: 20, bottom: 30 },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      { // grey bands behind weekends and holidays
        type: "bar", silent: true, barWidth: "100%", itemStyle: { color: "rgba(120,130,150,0.14)" }, tooltip: { show: false },
        data: trend.map(function (d) { return d.workday ? null : 100; })
      },
      {
        type: "line", symbolSize: 6, itemStyle: { color: GREEN }, connectNulls: false,
        label: { show: true, fontSize: 10, formatter: function (p) { return p.value == null ? "" : p.value + "%"; } },
        data: trend.map(function (d) { return d.rate == null ? null : +(d.rate * 100).toFixed(1); })
      }
    ]
  });
  draw("chart-gender", {
    tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + fmt(p.value) + " 人（" + p.percent + "%）"; } },
    series: [{ type: "pie", radius: ["35%", "62%"], data: figures.gender || [], label: { formatter: "{b} {d}%" } }]
  });
  draw("chart-majors", bar(figures.majors || [], true));
  draw("chart-industries", bar(figures.industries || [], true));
  draw("chart-salary", bar(figures.salary || [], false));

  // The map: Guizhou by prefecture, coloured by 签到率, from the vendored GeoJSON.
  var mapEl = document.getElementById("chart-map");
  var pref = (figures.prefectures || {}).items || [];
  if (mapEl && window.echarts) {
    var url = JSON.parse(document.getElementById("map-url").textContent);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
      echarts.registerMap("guizhou", geo);
      var byName = {};
      pref.forEach(function (p) { byName[p.name] = p; });
      var chart = draw("chart-map", {
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var d = byName[p.name];
            if (!d) return p.name;
            return d.name + "<br>在岗实习 " + fmt(d.placements) + " 个<br>签到率（近30天）" + pct(d.rate.value) + "<br>未处理预警 " + fmt(d.alerts) + " 条";
          }
        },
        visualMap: {
          min: 0, max: 100, left: 8, bottom: 8, text: ["签到率 100%", "0%"], calculable: false, itemHeight: 90,
          inRange: { color: ["#f9d2cf", "#fff4d6", "#d8f0df", "#2f8f4e"] }, outOfRange: { color: "#eceff3" }
        },
        series: [{
          type: "map", map: "guizhou", roam: false, aspectScale: 0.92, layoutCenter: ["50%", "50%"], layoutSize: "95%",
          label: { show: true, fontSize: 11, formatter: function (p) { var d = byName[p.name]; return d ? d.short + "\n" + fmt(d.placements) : p.name; } },
          emphasis: { label: { show: true } },
          data: pref.map(function (p) { return { name: p.name, value: p.rate.value == null ? null : +(p.rate.value * 100).toFixed(1) }; })
        }]
      });
      if (chart) mapEl.setAttribute("data-drawn", "1");
    }).catch(function () { mapEl.textContent = "地图加载失败，请刷新重试。"; });
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // The live feed, always in Beijing time (the server renders the first paint the same way).
  var feed = document.getElementById("feed");
  var clock = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
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
      t.setAttribute("datetime", i.at);
      t.textContent = clock.format(new Date(i.at));
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
  if (feed) setTimeout(poll, FEED_MS);
})();
