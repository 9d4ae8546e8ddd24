/* a11y-proxy: Traditional script for the text a page's own scripts write (docs/traditional.md).
 *
 * The proxy converts the HTML it sends; this script converts what the portal's scripts add afterwards
 * (document.write source lines, AJAX lists, client-rendered columns, script-set title/alt, document.title).
 * The proxy puts it first in <head>, synchronous, in Traditional mode only, so it is watching before any
 * of the portal's scripts runs.  It batches the new text, asks the proxy (POST /-/convert, same origin)
 * to convert it with the page's own converter (variant and site phrases), and writes the result back into
 * the same nodes and attributes, without watching its own writes.
 *
 * Never touched: script text, URLs, form values that are submitted (text and hidden inputs, named submit
 * buttons; an <option> keeps submitting its original text), and whatever the server leaves alone: script,
 * style, code, kbd, samp, var, textarea, pre holding code, svg, math, template, translate="no",
 * contenteditable, parts in a language other than Chinese, the rules' skip selectors and the subtrees the
 * server marked data-a11y-skip-trad.  Text of the proxy's own additions ([data-a11y-proxy]) is left too.
 *
 * Which text is sent: while the page is loading, the parser's nodes (converted by the proxy already) and
 * the nodes of the portal's inline scripts cannot be told apart, so a text is sent only if it holds a
 * character the proxy's conversion never leaves (STRICT: Simplified-only characters); what document.write
 * writes is known exactly (the call is wrapped: the arguments and the result are the portal's own).  Once
 * the page has loaded, everything that changes is the scripts' doing, and a text is sent when it holds a
 * character whose conversion may differ (BROAD; any Han character for s2twp).  Each run of text (the text
 * nodes a reader sees as one piece, across inline elements, as the proxy cuts them) goes as one item, so
 * a phrase split by markup converts as a phrase.  Results are remembered: the same text again costs no
 * request, and text that is already converted is never sent back.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.MutationObserver || !window.JSON || !window.Map || !window.Set || !window.WeakMap) {
    return;
  }
  var VARIANT = script.getAttribute("data-variant") || "s2t";
  var PAGE = script.getAttribute("data-page") || "/";
  var SKIP_RULES = script.getAttribute("data-skip") || "";
  var limits = (script.getAttribute("data-limits") || "").split(" ");
  var MAX_BYTES = Math.max(1024, +limits[0] || 65536) - 256;  // room for the envelope
  var MAX_TEXTS = Math.max(1, +limits[1] || 500);
  var ENDPOINT = location.protocol + "//" + location.host + "/-/convert";  // never relative: <base href> may point elsewhere
  var BATCH_MS = 16;  // writes within one frame go in one request

  // Character tables, filled in by the proxy for this variant (proxy/transforms/trad.py live_tables): the
  // inside of a regex class ("a-c" is a range), read into a bit table (a regex over ~2000 ranges costs ~100 ns
  // a character in V8; the table, 1-2).
  var STRICT_CHARS = "" /*@strict*/ + "" /*@strict-astral*/;
  var MORE_CHARS = "" /*@more*/ + "" /*@more-astral*/;
  var ANY_HAN = true /*@any-han*/;  // s2twp (its phrases change words in shared characters), or no tables
  var HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ud840-\ud888]/;
  var STRICT = STRICT_CHARS ? bits(STRICT_CHARS) : null;
  var BROAD = ANY_HAN ? null : bits(STRICT_CHARS + MORE_CHARS);

  function codePoints(text) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) { c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00); }
      out.push(c);
    }
    return out;
  }

  function bits(spec) {
    var table = new Uint32Array(0x40000 >>> 5), codes = codePoints(spec);  // planes 0-3: every CJK ideograph
    for (var i = 0; i < codes.length; i++) {
      var last = codes[i];
      if (codes[i + 1] === 45 && i + 2 < codes.length) { last = codes[i + 2]; }  // "-": a range
      for (var c = codes[i]; c <= last && c < 0x40000; c++) { table[c >>> 5] |= 1 << (c & 31); }
      if (last !== codes[i]) { i += 2; }
    }
    return table;
  }

  function holds(text, table) {
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c < 0x3400) { continue; }  // ASCII, punctuation, kana...
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) { c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00); }
      if (c < 0x40000 && table[c >>> 5] & (1 << (c & 31))) { return true; }
    }
    return false;
  }

  var BLOCK = set("address article aside blockquote body br button caption center col colgroup dd details dialog " +
    "dir div dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup " +
    "hr html iframe img input legend li main menu nav noscript object ol optgroup option p pre section select " +
    "summary table tbody td tfoot th thead title tr ul video audio canvas map area marquee");
  var RAW = set("script style textarea xmp noembed noframes iframe noscript");
  var SKIP_TAGS = set("script style code kbd samp textarea template svg math xmp plaintext var noembed noframes");
  var READABLE = set("title alt placeholder aria-label aria-description aria-roledescription aria-valuetext " +
    "summary label abbr");
  var CODE_CLASS = /\b(code|highlight|lang(uage)?-|brush|prettyprint|hljs)/i;
  var CHINESE_LANG = /^(zh|cmn|yue|wuu|hak|nan|gan|hsn|cdo|cjy)(-|$)/i;

  function set(words) {
    var out = {};
    words.split(" ").forEach(function (w) { out[w] = true; });
    return out;
  }

  var parsing = document.readyState === "loading";
  var writing = 0;  // inside the portal's document.write
  var pendingTexts = new Set();
  var pendingAttrs = new Map();  // element -> {name: true}
  var queue = [];  // items waiting for the network
  var timer = null;
  var inFlight = false;
  var disabled = false;
  var cache = new Map();  // run text (pieces joined by \u001f) -> converted pieces
  var rewrites = new WeakMap();  // element -> {since, count}: how often we rewrote in it lately (see calm)
  var textRewrites = new Map();  // text -> {since, count}: the same, by the text rewritten (see calm)
  var ownValues = new WeakMap();  // option -> the value we gave it (its Simplified text: see followText)
  var realFetch = window.fetch && window.fetch.bind(window);  // before the portal's scripts wrap them
  var RealXHR = window.XMLHttpRequest;
  var xhrOpen = RealXHR && RealXHR.prototype.open, xhrSend = RealXHR && RealXHR.prototype.send;
  var xhrHeader = RealXHR && RealXHR.prototype.setRequestHeader;

  var observer = new MutationObserver(function (records) { collect(records); prepare(); });
  observer.observe(document, {
    childList: true, subtree: true, characterData: true, attributes: true,
    attributeFilter: Object.keys(READABLE).concat(["value"])
  });

  // --- what changed ---------------------------------------------------------------------------------

  function collect(records) {
    if (disabled || !records.length) { return; }
    var walked = new Set();
    for (var i = 0; i < records.length; i++) {
      var record = records[i];
      if (record.type !== "attributes") { followText(record.target); }
      if (record.type === "childList") {
        // While loading, added nodes may be the parser's (already converted): STRICT, unless written.
        var strict = parsing && !writing;
        for (var j = 0; j < record.addedNodes.length; j++) { walk(record.addedNodes[j], strict, walked); }
      } else if (record.type === "characterData") {
        addText(record.target, false);
      } else {
        addAttribute(record.target, record.attributeName, false);
      }
    }
  }

  function followText(target) {
    // An option we gave a value (its text, before converting it) submits that value: when the page's script
    // changes its text (a framework reusing the option for another city), the value follows the new text, as
    // the browser's own would (the text read before we convert it, so still the page's Simplified).
    var option = target && (target.localName === "option" ? target : target.parentNode);
    if (option && option.localName === "option" && ownValues.has(option) &&
        option.getAttribute("value") === ownValues.get(option) && option.text !== ownValues.get(option)) {
      option.setAttribute("value", option.text);
      ownValues.set(option, option.text);
    }
  }

  function wanted(text, strict) {
    if (strict) { return STRICT !== null && holds(text, STRICT); }
    return BROAD === null ? HAN.test(text) : holds(text, BROAD);
  }

  function walk(root, strict, walked) {
    var node = root;
    while (node) {
      var down = false;
      if (node.nodeType === 3) {
        addText(node, strict);
      } else if (node.nodeType === 1) {
        if (walked.has(node)) {  // its subtree is done already (its ancestor's record came first)
          down = false;
        } else {
          walked.add(node);
          if (node.attributes.length) { scanAttributes(node, strict); }
          down = !RAW[node.localName] && !SKIP_TAGS[node.localName];
        }
      }
      if (down && node.firstChild) { node = node.firstChild; continue; }
      while (node !== root && !node.nextSibling) { node = node.parentNode; }
      if (node === root) { break; }
      node = node.nextSibling;
    }
  }

  function addText(node, strict) {
    if (node.nodeType === 3 && node.parentNode && wanted(node.data, strict)) { pendingTexts.add(node); }
  }

  function scanAttributes(element, strict) {
    var attributes = element.attributes;
    for (var i = 0; i < attributes.length; i++) {
      var name = attributes[i].name;
      if ((READABLE[name] || name === "value") && wanted(attributes[i].value, strict)) {
        addAttribute(element, name, strict, true);
      }
    }
  }

  function addAttribute(element, name, strict, checked) {
    if (name === "value" && !labelValue(element)) { return; }
    var value = element.getAttribute(name);
    if (!value || !(checked || wanted(value, strict))) { return; }
    var names = pendingAttrs.get(element);
    if (!names) { pendingAttrs.set(element, names = {}); }
    names[name] = true;
  }

  function labelValue(element) {
    // A button's label, never submitted: <input type=button|reset>, or a submit button without a name.
    if (element.localName !== "input") { return false; }
    var type = (element.getAttribute("type") || "").toLowerCase();
    return type === "button" || type === "reset" || (type === "submit" && !element.hasAttribute("name"));
  }

  // --- what the server leaves alone -------------------------------------------------------------------

  function skipped(element) {
    if (!element || element.nodeType !== 1) { return true; }
    for (var e = element; e && e.nodeType === 1; e = e.parentNode) {
      if (skipsItself(e)) { return true; }
    }
    if (element.isContentEditable) { return true; }
    if (SKIP_RULES) {
      try { if (element.closest(SKIP_RULES)) { return true; } } catch (e) { SKIP_RULES = ""; }
    }
    return false;
  }

  function skipsItself(e) {
    var tag = e.localName;
    if (SKIP_TAGS[tag] || e.hasAttribute("data-a11y-skip-trad") || e.hasAttribute("data-a11y-proxy")) { return true; }
    if (tag === "pre" && (CODE_CLASS.test(e.getAttribute("class") || "") || e.getElementsByTagName("code").length)) {
      return true;
    }
    var translate = e.getAttribute("translate");
    if (translate && translate.trim().toLowerCase() === "no") { return true; }
    var editable = e.getAttribute("contenteditable");
    if (editable !== null && editable.toLowerCase() !== "false") { return true; }
    // Parts in another language are left alone; <html lang> is often wrong on portals, so it is ignored.
    var lang = e.getAttribute("lang");
    return !!(lang && lang.trim() && tag !== "html" && tag !== "body" && !CHINESE_LANG.test(lang.trim()));
  }

  // --- items: runs of text and attribute values ---------------------------------------------------------

  function prepare() {
    if (!pendingTexts.size && !pendingAttrs.size) { return; }
    var items = [];
    var runsOf = new Map();  // block element -> Map(text node -> run)
    var placed = new Set();
    pendingTexts.forEach(function (node) {
      var parent = node.parentNode;
      if (placed.has(node) || !parent || RAW[parent.localName] || skipped(parent)) { return; }
      var run = runOf(node, runsOf);
      var item = {nodes: run, sources: [], pending: []};
      for (var i = 0; i < run.length; i++) {
        placed.add(run[i]);
        item.sources.push(run[i].data);
        item.pending.push(pendingTexts.has(run[i]));
      }
      items.push(item);
    });
    pendingAttrs.forEach(function (names, element) {
      var own = element.localName === "textarea" ? element.parentNode : element;  // its placeholder is read
      if (element.isConnected === false || skipped(own)) { return; }
      Object.keys(names).forEach(function (name) {
        var value = element.getAttribute(name);
        if (value) { items.push({element: element, name: name, sources: [value]}); }
      });
    });
    pendingTexts.clear();
    pendingAttrs.clear();
    var hits = [];
    items.forEach(function (item) {
      var known = cache.get(item.sources.join("\u001f"));
      if (known) { hits.push([item, known]); } else { queue.push(item); }
    });
    if (hits.length) { apply(hits); }
    if (queue.length && !timer && !inFlight) { timer = setTimeout(send, BATCH_MS); }
  }

  function block(node) {
    var e = node.parentNode;
    while (e && e.nodeType === 1 && !BLOCK[e.localName] && e.parentNode && e.parentNode.nodeType === 1) {
      e = e.parentNode;
    }
    return e;
  }

  function runOf(node, runsOf) {
    var container = block(node);
    var runs = runsOf.get(container);
    if (!runs) { runsOf.set(container, runs = runsIn(container)); }
    return runs.get(node) || [node];
  }

  function runsIn(container) {
    // Text nodes in order, cut where the proxy cuts (block and raw-text elements, skipped parts).
    var runs = new Map(), run = [], node = container.firstChild;
    function end() {
      for (var i = 0; i < run.length; i++) { runs.set(run[i], run); }
      run = [];
    }
    while (node) {
      var down = false;
      if (node.nodeType === 3) {
        run.push(node);
      } else if (node.nodeType === 1) {
        var tag = node.localName;
        if (BLOCK[tag] || RAW[tag] || skipsItself(node)) {
          end();  // a boundary (the parts inside are runs of their own, or skipped)
        } else {
          down = true;
        }
      }
      if (down && node.firstChild) { node = node.firstChild; continue; }
      while (node !== container && !node.nextSibling) {
        node = node.parentNode;
      }
      if (node === container) { break; }
      node = node.nextSibling;
    }
    end();
    return runs;
  }

  // --- the request ------------------------------------------------------------------------------------

  function send() {
    timer = null;
    if (disabled || inFlight || !queue.length) { return; }
    var batch = [], texts = [], bytes = 0, count = 0;
    while (queue.length) {
      var item = queue[0];
      var size = 8, i;
      for (i = 0; i < item.sources.length; i++) { size += 3 * item.sources[i].length + 8; }
      if (batch.length && (bytes + size > MAX_BYTES || count + item.sources.length > MAX_TEXTS)) { break; }
      queue.shift();
      if (size > MAX_BYTES || item.sources.length > MAX_TEXTS) {
        split(item);  // a run too large to go whole: its new pieces go alone
        continue;
      }
      batch.push(item);
      texts.push(item.element || item.sources.length === 1 ? item.sources[0] : item.sources);
      bytes += size;
      count += item.sources.length;
    }
    if (!batch.length) { return; }
    inFlight = true;
    post(JSON.stringify({variant: VARIANT, page: PAGE, texts: texts}), function (status, answer) {
      inFlight = false;
      if (status === 200 && answer && answer.texts && answer.texts.length === batch.length) {
        var done = [];
        for (var i = 0; i < batch.length; i++) {
          var out = typeof answer.texts[i] === "string" ? [answer.texts[i]] : answer.texts[i];
          if (out && out.length === batch[i].sources.length) {
            remember(batch[i].sources, out);
            done.push([batch[i], out]);
          }
        }
        apply(done);
      } else if (status === 403 || status === 404 || status === 405) {
        stop();  // not ours to use here (an old proxy, a page copied elsewhere): nothing more is sent
      }
      if (queue.length && !timer) { timer = setTimeout(send, 0); }
    });
  }

  function split(item) {
    if (item.element) { return; }  // one value larger than a request: left as it is
    for (var i = 0; i < item.nodes.length; i++) {
      if (item.pending[i] && 3 * item.sources[i].length + 16 <= MAX_BYTES) {
        queue.push({nodes: [item.nodes[i]], sources: [item.sources[i]], pending: [true]});
      }
    }
  }

  function post(body, done) {
    var finished = false;
    function finish(status, text) {
      if (finished) { return; }
      finished = true;
      var answer = null;
      try { answer = status === 200 ? JSON.parse(text) : null; } catch (e) { answer = null; }
      done(status, answer);
    }
    if (realFetch) {
      realFetch(ENDPOINT, {method: "POST", body: body, credentials: "omit", cache: "no-store",
                           headers: {"Content-Type": "application/json"}})
        .then(function (response) {
          return response.text().then(function (text) { finish(response.status, text); });
        }, function () { finish(0, ""); });
      return;
    }
    var xhr = new RealXHR();
    xhrOpen.call(xhr, "POST", ENDPOINT, true);
    xhrHeader.call(xhr, "Content-Type", "application/json");
    xhr.onreadystatechange = function () { if (xhr.readyState === 4) { finish(xhr.status, xhr.responseText); } };
    xhrSend.call(xhr, body);
  }

  function remember(sources, out) {
    if (cache.size > 5000) { cache.clear(); }
    cache.set(sources.join("\u001f"), out);
    cache.set(out.join("\u001f"), out);  // converted text is never sent again (moved, cloned, re-rendered)
  }

  // --- writing back, unobserved -----------------------------------------------------------------------

  function apply(pairs) {
    collect(observer.takeRecords());  // the portal's changes so far are kept...
    var round = new Set();
    for (var i = 0; i < pairs.length; i++) {
      var item = pairs[i][0], out = pairs[i][1];
      if (item.element) {
        if (item.element.getAttribute(item.name) === item.sources[0] && out[0] !== item.sources[0] && calm(item.element, round)) {
          item.element.setAttribute(item.name, out[0]);
        }
        continue;
      }
      for (var j = 0; j < item.nodes.length; j++) {
        var node = item.nodes[j];
        // Only what is still as it was sent; pieces around the new ones were converted already (the same).
        if (node.data !== item.sources[j] || out[j] === item.sources[j] || !calm(node.parentNode, round) ||
            !calmText(item.sources[j], round)) { continue; }
        var option = node.parentNode;
        if (option && option.localName === "option" && !option.hasAttribute("value")) {
          option.setAttribute("value", option.text);  // it keeps submitting what the portal expects
          ownValues.set(option, option.text);
        }
        node.data = out[j];
      }
    }
    observer.takeRecords();  // ...and our own writes are not
    prepare();
  }

  function calm(element, round) {
    // A script that puts its text back each time we convert it (often as a new text node) would have us both
    // write forever: past 20 rounds of rewrites in one element within 2 s, it is left for a while (a clock
    // ticking each second is not; nor are many texts in one element converted at once: one round).
    if (!element) { return false; }
    var now = Date.now(), seen = rewrites.get(element);
    if (!seen || now - seen.since > 2000) { rewrites.set(element, seen = {since: now, count: 0}); }
    if (!round.has(element)) {
      round.add(element);
      seen.count++;
    }
    return seen.count <= 20;
  }

  function calmText(text, round) {
    // The same guard by the text rewritten: a script that puts its text back in a new element each time (its
    // own observer rebuilding innerHTML) would have us both write forever, each element seen only once; with
    // answers we remember, inside one observer callback after another, the page never got a turn again.
    var now = Date.now(), seen = textRewrites.get(text);
    if (!seen || now - seen.since > 2000) {
      if (textRewrites.size > 1000) {  // (texts seen long ago go: a clock's texts are each seen once)
        textRewrites.forEach(function (old, key) { if (now - old.since > 2000) { textRewrites.delete(key); } });
      }
      textRewrites.set(text, seen = {since: now, count: 0});
    }
    if (!round.has(text)) {
      round.add(text);
      seen.count++;
    }
    return seen.count <= 20;
  }

  function stop() {
    disabled = true;
    observer.disconnect();
    queue = [];
  }

  // --- document.write, and the end of loading -----------------------------------------------------------

  function wrap(name) {
    var real = document[name];
    if (typeof real !== "function") { return; }
    document[name] = function () {
      collect(observer.takeRecords());
      writing++;
      try {
        return real.apply(document, arguments);
      } finally {
        collect(observer.takeRecords());  // what this call put in the page: always looked at in full
        writing--;
        prepare();
      }
    };
  }
  wrap("write");
  wrap("writeln");

  if (parsing) {
    document.addEventListener("readystatechange", function loaded() {
      if (document.readyState === "loading") { return; }
      collect(observer.takeRecords());
      parsing = false;
      prepare();
      document.removeEventListener("readystatechange", loaded);
    });
  }
})();
