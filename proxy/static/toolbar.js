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

/* Progressive enhancements of elder and reader modes (nothing essential depends on them; without script
   the buttons simply do not exist): (3) 朗读 reads the main content aloud with the browser's speechSynthesis,
   in a Mandarin voice for the page's script (zh-CN, zh-TW, or Cantonese zh-HK for the Hong Kong variant), and
   朗读焦点 reads each element as keyboard focus reaches it; (4) 阅读辅助线, a horizontal reading guide that
   follows the pointer (and keyboard focus).  The choices last for the browser session. */
(function () {
  "use strict";
  var bar = document.getElementById("a11y-proxy-toolbar");
  var list = bar && bar.querySelector(".a11y-proxy-tb-items");
  var root = document.documentElement;
  // Offered where they help most: elder mode and the reader view (MIIT asks voice reading of article pages).
  if (!list || !/(^|\s)a11y-proxy-(elder|reader)(\s|$)/.test(root.className + " " + document.body.className)) {
    return;
  }
  var lang = (document.documentElement.getAttribute("lang") || "zh-CN").toLowerCase();
  var traditional = lang.indexOf("hant") >= 0;
  var voiceLang = lang.indexOf("hk") >= 0 ? "zh-HK" : (traditional ? "zh-TW" : "zh-CN");
  var words = traditional
    ? {read: "朗讀全文", stop: "停止朗讀", focus: "朗讀焦點", guide: "閱讀輔助線"}
    : {read: "朗读全文", stop: "停止朗读", focus: "朗读焦点", guide: "阅读辅助线"};
  var store = window.sessionStorage || {getItem: function () { return null; }, setItem: function () {}};

  function button(label, pressed, onClick) {
    var item = document.createElement("li");
    item.className = "a11y-proxy-tb-item";
    var control = document.createElement("button");
    control.type = "button";
    control.className = "a11y-proxy-tb-link a11y-proxy-tb-button";
    control.textContent = label;
    control.setAttribute("aria-pressed", pressed ? "true" : "false");
    control.addEventListener("click", function () { onClick(control); });
    item.appendChild(control);
    list.appendChild(item);
    return control;
  }

  function setPressed(control, on) { control.setAttribute("aria-pressed", on ? "true" : "false"); }

  // --- voice reading -------------------------------------------------------------------------------
  var synth = window.speechSynthesis;
  if (synth && window.SpeechSynthesisUtterance) {
    var reading = false;
    var speak = function (text, onDone) {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = voiceLang;
      utterance.rate = 0.9; // a little slower than default: easier to follow
      if (onDone) { utterance.onend = onDone; utterance.onerror = onDone; }
      synth.speak(utterance);
    };
    var mainText = function () {
      var main = document.querySelector("[role=main], main") || document.body;
      var copy = main.cloneNode(true);
      var ours = copy.querySelectorAll("#a11y-proxy-toolbar, .a11y-proxy-skip, script, style, noscript");
      for (var i = 0; i < ours.length; i++) { ours[i].parentNode.removeChild(ours[i]); }
      return (copy.innerText || copy.textContent || "").replace(/\s+/g, " ").trim();
    };
    var chunks = function (text) { // long utterances are cut off by some engines: speak sentence groups
      var parts = text.match(/[^。！？!?；;\n]{1,160}[。！？!?；;]?/g) || [];
      return parts.filter(function (p) { return p.trim(); });
    };
    var readButton = button(words.read, false, function (control) {
      synth.cancel();
      if (reading) { reading = false; control.textContent = words.read; setPressed(control, false); return; }
      reading = true;
      control.textContent = words.stop;
      setPressed(control, true);
      var queue = chunks(mainText());
      var next = function () {
        if (!reading || !queue.length) {
          reading = false; control.textContent = words.read; setPressed(control, false); return;
        }
        speak(queue.shift(), next);
      };
      next();
    });
    readButton.setAttribute("data-a11y-proxy-speech", "page");

    var focusReading = store.getItem("a11y-proxy-focus-reading") === "1";
    var focusButton = button(words.focus, focusReading, function (control) {
      focusReading = !focusReading;
      store.setItem("a11y-proxy-focus-reading", focusReading ? "1" : "0");
      setPressed(control, focusReading);
      if (!focusReading) { synth.cancel(); }
    });
    focusButton.setAttribute("data-a11y-proxy-speech", "focus");
    document.addEventListener("focusin", function (event) {
      if (!focusReading || reading) { return; }
      var el = event.target;
      var text = el.getAttribute("aria-label") || el.getAttribute("alt") || el.innerText || el.value ||
        el.getAttribute("title") || el.getAttribute("placeholder") || "";
      text = String(text).replace(/\s+/g, " ").trim().slice(0, 200);
      if (text) { synth.cancel(); speak(text); }
    });
  }

  // --- reading guide -------------------------------------------------------------------------------
  var guide = null;
  var place = function (y) { if (guide) { guide.style.top = Math.max(0, y - guide.offsetHeight / 2) + "px"; } };
  var onMove = function (event) { place(event.clientY); };
  var onFocus = function (event) {
    if (!event.target.getBoundingClientRect) { return; }
    var box = event.target.getBoundingClientRect();
    place(box.top + box.height / 2);
  };
  var showGuide = function (on) {
    if (on && !guide) {
      guide = document.createElement("div");
      guide.className = "a11y-proxy-guide";
      // Inline and !important: nothing of the portal's may restyle it, and it never catches a click.
      guide.style.cssText = "position:fixed !important;left:0 !important;right:0 !important;" +
        "height:2.4em !important;margin:0 !important;padding:0 !important;pointer-events:none !important;" +
        "z-index:2147483647 !important;background:rgba(255,235,59,0.28) !important;" +
        "border-top:3px solid #0b3d91 !important;border-bottom:3px solid #0b3d91 !important;";
      guide.setAttribute("aria-hidden", "true");
      document.body.appendChild(guide);
      document.addEventListener("mousemove", onMove, {passive: true});
      document.addEventListener("focusin", onFocus);
      place(window.innerHeight / 2);
    } else if (!on && guide) {
      guide.parentNode.removeChild(guide);
      guide = null;
      document.removeEventListener("mousemove", onMove);
      document.removeEventListener("focusin", onFocus);
    }
  };
  var guideOn = store.getItem("a11y-proxy-guide") === "1";
  button(words.guide, guideOn, function (control) {
    guideOn = !guideOn;
    store.setItem("a11y-proxy-guide", guideOn ? "1" : "0");
    setPressed(control, guideOn);
    showGuide(guideOn);
  }).setAttribute("data-a11y-proxy-guide", "");
  showGuide(guideOn);
})();
