"""Reader view (the `reader` mode): the page's main content alone, in one clean large-type column.

The body of the page is replaced by::

    <main>  link back to the full page
      <article>
        <h1>title</h1>
        <p>发布时间 · 来源</p>
        <div>the body, cleaned: headings, paragraphs, lists, data tables, images with alt, links</div>
        <section>附件 (attachments: links to pdf/doc/xls/zip...)</section>
        <nav>上一篇 / 下一篇</nav>
      </article>
    </main>

and <head> keeps only its essentials (charset, title, base, viewport, description) and the proxy's own
stylesheets (elder, contrast), plus /-/static/reader.css.  The portal's stylesheets and scripts go.

Finding the main content, in order:

1. a rule that marks an element ``role: main`` (the rule author knows the page): that element, whole;
2. the text-density scorer below, restricted to the page's main landmark (``<main>`` or ``role=main``,
   the portal's own or one the screen-reader repairs placed) when the landmark holds a good share of
   the best content; else over the whole body.

The scorer is the Readability family's (as in Mozilla's Readability and the Chinese article extractors):
every block that holds text directly (a <p>, a <td>, a TRS ``<div id=zoom>`` full of text and <br>) is a
paragraph worth its non-link characters, more when it has the sentence punctuation prose has (，。；),
less when it has none (menus, addresses, copyright lines); a paragraph's worth goes to itself, its parent
and, decreasing, to three more ancestors.  An element's score is what it collected, times one minus its link
density, times a factor from its id and class (``zoom``, ``TRS_Editor``, ``Custom_UnionStyle``,
``article``, ``content``, ``main-txt``... up; ``nav``, ``footer``, ``share``... down).  Navigation, headers,
footers, sidebars, hidden elements and the like never count (by tag, by landmark role, by id/class).
Sibling blocks that score close to the best one join it (bodies split over several containers).

Title, date and source come from the page's metadata where it has them (``ArticleTitle``, ``PubDate``,
``ContentSource``, Open Graph), else from the page text (an <h1> or a title-classed heading near the body;
``发布时间：2026-11-20``, ``来源：…``).  Previous/next come from links labelled 上一篇/下一篇 (上一条…),
attachments from links to documents near the body.
"""
from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from lxml import etree

from ..document import Document
from ..modes import Modes
from ..pipeline import Page, proxy_asset_url, Stateless
from .aria import TextAppends, drop as drop_element
from ..urls import mode_prefix, same_origin_path

STYLESHEET = "/-/static/reader.css"
MARK = "data-a11y-proxy"  # what the proxy itself adds to <head> carries it (elder and contrast sheets): kept
CLASS = "a11y-proxy-reader"

# --- what elements are ------------------------------------------------------------------------------

# Never text a reader sees in the content (their subtrees are not counted and never copied).
_SKIP = frozenset("""script style noscript template head title select option optgroup textarea button iframe frame
frameset object embed applet svg math canvas map area audio video source track input link meta param""".split())
_INLINE = frozenset("""a abbr acronym b bdi bdo big br cite code data del dfn em font i img ins kbd label mark nobr q
rp rt ruby s samp small span strike strong sub sup time tt u var wbr blink""".split())
_BOILER_TAGS = frozenset(("nav", "header", "footer", "aside"))
_BOILER_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert",
                           "alertdialog", "menu", "menubar", "toolbar", "tablist"))
_STRONG_NEGATIVE = re.compile(
    r"nav|menu|footer|copyright|breadcrumb|crumb|sidebar|share|qrcode|erweima|toolbar|weizhi|dqwz|"
    r"location|position|friendlink|yqlj|advert|guanggao|piaochuang|floatad|popup|comment|related|xgxw|xgwz|"
    r"relevant|recommend|hotnews|paihang|rank|jiucuo|print|fontsize|zihao|font-size|"
    r"(^|[^a-z])(foot|header|head|top|bottom|banner|search|login|links?|tools?|side|ewm|bq|dh|ad|ads|gg|"
    r"fx|share|pager?|pages|pagination|fenye|prev|next|up-?down|updown|sxp|sxt)([^a-z]|$)", re.I)
# The body containers of the CMSs portals run on (TRS, Hanweb, NFCMS...): a strong hint.
_CMS_BODY = re.compile(
    r"^(zoom|fontzoom|zoomcon|zoomcontent|trs_editor|trs_ueditor|custom_unionstyle|bodylabel|con_con|"
    r"ivs_content|article_content|articlecontent|main-txt|maintxt|content_article|div_article_content|"
    r"news_content|newscontent|zw|zhengwen|textbox|article-content|detail-content|pages_content)$", re.I)
_POSITIVE = re.compile(
    r"zoom|trs_editor|custom_union|article|content|contnet|conetent|detail|main-?te?xt|maintext|zhengwen|"
    r"textbox|newstext|news_?con|wzy_cont|bt_content|entry|body|(^|[^a-z])(con|zw|txt|text|main|view|"
    r"m-con|info_?con)([^a-z]|$)", re.I)
# Footer lines every Chinese government site carries (a block saying these is never the article).
_FOOTER_TEXT = re.compile(r"ICP备|ICP证|版权所有|网站标识码|公网安备|主办单位|承办单位|技术支持|网站地图|站点地图")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)

# Sentence punctuation of prose (menus, addresses and copyright lines have little of it).
_PUNCT = re.compile(r"[，。；！？、,;!?：“”]")
_SPACE = re.compile(r"\s+")

# --- metadata and labels -----------------------------------------------------------------------------

_TITLE_META = ("articletitle", "og:title", "twitter:title", "dc.title")
_DATE_META = ("pubdate", "publishdate", "publish_date", "article:published_time", "og:release_date",
              "firstpublishedtime", "dc.date", "dc.date.issued", "dcterms.created", "date", "published_time")
_SOURCE_META = ("contentsource", "source", "article:source")
_DATE_VALUE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})\s*[:：∶时]\s*(\d{1,2})"
    r"(?:\s*[:：∶分]\s*(\d{1,2}))?)?")
_DATE_LABEL = re.compile(r"(?:发布时间|发布日期|发文日期|成文日期|发表时间|更新时间|印发日期|日期|时间)\s*[:：]?\s*$")
_SOURCE_TEXT = re.compile(r"(?:信息来源|文章来源|稿件来源|来源)\s*[:：]\s*([^\s|｜丨【】\[\]<>]{1,40})")
_SOURCE_STOP = re.compile(r"(作者|发布|时间|日期|浏览|点击|字号|责任编辑|编辑|阅读)[:：]?.*$")
_PREV = re.compile(r"^\s*[【\[]?\s*(上一篇|上一条|上篇|前一篇|上一则|上一页)\s*[】\]]?\s*[:：]?\s*")
_NEXT = re.compile(r"^\s*[【\[]?\s*(下一篇|下一条|下篇|后一篇|下一则|下一页)\s*[】\]]?\s*[:：]?\s*")
_ATTACHMENT = re.compile(
    r"\.(pdf|docx?|xlsx?|xlsm|pptx?|wps|et|dps|ofd|zip|rar|7z|tar|gz|txt|csv|odt|ods|odp|rtf|ceb|caj)$", re.I)
_META_LINE = re.compile(r"发布时间|发布日期|来源|浏览次数|点击数|阅读次数|访问量|字号|打印|关闭窗口|分享到|扫一扫|"
                        r"【\s*[大中小]\s*】|作者[:：]")
# Blocks that are page furniture by their text: breadcrumbs, an empty attachments label.
_FURNITURE_TEXT = re.compile(r"^\s*(当前位置|您的位置|您当前的位置|您现在的位置|您当前位置|所在位置|当前所在位置|位置)\s*[:：]|"
                             r"^\s*(相关)?附件\s*[:：]?\s*$")
_TOOL_WORDS = re.compile(r"(打印本页|打印|关闭窗口|关闭|返回顶部|分享到|收藏|字号|[大中小]|【|】|\[|\]|\||｜|:|：|\s)+")
_TITLE_CLASS = re.compile(r"title|biaoti|(^|[^a-z])(bt|tit\d*|h1)([^a-z0-9]|$)", re.I)
# Between the article's and the site's name in <title>: "标题 - 某市人民政府", "标题_某局", "标题|某区".
_TITLE_SEPARATORS = re.compile(r"\s+[-—–>]+\s+|\s*[_|｜]+\s*|\s{2,}")

MIN_PARAGRAPH = 8  # characters (non-link) a block must hold directly to count as a paragraph
MIN_CONTENT = 20  # below this the scorer found no article: the main landmark or the body is used
IMAGE_WORTH = 30  # characters a content image counts for (a body that is one picture is still a body)
EXEMPT_SHARE = 0.4  # an id/class-boilerplate box holding this share of the page's text is the page (a wrapper)


@dataclass
class Stat:
    chars: int = 0  # visible characters (no whitespace) in the subtree, boilerplate excluded
    link: int = 0  # of which inside links
    punct: int = 0
    score: float = 0.0  # collected from paragraphs
    boiler: bool = False
    raw: int = 0  # visible characters including boilerplate
    images: int = 0  # content images (not in links, not icons)


@dataclass
class Article:
    title: str = ""
    date: str = ""  # as shown, normalised: 2026-11-20 or 2026-11-20 09:30
    datetime: str = ""  # ISO form for <time datetime>
    source: str = ""
    content: list = field(default_factory=list)  # the elements that make up the body, in document order
    title_element: etree._Element | None = None
    subtitle: str = ""  # 副标题, shown under the title
    subtitle_element: etree._Element | None = None
    found_by: str = ""  # 'rule', 'landmark', 'density', 'fallback' (for notes and tests)
    attachments: list = field(default_factory=list)  # (href, text)
    prev: tuple | None = None  # (href, text)
    next: tuple | None = None
    pager_blocks: set = field(default_factory=set)  # the page's blocks that hold them


def _count(text: str | None) -> int:
    """Visible characters: whitespace does not count."""
    if not text:
        return 0
    return len("".join(text.split()))


def _tag(el) -> str:
    tag = el.tag  # libxml2's HTML parser gives lower-case names
    return tag if isinstance(tag, str) else ""


def _names(el) -> str:
    return f"{el.get('id') or ''} {el.get('class') or ''}".strip()


def _is_boiler(el, tag: str, exempt=frozenset()) -> bool:
    if tag in _BOILER_TAGS:
        return True
    if el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true":
        return True
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    if el in exempt:
        return False
    role = (el.get("role") or "").split()
    if role and role[0] in _BOILER_ROLES:
        return True
    names = _names(el)
    return bool(names) and bool(_STRONG_NEGATIVE.search(names)) and not _POSITIVE.search(names)


def _class_factor(el, tag: str) -> float:
    factor = 1.0
    names = _names(el)
    if names and any(_CMS_BODY.match(name) for name in names.split()):
        factor *= 1.6
    elif names and _POSITIVE.search(names):
        factor *= 1.2
    if tag in ("article", "main") or (el.get("role") or "").startswith("main"):
        factor *= 1.2
    if tag in ("body", "html"):
        factor *= 0.8
    return factor


def measure(body: etree._Element) -> dict:
    """Text statistics and paragraph scores for every element under body (one post-order pass, two when
    a box that looks like boilerplate by its id or class turns out to hold the page: barrierfree_container)."""
    # Boxes around a CMS body container (zoom, TRS_Editor...) are never boilerplate, whatever they are called.
    protected = set()
    for el in body.iter():
        names = _names(el) if isinstance(el.tag, str) else ""
        if names and any(_CMS_BODY.match(name) for name in names.split()) and not _is_hidden(el):
            for ancestor in el.iterancestors():
                if ancestor in protected:
                    break  # (and all around it: each level is added once, however many boxes nest)
                protected.add(ancestor)
    stats = _measure(body, frozenset(protected))
    total = stats[body].raw if body in stats else 0
    exempt = frozenset(el for el, stat in stats.items()
                       if stat.boiler and total and stat.raw >= EXEMPT_SHARE * total and _tag(el) not in _BOILER_TAGS
                       and not _is_hidden(el))
    return _measure(body, exempt | protected) if exempt else stats


def _content_image(img) -> bool:
    if not (img.get("src") or img.get("data-src") or img.get("data-original")):
        return False
    for name in ("width", "height"):
        value = (img.get(name) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < 60:
            return False
    return True


def _measure(body: etree._Element, exempt: frozenset) -> dict:
    stats: dict = {}
    walker = etree.iterwalk(body, events=("start", "end"))
    for event, el in walker:
        tag = _tag(el)
        if event == "start":
            if tag in _SKIP:
                walker.skip_subtree()
            continue
        stat = stats.get(el)
        if stat is None:  # (an ancestor may already hold score from paragraphs below it)
            stat = stats[el] = Stat()
        if tag in _SKIP:
            continue
        stat.boiler = el is not body and _is_boiler(el, tag, exempt)
        text = el.text
        chars = _count(text)
        raw = chars
        punct = len(_PUNCT.findall(text)) if text else 0
        direct, direct_link, direct_punct = chars, 0, punct
        direct_images = 0
        images = 1 if tag == "img" and _content_image(el) else 0
        link = chars if tag == "a" else 0
        for child in el:
            tail = child.tail
            if tail:
                n = _count(tail)
                chars += n
                raw += n
                direct += n
                if tag == "a":
                    link += n
                p = len(_PUNCT.findall(tail))
                punct += p
                direct_punct += p
            child_stat = stats.get(child)
            if child_stat is None:
                continue
            raw += child_stat.raw
            if child_stat.boiler:
                continue
            child_tag = _tag(child)
            chars += child_stat.chars
            punct += child_stat.punct
            child_link = child_stat.chars if (tag == "a" or child_tag == "a") else child_stat.link
            link += child_link
            if child_tag != "a" and tag != "a":
                images += child_stat.images
            if child_tag in _INLINE or not isinstance(child.tag, str):
                direct += child_stat.chars
                direct_link += child_link
                direct_punct += child_stat.punct
                if child_tag != "a":
                    direct_images += child_stat.images
        stat.chars, stat.link, stat.punct, stat.raw, stat.images = chars, min(link, chars), punct, raw, images
        if tag not in _INLINE and not stat.boiler:
            own = direct - direct_link
            if own >= MIN_PARAGRAPH and own <= 300 and _FOOTER_TEXT.search(_direct_text(el)):
                stat.boiler = True  # the site's footer, whatever its box is called
                continue
            own += IMAGE_WORTH * direct_images
            if own >= MIN_PARAGRAPH:
                density = direct_punct / max(direct, 1)
                weight = own * (0.25 + min(0.75, density * 20))
                _spread(el, weight, stats, body)
    return stats


def _direct_text(el) -> str:
    parts = [el.text or ""]
    for child in el:
        if _tag(child) in _INLINE:
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return "".join(parts)


def _spread(el, weight: float, stats: dict, body) -> None:
    """A paragraph's worth: to itself and its parent in full, then 1/2, 1/3, 1/4 to three more ancestors."""
    stats[el].score += weight
    level = 0
    for ancestor in el.iterancestors():
        level += 1
        if level > 4:
            break
        stat = stats.get(ancestor)
        if stat is None:  # not reached yet in post-order: created now, filled in at its end event
            stat = stats[ancestor] = Stat()
        stat.score += weight / max(1, level)
        if ancestor is body:
            break


def _final_score(el, stat: Stat) -> float:
    if stat.chars <= 0:
        return 0.0
    density = stat.link / stat.chars
    return stat.score * (1 - density) * _class_factor(el, _tag(el))


def _inside(el, ancestor) -> bool:
    return el is ancestor or any(a is ancestor for a in el.iterancestors())


def _under_boiler(el, stats: dict, stop, known: dict) -> bool:
    """Is el, or an element around it below stop, boilerplate?  known: the answers so far, kept for every
    element passed on the way up (one walk per level of the page, not one per element below it)."""
    passed = []
    answer = False
    node = el
    while node is not None and node is not stop:
        if node in known:
            answer = known[node]
            break
        stat = stats.get(node)
        if stat is not None and stat.boiler:
            answer = True
            break
        passed.append(node)
        node = node.getparent()
    for node in passed:
        known[node] = answer
    return answer


def _main_landmark(body) -> etree._Element | None:
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        role = (el.get("role") or "").split()
        if (role and role[0] == "main") or (_tag(el) == "main" and not role):
            return el
    return None


def _rule_main(doc: Document, page: Page) -> etree._Element | None:
    for rule in page.rules.rules:
        if rule.actions.get("role") == "main":
            try:
                found = rule.xpath(doc.root)
            except etree.XPathError:
                continue
            if not isinstance(found, list):  # (a number or a string: selects nothing)
                continue
            for el in found:
                if isinstance(el, etree._Element) and isinstance(el.tag, str):
                    return el
    return None


def find_content(doc: Document, page: Page) -> tuple[list, str, dict]:
    """The elements that make up the main content, how they were found, and the text statistics."""
    body = doc.body
    stats = measure(body)
    rule_main = _rule_main(doc, page)
    if rule_main is not None:
        return [rule_main], "rule", stats
    under: dict = {}
    scored = [(score, el) for el, stat in stats.items()
              if not stat.boiler and (score := _final_score(el, stat)) > 0 and not _under_boiler(el, stats, body, under)]
    best_score, best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    landmark = _main_landmark(body)
    how = "density"
    if landmark is not None:
        in_landmark = set(landmark.iter())
        inside = [(score, el) for score, el in scored if el in in_landmark]
        in_score, in_best = max(inside, key=lambda pair: pair[0], default=(0.0, None))
        if in_best is not None and in_score >= 0.5 * best_score:
            best_score, best, how = in_score, in_best, "landmark"
    if best is None or stats[best].chars - stats[best].link + IMAGE_WORTH * stats[best].images < MIN_CONTENT:
        return [landmark if landmark is not None else body], "fallback", stats
    return _with_siblings(best, best_score, stats), how, stats


def _with_siblings(best, best_score: float, stats: dict) -> list:
    """The best block, plus siblings that score close to it (a body split over several containers)."""
    parent = best.getparent()
    if parent is None or _tag(best) in ("body", "html"):
        return [best]
    chosen = []
    threshold = max(10.0, best_score * 0.2)
    for sibling in parent:
        if sibling is best:
            chosen.append(sibling)
            continue
        stat = stats.get(sibling)
        if stat is None or stat.boiler or not isinstance(sibling.tag, str) or stat.chars == 0:
            continue
        density = stat.link / stat.chars
        if _final_score(sibling, stat) >= threshold and density < 0.25:
            chosen.append(sibling)
    return chosen


# --- title, date, source ---------------------------------------------------------------------------

def _metas(doc: Document) -> dict:
    found = {}
    for meta in doc.root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if name and content and name not in found:
            found[name] = content
    return found


# Text inside these is never read as the page's text.
_TEXT_HIDDEN_IN = ("script", "style", "noscript", "template", "title", "select", "textarea")


def _text(el) -> str:
    """The element's text as a reader sees it (no script or style), whitespace collapsed."""
    return _SPACE.sub(" ", "".join(_text_pieces(el))).strip()


def _short_text(el, limit: int) -> str | None:
    """_text(el) when el holds at most `limit` visible characters, else None, found without reading the rest
    (asked of every block of a page, the whole text of each made nested pages quadratic)."""
    pieces = _text_pieces(el, limit)
    return None if pieces is None else _SPACE.sub(" ", "".join(pieces)).strip()


class _ShortTexts:
    """_short_text(el, limit) for many elements of one tree: each element's text is put together from its
    children's (whitespace collapsed as it goes), so asking every block of a deeply nested page costs one
    pass over it, not a walk of each block.  An answer stays right while the text inside that element does
    (dropping or moving elements already asked about, or outside it, is fine)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.known: dict = {}  # element -> (its text collapsed, not stripped; visible characters) or None

    def __call__(self, el) -> str | None:
        if el.tag in _TEXT_HIDDEN_IN or next(el.iterancestors(*_TEXT_HIDDEN_IN), None) is not None:
            return ""
        if el not in self.known:
            self._learn(el)
        found = self.known[el]
        return None if found is None else found[0].strip()

    def _learn(self, root) -> None:
        """Children before parents, without recursion; subtrees already known are not walked again."""
        known = self.known
        stack = [(root, iter(root))]
        while stack:
            el, children = stack[-1]
            for child in children:
                if isinstance(child.tag, str) and child.tag not in _TEXT_HIDDEN_IN and child not in known:
                    stack.append((child, iter(child)))
                    break
            else:
                stack.pop()
                known[el] = self._combine(el)

    def _combine(self, el) -> tuple[str, int] | None:
        pieces, size = [el.text or ""], _count(el.text)
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _TEXT_HIDDEN_IN:
                inner = self.known[child]
                if inner is None:
                    return None
                pieces.append(inner[0])
                size += inner[1]
            if child.tail:
                pieces.append(child.tail)
                size += _count(child.tail)
            if size > self.limit:
                return None
        if size > self.limit:
            return None
        return _SPACE.sub(" ", "".join(pieces)), size


def _text_pieces(el, limit: int | None = None) -> list[str] | None:
    """el's text nodes in document order, but none inside script, style, title, select... (el's ancestors
    included); None as soon as they hold more than `limit` visible characters.  A walk with a stack, not
    an XPath test of every text node's ancestors, nor recursion: pages nest thousands deep."""
    if el.tag in _TEXT_HIDDEN_IN or next(el.iterancestors(*_TEXT_HIDDEN_IN), None) is not None:
        return []
    pieces: list[str] = []
    size = 0
    text = el.text  # the next text node, read before going on
    stack = [(iter(el), None)]  # children left to read, and the element whose tail follows them
    while stack:
        if text:
            pieces.append(text)
            if limit is not None:
                size += _count(text)
                if size > limit:
                    return None
        children, owner = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            text = owner.tail if owner is not None else None
        elif isinstance(child.tag, str) and child.tag not in _TEXT_HIDDEN_IN:
            text = child.text
            stack.append((iter(child), child))  # its content next, then its tail
        else:
            text = child.tail  # a comment, or text no reader sees: only what follows it counts
    return pieces


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def parse_date(text: str) -> tuple[str, str] | None:
    """'2023-08-19 10∶08' -> ('2023-08-19 10:08', '2023-08-19T10:08'); None when no date is in text."""
    match = _DATE_VALUE.search(text or "")
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    try:
        y, m, d = int(year), int(month), int(day)
    except ValueError:
        return None
    if not (1990 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31):
        return None
    shown = iso = f"{y:04d}-{m:02d}-{d:02d}"
    if hour is not None and minute is not None and int(hour) < 24 and int(minute) < 60:
        shown += f" {int(hour):02d}:{int(minute):02d}"
        iso += f"T{int(hour):02d}:{int(minute):02d}"
        if second is not None and int(second) < 60:
            shown += f":{int(second):02d}"
            iso += f":{int(second):02d}"
    return shown, iso


def _date_from_text(text: str) -> tuple[str, str] | None:
    for match in _DATE_VALUE.finditer(text):
        before = text[max(0, match.start() - 12):match.start()]
        if _DATE_LABEL.search(before):
            return parse_date(match.group(0))
    return None


_DATE_CLASS = re.compile(r"pub_?time|pub_?date|publish|release|fbsj|fbrq|(^|[^a-z])(time|date|rq)([^a-z]|$)", re.I)


def _date_from_classed(region: list, texts: _ShortTexts) -> tuple[str, str] | None:
    """An unlabelled date in an element named for it: <span id="pubtime">2020年02月18日 09:15</span>."""
    for box in region:
        for el in box.iter():
            if isinstance(el.tag, str) and _DATE_CLASS.search(_names(el)):
                text = texts(el)
                if text is not None and len(text) <= 40:
                    date = parse_date(text)
                    if date:
                        return date
    return None


def _date_near_source(text: str) -> tuple[str, str] | None:
    """The info line's unlabelled date next to its source: '2022-05-07 00:00　来源：…'."""
    for match in re.finditer(r"来源", text):
        date = parse_date(text[max(0, match.start() - 40):match.start()])
        if date:
            return date
    return None


def _source_from_text(text: str) -> str:
    match = _SOURCE_TEXT.search(text)
    if not match:
        return ""
    value = _SOURCE_STOP.sub("", match.group(1)).strip("：:，,。 ")
    return value


def _clean_title(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _page_title_text(doc: Document, metas: dict | None = None) -> str:
    title = doc.root.find("head/title")
    if title is None:
        title = doc.root.find(".//title")
    if title is None:
        return ""
    text = _clean_title("".join(title.itertext()))
    parts = [p for p in _TITLE_SEPARATORS.split(text) if p.strip()]
    text = max(parts, key=len) if len(parts) > 1 else text
    return _without_site_suffix(text, doc, metas or {})


# A site or section name after a hyphen without spaces: "中华人民共和国监察法-纪检".
_HYPHEN_SUFFIX = re.compile(r"^(.{4,}?)[-—–]([^-—–]{2,16})$")
_SITE_META = ("sitename", "og:site_name", "application-name", "apple-mobile-web-app-title", "columnname")
_SITE_BLOCK = re.compile(r"head|top|logo|banner|crumb|location|position|weizhi|dqwz|nav|menu|column|lanmu", re.I)


def _without_site_suffix(text: str, doc: Document, metas: dict) -> str:
    """text without a trailing "-名称" when the name is the site's or a section's: the site name in the
    metadata, or shown in the page's header, logo, breadcrumb or menus.  A hyphen inside a real title
    ("2024-2025学年", "京津冀-长三角") stays: the part after it is not the page's own name anywhere."""
    match = _HYPHEN_SUFFIX.match(text)
    if not match or re.match(r"\d", match.group(2)):
        return text
    head, suffix = match.group(1).strip(), _squash(match.group(2))
    if not suffix or len(head) <= len(suffix):
        return text
    if any(suffix in _squash(metas.get(name, "")) for name in _SITE_META):
        return head
    body = doc.body
    if body is None:
        return text
    texts = _ShortTexts(200)
    asked = 0  # (a few dozen blocks: a page nesting thousands of "nav" boxes is not read once per level)
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "img" and suffix in _squash((el.get("alt") or "") + (el.get("title") or "")) \
                and _SITE_BLOCK.search(_names(el) + " " + (el.get("src") or "")):
            return head
        if (el.tag in ("header", "nav") or _SITE_BLOCK.search(_names(el))) and asked < 40:
            asked += 1
            shown = texts(el)
            if shown and suffix in _squash(shown):
                return head
    return text


def _info_block(el, shown: str) -> bool:
    """A block of an article's info line (or one between title and info line): empty, a subtitle, a
    发布时间/来源/浏览次数 line, or a bare date."""
    return not shown or _tag(el) in ("h2", "h3", "h4") or _META_LINE.search(shown) is not None \
        or len(_squash(shown)) <= 24 and _DATE_VALUE.search(shown) is not None


def _info_before(first, texts: "_ShortTexts", blocks: int = 3) -> str:
    """The info line where no title element was found: the short blocks just before the body's first."""
    pieces: list[str] = []
    # (the body's first element may be its first paragraph: climb to the box with something before it)
    for _ in range(3):
        parent = first.getparent()
        if parent is None or _tag(parent) in ("body", "html") or any(
                isinstance(c.tag, str) or _count(c.tail) for c in first.itersiblings(preceding=True)):
            break
        first = parent
    for sibling in first.itersiblings(preceding=True):
        if len(pieces) >= blocks:
            break
        if isinstance(sibling.tag, str) and sibling.tag not in _TEXT_HIDDEN_IN:
            shown = texts(sibling)
            if shown is None or not _info_block(sibling, shown):
                break
            if shown:
                pieces.append(shown)
    return " ".join(reversed(pieces))


def _info_text(title_el, first, texts: "_ShortTexts", limit: int = 300) -> str:
    """What the page shows right after the title (its info line: 发布时间、来源), up to the body: the short
    blocks that follow the title, in document order, until the first long one, the body's first element or
    `limit` characters."""
    pieces: list[str] = []
    size = 0
    ancestors = set(first.iterancestors()) if first is not None else set()
    node = title_el
    while node is not None and size <= limit:
        if node.tail:
            pieces.append(node.tail)
            size += _count(node.tail)
        sibling = node.getnext()
        while sibling is not None and size <= limit:
            if sibling is first:
                return " ".join(pieces)
            if isinstance(sibling.tag, str) and sibling in ancestors:
                if sibling.text:  # the body starts inside it: read its children up to the body
                    pieces.append(sibling.text)
                    size += _count(sibling.text)
                child = next((c for c in sibling), None)
                if child is None:
                    break
                sibling = child
                continue
            if isinstance(sibling.tag, str) and sibling.tag not in _TEXT_HIDDEN_IN:
                shown = texts(sibling)
                if shown is None or not _info_block(sibling, shown):
                    return " ".join(pieces)  # the body (a meeting's 时间：… in it is not the page's date)
                pieces.append(shown)
                size += _count(shown)
            if sibling.tail:
                pieces.append(sibling.tail)
                size += _count(sibling.tail)
            sibling = sibling.getnext()
        parent = node.getparent()
        if parent is None or _tag(parent) in ("body", "html"):
            break
        node = parent
    return " ".join(pieces)


def _find_title_element(body, content: list, stats: dict, wanted: str, texts: _ShortTexts):
    """The element in the page that shows the title: an <h1>, or a title-classed heading near the body."""
    first = content[0] if content else body
    wanted_key = _squash(wanted)
    best, best_rank = None, None
    order = {el: i for i, el in enumerate(body.iter())}
    start = order.get(first, 0)
    for el in order:
        tag = _tag(el)
        if not tag or tag in _SKIP:
            continue
        heading = tag in ("h1", "h2", "h3")
        classed = bool(_TITLE_CLASS.search(_names(el))) and tag not in ("body", "html", "a", "img")
        if not (heading or classed):
            continue
        text = texts(el)
        if text is None:
            continue  # longer than any title
        key = _squash(text)
        if not (4 <= len(key) <= 160) or _META_LINE.search(text) or _DATE_VALUE.search(text) and len(key) < 40:
            continue
        if _is_hidden(el):
            continue
        stat = stats.get(el)
        if stat is not None and stat.chars and stat.link / stat.chars > 0.5:
            continue
        if next(el.iterancestors("nav", "footer"), None) is not None:
            continue
        matches = bool(wanted_key) and (key == wanted_key or (
            len(key) >= 6 and (key in wanted_key or wanted_key in key)))
        distance = abs(order[el] - start)
        rank = (0 if matches else 1, 0 if tag == "h1" else (1 if classed else 2), distance)
        if wanted_key and not matches and tag != "h1":
            continue
        if best_rank is None or rank < best_rank:
            best, best_rank = el, rank
    return best


_SUBTITLE_CLASS = re.compile(r"sub_?title|subtit|fu_?title|fbt|ftitle|vice", re.I)


def _find_subtitle(title_el):
    """A subtitle right after the title: the next heading, or an element named for it (content_subtitle)."""
    if title_el is None:
        return None
    sibling = title_el.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getnext()
    if sibling is None or _count(title_el.tail):
        return None
    if _tag(sibling) not in ("h2", "h3", "h4") and not _SUBTITLE_CLASS.search(_names(sibling)):
        return None
    text = _text(sibling)
    if not (4 <= len(_squash(text)) <= 120) or _META_LINE.search(text) or parse_date(text) or _is_hidden(sibling):
        return None
    return sibling


def extract(doc: Document, page: Page) -> Article:
    body = doc.body
    content, how, stats = find_content(doc, page)
    article = Article(content=content, found_by=how)
    metas = _metas(doc)
    meta_title = next((metas[n] for n in _TITLE_META if metas.get(n)), "")
    short_texts = _ShortTexts(200)  # of the page's blocks, asked of many (the page does not change here)
    title_el = _find_title_element(body, content, stats, meta_title, short_texts)
    article.title_element = title_el
    article.subtitle_element = _find_subtitle(title_el)
    if article.subtitle_element is not None:
        article.subtitle = _text(article.subtitle_element)
    article.title = _clean_title(meta_title or (_text(title_el) if title_el is not None else "")
                                 or _page_title_text(doc, metas))
    region = _region(content, stats, title_el)
    texts: dict = {}  # the region's and the body's text, each computed once and only when needed

    def region_text() -> str:
        if "region" not in texts:
            texts["region"] = " ".join(_text(el) for el in region)
        return texts["region"]

    def body_text() -> str:
        if "body" not in texts:
            texts["body"] = _text(body)
        return texts["body"]

    # What the page shows under its title comes first: metadata dates are often the last edit, and their
    # source the site (issue 16: a page showing 2021/09/06 had 2023-11-10 in its PubDate).
    first = content[0] if content else None
    info = _info_text(title_el, first, short_texts) if title_el is not None else \
        _info_before(first, short_texts) if first is not None else ""
    date = _date_from_text(info) or _date_near_source(info) if info else None
    meta_date = next((parse_date(metas[n]) for n in _DATE_META if metas.get(n) and parse_date(metas[n])), None)
    if date is None or meta_date is not None and meta_date[0][:10] == date[0][:10]:
        date = meta_date or date  # (the same day: the metadata may add the time)
    if date is None:
        date = (_date_from_text(region_text()) or _date_from_classed(region, short_texts) or _date_near_source(region_text())
                or _date_from_text(body_text()))
    if date is not None:
        article.date, article.datetime = date
    source = (_source_from_text(info) if info else "") or next((metas[n] for n in _SOURCE_META if metas.get(n)), "")
    article.source = _clean_title(source or _source_from_text(region_text()) or _source_from_text(body_text()))
    candidates = _pager_candidates(body)
    article.prev, article.next = _pager(candidates, short_texts)
    article.pager_blocks = _pager_blocks(candidates, short_texts)
    article.attachments = _attachments(region)
    return article


def _region(content: list, stats: dict, title_element=None) -> list:
    """Content plus what surrounds it in its article box (title, info line, attachments): the nearest box
    around the content that also holds the title, else up to two levels up, never a box that is mostly links
    (a whole page column) or the body itself."""
    if not content:
        return []
    chain = []
    box = content[0]
    for _ in range(6):
        parent = box.getparent()
        if parent is None or _tag(parent) in ("body", "html"):
            break
        stat = stats.get(parent)
        if stat is None or stat.boiler or (stat.chars and stat.link / stat.chars > 0.5):
            break
        chain.append(parent)
        box = parent
    if title_element is not None:
        for candidate in chain:
            if _inside(title_element, candidate):
                return [candidate]
    if chain:
        return [chain[min(1, len(chain) - 1)]]
    return content


_PAGER_LABELS = ("上一", "下一", "上篇", "下篇", "前一篇", "后一篇")
_PAGER_TEXT = etree.XPath("//text()[" + " or ".join(f"contains(., '{label}')" for label in _PAGER_LABELS) + "]")
_PAGER_BLOCKS = ("a", "li", "p", "div", "span", "td", "dd", "dt", "font", "strong", "b")


def _pager_candidates(body) -> list:
    """Elements (in document order) that may hold a previous/next link: around the text that says so."""
    found: dict = {}
    for text in _PAGER_TEXT(body):
        owner = text.getparent()
        if owner is None:
            continue
        if text.is_tail:
            owner = owner.getparent()
        for _ in range(3):
            if owner is None or _tag(owner) in ("body", "html"):
                break
            if _tag(owner) in _PAGER_BLOCKS:
                found[owner] = None
            owner = owner.getparent()
    if len(found) < 2:
        return list(found)
    order = {el: i for i, el in enumerate(body.iter())}
    return sorted(found, key=lambda el: order.get(el, 0))


def _pager(candidates: list, texts: _ShortTexts) -> tuple:
    prev = nxt = None
    for el in candidates:
        if prev is not None and nxt is not None:
            break
        text = texts(el)
        if not text or len(text) > 200:
            continue
        for pattern, which in ((_PREV, "prev"), (_NEXT, "next")):
            if (prev if which == "prev" else nxt) is not None or not pattern.match(text):
                continue
            link = el if _tag(el) == "a" else None
            if link is None:
                links = [a for a in el.iter("a") if a.get("href")]
                if len(links) != 1:
                    continue
                link = links[0]
            href = (link.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "#")):
                continue
            label = pattern.sub("", _text(link)) or pattern.sub("", text)
            label = label.strip()
            if not label or label in ("没有了", "无", "暂无"):
                continue
            if which == "prev":
                prev = (href, label)
            else:
                nxt = (href, label)
    return prev, nxt


def is_attachment(href: str) -> bool:
    try:
        path = urlsplit(href).path
    except ValueError:
        return False
    return bool(_ATTACHMENT.search(unquote(path)))


def _attachments(region: list) -> list:
    found, seen = [], set()
    for box in region:
        for a in box.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href in seen or not is_attachment(href):
                continue
            seen.add(href)
            text = _text(a) or unquote(urlsplit(href).path.rsplit("/", 1)[-1])
            found.append((href, text))
    return found


# --- cleaning the body -------------------------------------------------------------------------------

_DROP = _SKIP | {"nav", "aside", "footer", "header", "dialog", "link", "base", "basefont", "bgsound", "menu"}
_UNWRAP = frozenset("font span center form label fieldset legend nobr blink marquee small big tt o:p".split())
# One <main>, one <article>, one <h1> per page: the content's own become plain boxes and a second level.
_RENAME = {"center": "div", "h1": "h2", "dir": "ul", "xmp": "pre", "listing": "pre", "main": "div", "article": "div"}
_KEEP_ATTRIBUTES = {
    "a": ("href", "hreflang", "title"), "img": ("src", "alt"), "td": ("colspan", "rowspan", "headers", "scope"),
    "th": ("colspan", "rowspan", "headers", "scope", "abbr"), "ol": ("start", "reversed", "type"), "li": ("value",),
    "abbr": ("title",), "acronym": ("title",), "time": ("datetime",), "q": ("cite",), "blockquote": ("cite",),
    "col": ("span",), "colgroup": ("span",), "data": ("value",), "del": ("datetime",), "ins": ("datetime",),
}
_GLOBAL_ATTRIBUTES = ("lang", "dir", "xml:lang")
_KNOWN = frozenset("""a abbr acronym address article b bdi bdo blockquote br caption cite code col colgroup data dd del
details dfn div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li main mark ol p pre q rp rt ruby s
samp section small strong sub summary sup table tbody td tfoot th thead time tr u ul var wbr""".split())
_LAZY_SOURCES = ("data-src", "data-original", "data-lazy-src", "data-url", "original", "file")
_PLACEHOLDER_IMG = re.compile(r"(^data:|blank|spacer|loading|lazy|placeholder|grey\.gif|pixel)", re.I)
_BLOCKS_IN_CELLS = ("table", "ul", "ol", "form", "iframe", "h1", "h2", "h3", "blockquote")


def is_data_table(table) -> bool:
    role = (table.get("role") or "").split()
    if role and role[0] in ("presentation", "none"):
        return False
    if table.find(".//table") is not None:
        return False
    rows = list(table.iter("tr"))  # (no table inside: every row is this table's)
    has_headers = table.find(".//th") is not None or table.find("caption") is not None or table.find(
        "thead") is not None
    if len(rows) < 2:
        return False
    widths = [sum(int(c.get("colspan") or 1) if (c.get("colspan") or "1").isdigit() else 1
                  for c in tr if _tag(c) in ("td", "th")) for tr in rows]
    if max(widths, default=0) < 2:
        return False
    if has_headers:
        return True
    cells = [c for tr in rows for c in tr if _tag(c) in ("td", "th")]
    return not any(_lays_out(c) for c in cells)


def _lays_out(cell) -> bool:
    """Whether a cell of a table without headers holds page layout rather than a datum: blocks such as lists,
    headings or tables; or <div>s, unless one wraps a short text (editors wrap each figure of a grid in one)."""
    if any(cell.find(f".//{t}") is not None for t in _BLOCKS_IN_CELLS):
        return True
    divs = sum(1 for _ in cell.iter("div"))
    return divs > 1 or (divs == 1 and len("".join(cell.itertext()).strip()) > _SHORT_CELL)


_SHORT_CELL = 60  # characters: a figure, a name, a date, a short title


def _unwrap(el, appends: "TextAppends | None" = None) -> None:
    """Replace el by its children and text (keeping the tail).  With appends, the text it leaves to the
    element before it (or its parent) is added there at appends.flush()."""
    parent = el.getparent()
    if parent is None:
        return
    if appends is None:
        appends = TextAppends()
        _unwrap(el, appends)
        appends.flush()
        return
    previous = el.getprevious()  # (not parent.index(el): that walks every sibling before el)
    appends.move(el, "text", *((parent, "text") if previous is None else (previous, "tail")))
    children = list(el)
    for child in children:
        el.addprevious(child)  # moves the child, with its tail, to just before el
    if children:
        appends.move(el, "tail", children[-1], "tail")
    else:
        appends.move(el, "tail", *((parent, "text") if previous is None else (previous, "tail")))
    parent.remove(el)


def _linearise_table(table) -> None:
    """A layout table becomes a <div> per cell, in reading order."""
    box = etree.Element("div")
    for tr in table.iter("tr"):  # (live: rows moved out with a cell's content are not visited)
        if next(tr.iterancestors("table"), None) is not table:
            continue
        for cell in tr:
            if _tag(cell) not in ("td", "th"):
                continue
            div = etree.SubElement(box, "div")
            div.text = cell.text
            for child in list(cell):
                div.append(child)
    caption = table.find("caption")
    if caption is not None:
        div = etree.Element("div")
        div.text = caption.text
        for child in list(caption):
            div.append(child)
        box.insert(0, div)
    box.tail = table.tail
    parent = table.getparent()
    if parent is not None:
        parent.replace(table, box)


def clean(elements: list, drop: set) -> etree._Element:
    """A copy of the content elements with only what a reader needs: structure, text, images, links."""
    box = etree.Element("div")
    for el in elements:
        if _tag(el) in ("body", "html"):
            box.text = (box.text or "") + (el.text or "")
            for child in el:
                if child in drop:
                    continue
                box.append(_copy_without(child, drop))
        else:
            box.append(_copy_without(el, drop))
    # Pass 1: drop what never belongs, unhide lazy images, strip attributes, rename.  (In document order, so
    # the text of each block still asked about is as it was: short_texts' answers hold.)
    short_texts = _ShortTexts(200)
    appends = TextAppends()
    removed: list = []  # what pass 1 took out (held until the end of the pass: see there)
    inside_removed: set = set()  # and what is inside it: nothing left to do there
    for el in list(box.iter()):
        if el is box or el.getparent() is None and el is not box:
            continue
        if el.getparent() in inside_removed:
            inside_removed.add(el)
            continue
        if not isinstance(el.tag, str):  # comments and processing instructions
            drop_element(el, appends)
            continue
        tag = _tag(el)
        if ":" in tag and tag not in _UNWRAP:
            _unwrap(el, appends)
            continue
        if tag in _DROP or _is_hidden(el) or _is_boiler_block(el, short_texts):
            drop_element(el, appends)
            removed.append(el)
            inside_removed.add(el)
            continue
        if tag == "img":
            _fix_image(el, appends)
            if el.getparent() is None:
                continue
        attributes = _KEEP_ATTRIBUTES.get(tag, ())
        for name in list(el.attrib):
            if name not in attributes and name not in _GLOBAL_ATTRIBUTES:
                del el.attrib[name]
        if tag == "a":
            href = (el.get("href") or "").strip()
            if not href or href.lower().startswith(("javascript:", "vbscript:")) or href == "#":
                el.attrib.pop("href", None)
        if tag in _RENAME:
            el.tag = _RENAME[tag]
    appends.flush()
    # lxml frees the element proxies of a discarded subtree one by one, each time walking the subtree from
    # its top unless an element above still has a proxy: so what points inside the removed subtrees lets go
    # first, and their tops last (the other way round, a removed block of 10,000 paragraphs took seconds).
    del short_texts, inside_removed
    del removed
    # Pass 2: layout tables become divs (deepest first); data tables keep their structure.
    for table in reversed(list(box.iter("table"))):
        if not is_data_table(table):
            _linearise_table(table)
    # Pass 3: unwrap presentational and unknown elements; links without href keep their text.
    for el in list(box.iter()):
        if el is box:
            continue
        tag = _tag(el)
        if tag in ("span", "font") and (el.get("lang") or el.get("dir")):
            el.tag = "span"  # a part in another language keeps saying so
        elif tag in _UNWRAP or (tag and tag not in _KNOWN) or (tag == "a" and el.get("href") is None):
            _unwrap(el, appends)
    appends.flush()
    # Pass 4: remove emptied blocks (no text, no image, no table), deepest first.
    substance: dict = {}  # element -> _has_substance, each worked out from its children's (seen before it)
    for el in reversed(list(box.iter())):
        substance[el] = _has_substance(el, substance, appends)
        if el is box or _tag(el) in ("br", "img", "hr", "td", "th", "tr", "col", "wbr"):
            continue
        if not appends.visible(el, "text") and len(el) == 0:
            drop_element(el, appends)
        elif _tag(el) in ("p", "div", "li", "section", "span") and not substance[el]:
            drop_element(el, appends)
    appends.flush()
    _trim_breaks(box)
    for el in box.iter():  # indentation of the portal's markup: one newline is enough
        if el.text is not None and not el.text.strip():
            el.text = "\n" if "\n" in el.text else (" " if el.text else None)
        if el.tail is not None and not el.tail.strip():
            el.tail = "\n" if "\n" in el.tail else " "
    return box


def _copy_without(el, drop: set):
    """Deep copy of el minus the subtrees in drop (title, info line, pager: they get their own places)."""
    if not drop or not any(_inside(d, el) for d in drop):
        return copy.deepcopy(el)
    marks = []
    for d in drop:
        if _inside(d, el):
            d.set("data-a11y-proxy-reader-drop", "1")
            marks.append(d)
    try:
        copied = copy.deepcopy(el)
    finally:
        for d in marks:
            del d.attrib["data-a11y-proxy-reader-drop"]
    for node in list(copied.iter()):
        if isinstance(node.tag, str) and node.get("data-a11y-proxy-reader-drop") is not None:
            if node is copied:
                return etree.Element("div")
            drop_element(node)
    return copied


def _has_substance(el, known: dict, appends: TextAppends) -> bool:
    """Does el hold text, an image, a table or a rule?  known: the answer for elements inside el (each
    subtree looked at once, however deep the blocks nest); appends: text on its way into el."""
    if appends.visible(el, "text"):
        return True
    for child in el:
        if _tag(child) in ("img", "table", "hr") or appends.visible(child, "tail"):
            return True
        if known[child] if child in known else _has_substance(child, known, appends):
            return True
    return False


def _is_hidden(el) -> bool:
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    return _tag(el) == "input"


def _is_boiler_block(el, texts: _ShortTexts) -> bool:
    """Share bars, print/close buttons, font-size switches, QR codes and the like inside the content box."""
    tag = _tag(el)
    if tag in _INLINE and tag not in ("span", "font"):
        return False
    role = (el.get("role") or "").split()
    if role and role[0] in _BOILER_ROLES:
        return True
    names = _names(el)
    if names and _STRONG_NEGATIVE.search(names) and not _POSITIVE.search(names):
        return True
    text = texts(el)  # (None: longer than both tests below look at)
    if text and len(text) <= 60 and not _TOOL_WORDS.sub("", text):
        return True
    if text and len(text) <= 200 and _FURNITURE_TEXT.search(text) and el.find(".//img") is None:
        return True
    return False


def _fix_image(img, appends: TextAppends) -> None:
    src = (img.get("src") or "").strip()
    if not src or _PLACEHOLDER_IMG.search(src):
        for name in _LAZY_SOURCES:
            value = (img.get(name) or "").strip()
            if value and not value.startswith("data:"):
                img.set("src", value)
                src = value
                break
    if not src:
        drop_element(img, appends)
        return
    alt = img.get("alt")
    if alt is None:
        title = (img.get("title") or "").strip()
        img.set("alt", title or "图片")


def _trim_breaks(box) -> None:
    """No <br> at the start or end of a block, at most two in a row."""
    for el in list(box.iter("br")):
        parent = el.getparent()
        if parent is None:
            continue
        if el.getprevious() is None and not _count(parent.text) or (
                el.getnext() is None and not _count(el.tail)):
            drop_element(el)
            continue
    in_run: set = set()  # breaks already seen in a run (a later one's run is the rest of it: nothing to do)
    for el in list(box.iter("br")):
        if el in in_run:
            continue
        run = [el]
        node = el
        while node.getnext() is not None and _tag(node.getnext()) == "br" and not _count(node.tail):
            node = node.getnext()
            run.append(node)
        in_run.update(run)
        if len(run) > 2:
            for extra in run[2:]:
                drop_element(extra)


def _leading_meta(box, article: Article) -> None:
    """Remove what the reader view shows in its own places: the title repeated in the body, and info lines
    (发布时间、来源、浏览次数、字号…) at the start or the end of the body."""
    title_key = _squash(article.title)
    if title_key:
        texts = _ShortTexts(len(title_key))
        for el in list(box.iter()):
            if el is not box and isinstance(el.tag, str) and _tag(el) not in _INLINE and \
                    _squash(texts(el) or "") == title_key:
                drop_element(el)
    container = box
    while len(container) == 1 and not _count(container.text) and not _count(container[0].tail) and \
            _tag(container[0]) in ("div", "section", "article"):
        container = container[0]
    children = list(container)
    for child in dict.fromkeys(children[:3] + children[-2:]):
        text = _short_text(child, 200)
        if text and len(_squash(text)) <= 200 and _META_LINE.search(text) and len(_PUNCT.findall(text)) <= 6 \
                and child.find(".//img") is None and child.find(".//table") is None:
            drop_element(child)


# --- the reader page ---------------------------------------------------------------------------------

_HEAD_KEEP_META = ("viewport", "description", "keywords", "referrer", "color-scheme")


def full_page_href(page: Page) -> str:
    """Where '查看完整页面' leads: the same page in the same modes without reader."""
    path = page.url.raw_path_qs or "/"
    without = dataclasses.replace(page.modes, reader=False)
    if page.prefix:  # (with no modes left the prefix is '', and '//host/x' must not become a link to host)
        return same_origin_path(mode_prefix(without) + path)
    # Modes from the cookie or the host: a plain link would come straight back to reader mode, so the
    # toggle endpoint switches reader off (and stores that) before going back to the page.
    return f"/-/toggle/reader?next={quote(path, safe='/')}"


class ReaderView(Stateless):
    name = "reader"

    def enabled(self, modes: Modes) -> bool:
        return modes.reader

    def apply(self, doc: Document, page: Page) -> None:
        if doc.root.find("frameset") is not None:  # a frameset has no content of its own: its frames get the view
            page.notes.append("reader: frameset left as it is")
            return
        article = extract(doc, page)
        drop = set()
        if article.title_element is not None:
            drop.add(article.title_element)
        if article.subtitle_element is not None:
            drop.add(article.subtitle_element)
        drop.update(article.pager_blocks)
        body_box = clean(article.content, drop)
        _leading_meta(body_box, article)
        page.notes.append(f"reader: content by {article.found_by}, {_count(''.join(body_box.itertext()))} chars")
        self._rebuild_head(doc, proxy_asset_url(doc, page, STYLESHEET))
        self._rebuild_body(doc, page, article, body_box, proxy_asset_url(doc, page, full_page_href(page)))

    @staticmethod
    def _rebuild_head(doc: Document, stylesheet_href: str) -> None:
        head = doc.head
        for el in list(head):
            tag = _tag(el)
            keep = False
            if tag in ("title", "base"):
                keep = True
            elif tag == "meta":
                name = (el.get("name") or "").lower()
                equiv = (el.get("http-equiv") or "").lower()
                keep = el.get("charset") is not None or equiv == "content-type" or name in _HEAD_KEEP_META or (
                    equiv == "refresh" and "url" in (el.get("content") or "").lower())
            elif el.get(MARK) is not None:  # the proxy's own stylesheets (elder, contrast)
                keep = True
            if not keep:
                drop_element(el)
        if not any(_tag(m) == "meta" and (m.get("name") or "").lower() == "viewport" for m in head):
            head.append(etree.Element("meta", name="viewport", content="width=device-width, initial-scale=1"))
        head.append(etree.Element("link", {"rel": "stylesheet", "href": stylesheet_href, MARK: "reader"}))
        head.text = "\n"
        for el in head:
            el.tail = "\n"
        root = doc.root
        for name in list(root.attrib):
            if name not in ("lang", "xml:lang", "dir", "class", "xmlns"):
                del root.attrib[name]
        classes = [c for c in (root.get("class") or "").split() if c.startswith("a11y-proxy-")]
        root.set("class", " ".join(classes + [CLASS]))

    @staticmethod
    def _rebuild_body(doc: Document, page: Page, article: Article, body_box, back_href: str) -> None:
        body = doc.body
        keep = [el for el in body.iter() if isinstance(el.tag, str) and (
            el.get("id") == "a11y-proxy-toolbar" or "a11y-proxy-toolbar" in (el.get("class") or "").split())]
        keep = [el for el in keep if not any(_inside(el, other) for other in keep if other is not el)]
        for name in list(body.attrib):
            if name not in ("lang", "dir"):
                del body.attrib[name]
        body.text = "\n"
        for child in list(body):
            body.remove(child)
        for el in keep:
            el.tail = "\n"
            body.append(el)
        body.set("class", CLASS)

        main = etree.SubElement(body, "main", {"class": f"{CLASS}-main"})
        main.text = "\n"
        back = etree.SubElement(main, "p", {"class": f"{CLASS}-back"})
        link = etree.SubElement(back, "a", href=back_href)
        link.text = "阅读模式 · 查看完整页面"
        back.tail = "\n"
        art = etree.SubElement(main, "article")
        art.text = "\n"
        h1 = etree.SubElement(art, "h1")
        h1.text = article.title or "正文"
        h1.tail = "\n"
        if article.subtitle:
            subtitle = etree.SubElement(art, "p", {"class": f"{CLASS}-subtitle"})
            subtitle.text = article.subtitle
            subtitle.tail = "\n"
        if article.date or article.source:
            meta = etree.SubElement(art, "p", {"class": f"{CLASS}-meta"})
            last = None
            if article.date:
                label = etree.SubElement(meta, "span")
                label.text = "发布时间："
                time = etree.SubElement(label, "time", datetime=article.datetime)
                time.text = article.date
                last = label
            if article.source:
                label = etree.SubElement(meta, "span")
                label.text = f"来源：{article.source}"
                if last is not None:
                    last.tail = "　"
            meta.tail = "\n"
        body_box.set("class", f"{CLASS}-body")
        body_box.tail = "\n"
        art.append(body_box)
        attachments = article.attachments
        if attachments:
            section = etree.SubElement(art, "section", {"class": f"{CLASS}-attachments",
                                                         "aria-labelledby": f"{CLASS}-attachments-heading"})
            heading = etree.SubElement(section, "h2", id=f"{CLASS}-attachments-heading")
            heading.text = "附件"
            items = etree.SubElement(section, "ul")
            for href, text in attachments:
                li = etree.SubElement(items, "li")
                a = etree.SubElement(li, "a", href=href)
                a.text = text
                kind = _ATTACHMENT.search(unquote(urlsplit(href).path))
                if kind and kind.group(1).lower() not in text.lower():
                    a.tail = f"（{kind.group(1).upper()}）"
            section.tail = "\n"
        if article.prev or article.next:
            nav = etree.SubElement(art, "nav", {"class": f"{CLASS}-pager", "aria-label": "上一篇和下一篇"})
            items = etree.SubElement(nav, "ul")
            for label, item in (("上一篇：", article.prev), ("下一篇：", article.next)):
                if item is None:
                    continue
                li = etree.SubElement(items, "li")
                li.text = label
                a = etree.SubElement(li, "a", href=item[0])
                a.text = item[1]
            nav.tail = "\n"
        main.tail = "\n"


def _pager_blocks(candidates: list, texts: _ShortTexts) -> set:
    """The blocks that hold the prev/next links in the page (they get their own place in the reader view)."""
    found = set()
    for el in candidates:
        text = texts(el)
        if text and len(text) <= 200 and (_PREV.match(text) or _NEXT.match(text)):
            found.add(el)
    # Only the outermost ones, and only small ones (never a box that holds the body too).
    return {el for el in found if not any(_inside(el, other) for other in found if other is not el)}
