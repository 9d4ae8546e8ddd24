/* 示范市人民政府门户网站 公共脚本 (demo)
 * Real portals load a third-party "accessibility toolbar" and a Simplified-to-Traditional script here.
 * The demo keeps harmless stand-ins so the header links do not throw; the proxy offers the real thing. */
function zh_tran(to) {
  if (window.console) { console.log("zh_tran(" + to + "): the demo portal has no Traditional version"); }
}
var aria = {
  start: function () { if (window.console) { console.log("aria.start(): no toolbar in the demo portal"); } },
  oldFixedStart: function () { if (window.console) { console.log("aria.oldFixedStart(): no elder version"); } }
};
window.onload = function () {
  var el = document.getElementById("today");
  if (el) {
    var d = new Date();
    var week = ["日", "一", "二", "三", "四", "五", "六"];
    el.innerHTML = d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日 星期" + week[d.getDay()];
  }
};
/* 【字体：大 中 小】 buttons on article pages. */
function doZoom(size) {
  var el = document.getElementById("zoom");
  if (el) { el.style.fontSize = size + "px"; }
}
