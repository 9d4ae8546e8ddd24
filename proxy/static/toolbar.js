/* a11y-proxy toolbar: optional enhancements (docs/toolbar.md).  The toolbar works without this file;
   with it, (1) a toggle keeps the page's #fragment (the reader comes back to the same spot), and (2) a page
   shown in a frame of a page that has its own toolbar drops its copy (one toolbar per screen). */
(function () {
  "use strict";
  var bar = document.getElementById("a11y-proxy-toolbar");
  if (!bar) { return; }
  try {
    if (window.top !== window && window.top.document.getElementById("a11y-proxy-toolbar")) {
      bar.parentNode.removeChild(bar);
      return;
    }
  } catch (e) { /* a cross-origin top page: keep ours */ }

  function keepFragment(event) {
    var link = event.target;
    while (link && link !== bar && link.tagName !== "A") { link = link.parentNode; }
    if (!link || link === bar || !location.hash || !window.URL) { return; }
    try {
      var url = new URL(link.href);
      var next = url.searchParams.get("next");
      if (next && next.indexOf("#") < 0 && url.pathname.indexOf("/-/") === 0) {
        url.searchParams.set("next", next + location.hash);
        link.href = url.href;
      }
    } catch (e) { /* leave the link as it is */ }
  }
  bar.addEventListener("click", keepFragment, true);
})();
