/* The check-in page: read the phone's position (WeChat JS-SDK inside WeChat, the browser's
   geolocation elsewhere), post it to /checkin and show the receipt. Plain ES5 for old WebViews. */
(function () {
  "use strict";
  var DENIED = "没有定位权限，无法签到。请在浏览器或手机设置中允许本页面使用位置信息，然后点下方按钮重试。";
  var DENIED_WX = "您拒绝了微信获取位置，无法签到。请点下方按钮重试，并在弹窗中选择「允许」。";
  var NO_GPS = "没有获取到定位。请确认手机已打开定位服务（GPS），到开阔处后点下方按钮重试。";
  var TIMEOUT = "定位超时。请确认已打开定位服务（GPS），然后点下方按钮重试。";
  var NETWORK = "网络异常，签到未提交。请检查网络后点下方按钮重试。";
  var root = document.getElementById("app");
  var page = JSON.parse(root.getAttribute("data-page"));
  var status = document.getElementById("status");
  var button = document.getElementById("go");
  var wxReady = null; /* null: not configured; then true / false */

  function show(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  function post(lat, lng, accuracy, system) {
    show("正在提交签到…");
    var body = { t: page.token, lat: lat, lng: lng, accuracy: accuracy, coord_system: system };
    var request = new XMLHttpRequest();
    request.open("POST", "/checkin");
    request.setRequestHeader("Content-Type", "application/json");
    request.onload = function () {
      var data = {};
      try { data = JSON.parse(request.responseText); } catch (e) { data = {}; }
      if (request.status === 200 && data.ok) {
        show(data.message, "ok");
        button.hidden = true;
      } else {
        show(data.error || "签到失败，请稍后重试。", "error");
        if (request.status === 403 || request.status === 410) { button.hidden = true; }
      }
    };
    request.onerror = function () { show(NETWORK, "error"); };
    request.send(JSON.stringify(body));
  }

  function browser() {
    if (!navigator.geolocation) { show(NO_GPS, "error"); return; }
    show("正在获取定位…");
    navigator.geolocation.getCurrentPosition(
      function (p) { post(p.coords.latitude, p.coords.longitude, p.coords.accuracy, "wgs84"); },
      function (e) { show(e.code === 1 ? DENIED : e.code === 3 ? TIMEOUT : NO_GPS, "error"); },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
    );
  }

  function wechat() {
    show("正在获取定位…");
    window.wx.getLocation({
      type: "gcj02",
      success: function (r) { post(r.latitude, r.longitude, r.accuracy, "gcj02"); },
      fail: function (r) {
        var why = (r && r.errMsg) || "";
        show(/deny|denied|auth/i.test(why) ? DENIED_WX : NO_GPS, "error");
      },
      cancel: function () { show(DENIED_WX, "error"); }
    });
  }

  function locate() {
    if (wxReady) { wechat(); } else { browser(); }
  }

  if (page.error) { return; }
  button.addEventListener("click", locate);
  if (page.wx && window.wx) {
    var config = page.wx;
    config.debug = false;
    window.wx.config(config);
    window.wx.ready(function () { wxReady = true; locate(); });
    window.wx.error(function () { wxReady = false; browser(); });
  } else {
    locate();
  }
})();
