/* 便民服务栏目脚本 (demo): the column is rendered in the browser, as newer portals do.
 * Written like portal code of the last ten years: XMLHttpRequest, string templates and innerHTML. */
(function () {
  function get(url, done, headers) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url, true);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.onreadystatechange = function () {
      if (xhr.readyState === 4 && xhr.status === 200) { done(xhr.responseText); }
    };
    xhr.send();
  }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  // The search box: its label, a hint and a preset keyword (the keyword is submitted: it stays as it is).
  var kw = document.getElementById("kw");
  kw.placeholder = "请输入事项名称";
  kw.setAttribute("value", "社会保障");
  document.getElementById("go").value = "查询";
  document.getElementById("send").value = "发送";

  // 办事指南: from a JSON API the site's rules do not list, so it reaches the page in Simplified.
  get("/data/services.json", function (text) {
    var data = JSON.parse(text);
    var html = "", depts = {};
    for (var i = 0; i < data.items.length; i++) {
      var item = data.items[i];
      // The keyword is highlighted, which splits the phrase across markup: <b>心理</b>发展.
      html += '<li><span>' + esc(item.dept) + '</span><a href="' + esc(item.url) + '" title="' + esc(item.hint) +
              '"><b>' + esc(item.keyword) + '</b>' + esc(item.rest) + '</a></li>';
      depts[item.dept] = true;
    }
    document.getElementById("service-list").innerHTML = html;
    var select = document.getElementById("dept");
    select.appendChild(new Option("全部部门"));
    for (var dept in depts) { select.appendChild(new Option(dept)); }
    document.title = data.column + "（共" + data.items.length + "项）_示范市人民政府";
    document.getElementById("api").innerHTML = '接口说明：返回字段 <code>事项名称</code>、<code>办理部门</code>' +
      '，<span translate="no">示范市政务数据开放平台</span>提供。';
    setTimeout(function () {
      document.getElementById("updated").textContent = "数据更新时间：" + data.updated + "，数据来源：" + data.column + "数据库";
    }, 300);
  });

  // 通知公告: an HTML fragment, converted by the proxy before it arrives.
  get("/bmfw/notices.html", function (html) {
    document.getElementById("notice-list").innerHTML = html;
  });

  // 政务要闻: a JSON API the rules list (trad.json), converted by the proxy before it arrives.
  get("/api/news.json", function (text) {
    var items = JSON.parse(text).slice(0, 4), html = "";
    for (var i = 0; i < items.length; i++) {
      html += '<li><span>' + esc(items[i].date) + '</span><a href="' + esc(items[i].url) + '">' + esc(items[i].title) +
              '</a></li>';
    }
    document.getElementById("news-list").innerHTML = html;
  });
})();
