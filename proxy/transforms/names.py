"""Accessible names: images, image links and empty links, buttons, form fields, frames.

A name is only ever added where there is none, from the best source the page itself offers, in order:
the element's own title, visible text next to it (a label cell, the words before a field), another link to
the same address that has text, then what the address or the file name plainly says (a QR code, the
gov.cn portal, the 党政机关 badge, a logo: the site's name).  Decoration gets alt="" (spacers, lines,
1-pixel images, icons inside links that have text).  Each heuristic can be switched off in a rule file:
image_alt, link_names, form_labels, frame_titles.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import etree

from ..document import Document
from ..pipeline import Page
from .aria import ACCELERATOR as MEASURING
from .aria import (RepairTransform, Repairs, explicit_role, heuristic, hidden, iter_elements, main_landmarks, squash,
                   tag_of, text_of, title_parts)

_DECORATIVE_FILE = re.compile(
    r"(?:^|[/_\-.])(?:spacer|space|blank|pixel|px|dot|dian|line|xian|kong|transparent|touming|clear|shim|1x1|"
    r"bg|back|arrow|jt|jiantou|icon|ico|bullet|point|sj|fgx|split|sep|corner|shadow|border)\d*(?:[_\-.]|$)",
    re.I)
_DECORATIVE_CLASS = re.compile(r"(?:^|[\s_\-])(?:icon|ico|bg|line|arrow|dot|spacer|bullet|decor|deco)(?:[\s_\-]|\d|$)",
                               re.I)
# What an address or a file name plainly says: (pattern over href / src / class / id, name).
_HINTS = [
    (re.compile(r"conac\.cn|dzjg|jiguan|(?:^|/)red\.(?:png|gif|jpg)", re.I), "党政机关网站标识"),
    (re.compile(r"jiucuo|zhaocuo|zfwzgl|kaipuyun|pucha", re.I), "政府网站找错"),
    (re.compile(r"beian\.miit|miitbeian|icp", re.I), "ICP备案信息"),
    (re.compile(r"beian\.gov\.cn|gongan|gaba|(?:^|[/_])ga\.png", re.I), "公安机关备案信息"),
    (re.compile(r"weibo", re.I), "微博"),
    (re.compile(r"weixin|wechat|(?:^|[/_\-.])wx(?:[_\-.\d]|$)", re.I), "微信"),
    (re.compile(r"ewm|erweima|qr_?code|(?:^|[/_\-.])qr(?:[_\-.\d]|$)", re.I), "二维码"),
    (re.compile(r"ipv6", re.I), "IPv6"),
    (re.compile(r"wza|wuzhangai|barrier|accessib", re.I), "无障碍"),
    (re.compile(r"(?:^|[/_\-.])(?:go)?top(?:[_\-.]|$)|gotop|totop|back-?top|fanhui", re.I), "返回顶部"),
    (re.compile(r"sousuo|search|(?:^|[/_\-.])ss(?:[_\-.\d]|$)|(?:^|[/_\-.])so(?:[_\-.\d]|$)", re.I), "搜索"),
    (re.compile(r"close|guanbi", re.I), "关闭"),
    (re.compile(r"print|dayin", re.I), "打印"),
    (re.compile(r"(?:^|[/_\-.])(?:prev|pre|left|shang)(?:[_\-.\d]|$)", re.I), "上一个"),
    (re.compile(r"(?:^|[/_\-.])(?:next|right|xia)(?:[_\-.\d]|$)", re.I), "下一个"),
    (re.compile(r"rss", re.I), "RSS 订阅"),
    (re.compile(r"e-?mail|youxiang", re.I), "邮箱"),
    (re.compile(r"sitemap|wzdt", re.I), "网站地图"),
    (re.compile(r"(?:^|[/_\-.])app(?:[_\-.\d]|$)|client|khd", re.I), "客户端"),
]
_SITE_HOSTS = {"www.gov.cn": "中国政府网", "gov.cn": "中国政府网", "www.12345.gov.cn": "12345 政务服务便民热线",
               "zwfw.gov.cn": "全国一体化政务服务平台", "gjzwfw.gov.cn": "国家政务服务平台"}
_LOGO = re.compile(r"logo|biaoshi", re.I)
_CONTENT_BOX = re.compile(r"content|article|zhengwen|(?:^|[\s_\-])zw|detail|text|trs_?editor|main|news|info", re.I)
_GOV_NAME = re.compile(r"人民政府|政府|局|委员会|委|厅|部|办公室|中心|法院|检察院|医院|大学|学院|门户|网$")
_FIELD_HINTS = [
    (re.compile(r"^(?:q|wd|kw|key|keys|keyword|keywords|searchword|search|query|sw|text|title)$|search|sousuo|keyword",
                re.I), "搜索关键词"),
    (re.compile(r"user|uid|login|account|zhanghao|yonghu", re.I), "用户名"),
    (re.compile(r"pass|pwd|mima", re.I), "密码"),
    (re.compile(r"captcha|yzm|verify|checkcode|validate|vcode|randcode", re.I), "验证码"),
    (re.compile(r"mail", re.I), "电子邮箱"),
    (re.compile(r"phone|mobile|tel|shouji|dianhua", re.I), "电话"),
    (re.compile(r"name|xingming", re.I), "姓名"),
    (re.compile(r"date|time|riqi", re.I), "日期"),
]
# Preselected in C: images without alt (or only whitespace), links and areas without any text.  Written
# descendant::x[...], not .//x[...]: libxml2 makes .//x one walk of the elements only when the step has no
# predicate, and with one it first collects every node below (text too), then each one's children.
_LINK_SPACES = ("\u00a0", "\u3000", "\u200b")  # (spaces a link's text may be made of, with XPath's white space)
_TEXTLESS_LINKS = etree.XPath("descendant::a[@href][not(normalize-space(translate(., '\u00a0\u3000\u200b', '   ')))]"
                              " | descendant::area[@href]")


def links_by_address(root) -> dict[str, list]:
    """The links under root (root included) by their href, stripped; none without one, with an empty one, or
    one that stays on the page (#..., javascript:).  In one C walk where it was built (a fifth of the time)."""
    if MEASURING is not None:
        return MEASURING.grouped_by_value(root, ("a",), "href", ("#", "javascript:"))
    found: dict[str, list] = {}
    for link in root.iter("a"):  # (lxml's walk in C, and no attribute-value objects to make)
        value = link.get("href")
        if value is None:
            continue
        address = value.strip()
        if address and not address.startswith(("#", "javascript:")):
            found.setdefault(address, []).append(link)
    return found


def unnamed_images(root) -> list:
    """The <img>s under root with no alt, or an alt of white space only: "descendant::img[not(@alt) or (@alt
    != '' and normalize-space(@alt) = '')]" (lxml's walk for the tag, then a test on each: a third of the
    XPath's time)."""
    return [img for img in root.iter("img") if img is not root and (
        (alt := img.get("alt")) is None or alt and not alt.strip(" \t\r\n"))]


def textless_links(root) -> list:
    """_TEXTLESS_LINKS: links under root with an address and no text, and areas with an address.  In one C
    walk where it was built (a tenth of the XPath's time: it joins each link's text to test it)."""
    if MEASURING is not None:
        return MEASURING.unnamed_links(root, _LINK_SPACES)
    return _TEXTLESS_LINKS(root)


_LABEL_END = re.compile(r"[：:＊*\s]+$")
_SEARCH = re.compile(r"搜索|检索|查询|search|sousuo|query")  # (matched by says_search, on lowercased text)
_CONTROLS = ("input", "select", "textarea")
_VISIBLE_SOURCES = ("text after it", "text before it", "the cell before it")
_NO_NAME_INPUTS = frozenset({"hidden", "submit", "reset", "button", "image"})
# Fields that take no typed words, so are never a search's keywords, even in a search form (its drop-down list of
# columns, a date range).  Any other input is a text field, as browsers show an unknown type.
_NOT_WORDS = frozenset({"select", "checkbox", "radio", "password", "email", "tel", "number", "url", "date",
                        "datetime-local", "month", "week", "time", "file", "range", "color"})


def says_search(text: str) -> bool:
    """_SEARCH's words in text, in any case.  The lowercased text matched case-sensitively is what re.I does for
    these words ('ſ', the one other character re.I takes for one of their letters, an 's', becomes one first),
    and a case-sensitive pattern is scanned for its first characters at C speed: 2.5x faster, per element of a
    page when fields look for a search form nearby."""
    return _SEARCH.search(text.lower().replace("\u017f", "s")) is not None


def site_name(doc: Document) -> str:
    """The portal's name, from its <title> ('文章标题_示范市人民政府' -> '示范市人民政府')."""
    parts = title_parts(doc.root)
    for part in reversed(parts):
        if _GOV_NAME.search(part):
            return part
    return parts[-1] if parts else ""


# The same patterns for ASCII values, which are matched lowercased: for them that is what re.I does, and a
# case-sensitive pattern lets re skip ahead to its first letter (a 23-character src: 16 -> 9 µs for all 19).
# (A pattern with capitals in it, were one added, keeps re.I: still right on a lowercased value.)
_HINTS_LOWERCASE = [(re.compile(pattern.pattern) if pattern.pattern == pattern.pattern.lower() else pattern, name)
                    for pattern, name in _HINTS]


def hint_for(*values: str | None) -> str | None:
    for value in values:
        if not value:
            continue
        hints = _HINTS
        if value.isascii():
            value, hints = value.lower(), _HINTS_LOWERCASE
        for pattern, name in hints:
            if pattern.search(value):
                return name
    return None


def host_name(href: str) -> str | None:
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    if host in _SITE_HOSTS and parts.path in ("", "/", "/index.htm", "/index.html"):
        return _SITE_HOSTS[host]
    return host


_TINY_STYLE = re.compile(r"(?:^|;)(?:width|height):[0-3]px")


def is_decorative(img) -> bool:
    src = img.get("src") or ""
    for attribute in ("width", "height"):
        value = (img.get(attribute) or "").strip().rstrip("px")
        if value.isdigit() and int(value) <= 3:
            return True
    style = (img.get("style") or "").replace(" ", "").lower()
    if _TINY_STYLE.search(style):
        return True
    if not src.strip() or src.startswith("data:image/gif"):
        return True
    path = urlsplit(src).path if "://" in src else src.split("?")[0]
    name = path.rsplit("/", 1)[-1]
    names = " ".join((img.get("class") or "", img.get("id") or ""))
    if _DECORATIVE_FILE.search(name) or _DECORATIVE_CLASS.search(names):
        return not _LOGO.search(name) and not hint_for(name)
    return False


def has_own_name(el) -> bool:
    return bool((el.get("aria-label") or "").strip() or (el.get("aria-labelledby") or "").strip()
                or (el.get("title") or "").strip())


def link_text(link, without=None) -> str:
    """The name a link (or button) gets from its content: text and images' alt, optionally leaving one
    image out."""
    parts: list[str] = []
    if link.text:
        parts.append(link.text)
    stack = [(iter(link), None)]  # children left to read, and the element whose tail follows them (no recursion)
    while stack:
        children, owner = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if owner is not None and owner.tail:
                parts.append(owner.tail)
            continue
        if isinstance(child.tag, str) and child is not without and not hidden(child) \
                and child.tag not in ("script", "style", "noscript", "template"):
            if child.tag == "img":
                alt = child.get("alt")
                if alt and alt.strip():
                    parts.append(alt)
            elif (child.get("aria-label") or "").strip():
                parts.append(child.get("aria-label"))
            else:
                if child.text:
                    parts.append(child.text)
                stack.append((iter(child), child))  # its content next, then its tail
                continue
        if child.tail:
            parts.append(child.tail)
    return squash(" ".join(parts))


class Names(RepairTransform):
    name = "names"

    def apply(self, doc: Document, page: Page) -> None:
        # One transform object serves every page at once: what this page needs lives in the run.
        log = self.log(page)
        _NamesRun(doc, log).run(page.rules)
        log.finish()


class _NamesRun:
    """Names for one page: the page and what is learned about it (its site name, its main landmark, the
    text of its links by address) live here, never on the shared Names object."""

    def __init__(self, doc: Document, log: Repairs):
        self.doc = doc
        self.log = log
        self.site = site_name(doc)
        # in_content's: main and the walk up to it, looked up when an image first asks (most pages' images
        # are all named before that: their titles, links, file names say what they are).
        self.main_around: NearestAbove | None = None
        self.has_main = False
        self.links_by_href: dict[str, list] | None = None  # same_href_text, built on first use
        self.content_box_around = NearestAbove(_content_box)
        self.search_marks: set | None = None  # search_marked, built on first use
        self.box_texts: dict = {}  # text_of(box, 40) of the boxes search_nearby looked at

    def run(self, rules) -> None:
        doc = self.doc
        if doc.root.find("body") is None:  # a frameset: only its frames need names
            if rules.heuristic("frame_titles"):
                self.frames()
            return
        if rules.heuristic("image_alt"):
            self.images()
        if rules.heuristic("link_names"):
            self.links()
        if rules.heuristic("form_labels"):
            self.fields()
            self.buttons()
        if rules.heuristic("frame_titles"):
            self.frames()

    # --- images ---

    def images(self) -> None:
        doc, log = self.doc, self.log
        source = heuristic("image_alt")
        for img in unnamed_images(doc.body):
            alt = img.get("alt")
            if alt is not None:
                img.set("alt", "")  # whitespace alt means decoration: say it plainly
                continue
            if has_own_name(img) and not (img.get("title") or "").strip():
                continue  # aria-label / aria-labelledby name it
            if explicit_role(img) in ("none", "presentation"):
                img.set("alt", "")
                log.mark(img, 'alt="" (role=presentation)', source)
                continue
            title = squash(img.get("title"))
            if title:
                img.set("alt", title)
                log.mark(img, f"alt “{title}” (its title)", source)
                continue
            link = next(img.iterancestors("a", "button"), None)
            if link is not None:
                if link_text(link, without=img) or has_own_name(link):
                    img.set("alt", "")
                    log.mark(img, 'alt="" (the link has text)', source)
                    continue
                name = self.link_name(link, img)
                others = [i for i in link.iter("img") if i is not img and i.get("alt") is None]
                img.set("alt", name)
                for other in others:
                    other.set("alt", "")
                log.mark(img, f"alt “{name}” (names its link)", source)
                continue
            if is_decorative(img):
                img.set("alt", "")
                log.mark(img, 'alt="" (spacer or decoration)', source)
                continue
            name = self.image_hint(img)
            if name:
                img.set("alt", name)
                log.mark(img, f"alt “{name}” (from its file name or context)", source)
                continue
            caption = self.caption(img)
            if caption is not None:
                img.set("alt", "")
                log.mark(img, 'alt="" (its caption next to it says what it shows)', source)
                continue
            if self.in_content(img):
                img.set("alt", "图片")
                log.mark(img, "alt “图片” (a picture in the content; nothing on the page says what it shows)",
                         source)
            else:
                img.set("alt", "")
                log.mark(img, 'alt="" (outside the content, nothing says what it is: treated as decoration)',
                         source)

    def image_hint(self, img) -> str | None:
        src = img.get("src") or ""
        hint = hint_for(src, img.get("class"), img.get("id"))
        if hint == "二维码":
            context = text_of(img.getparent(), 30) if img.getparent() is not None else ""
            context = _LABEL_END.sub("", context)
            if context and len(context) <= 16 and "二维码" not in context:
                return f"{context}二维码"
            return hint
        if hint in (None, "搜索", "上一个", "下一个", "关闭", "返回顶部") and _LOGO.search(
                " ".join((src.rsplit("/", 1)[-1], img.get("class") or "", img.get("id") or ""))):
            return self.site or None
        if hint in ("上一个", "下一个", "关闭", "返回顶部", "搜索"):
            return None  # controls without a link: an unlinked arrow is decoration
        return hint

    def caption(self, img):
        figure = next(img.iterancestors("figure"), None)
        if figure is not None and figure.find("figcaption") is not None:
            return figure.find("figcaption")
        return None

    def in_content(self, img) -> bool:
        if self.main_around is None:  # (images() only sets alt before this: main is as it was at the start)
            mains = main_landmarks(self.doc.root)
            main = mains[0] if mains else None
            self.has_main = main is not None
            # (The test holds main, not self: a reference cycle through the run would keep its element proxies
            # alive past the page, and lxml frees proxies of a discarded tree one whole-tree walk each.)
            self.main_around = NearestAbove(lambda el: el is main)
        if self.has_main:
            return self.main_around(img) is not None
        for attribute in ("width", "height"):
            value = (img.get(attribute) or "").strip().rstrip("px")
            if value.isdigit() and int(value) >= 200:
                return True
        return self.content_box_around(img) is not None

    # --- links ---

    def same_href_text(self, href: str) -> str | None:
        """The text (40 characters) of the first link to href that has text.  The links are grouped by
        address once (names never change a page's text); only the asked addresses' links are read."""
        if self.links_by_href is None:
            self.links_by_href = links_by_address(self.doc.body)
        for link in self.links_by_href.get(href, ()):
            text = squash("".join(link.itertext()))
            if text:
                return text[:40]
        return None

    def link_name(self, link, img=None) -> str:
        """A name for a link that has none: title, same-address link text, what the address or image says."""
        href = (link.get("href") or "").strip()
        if img is not None and squash(img.get("title")):
            return squash(img.get("title"))
        src = img.get("src") if img is not None else None
        if img is not None and self.site and _LOGO.search(" ".join(((src or "").rsplit("/", 1)[-1],
                                                                    img.get("class") or "", img.get("id") or ""))):
            return self.site  # the logo names the site (and usually links to its home page)
        same = self.same_href_text(href) if href else None
        if same:
            return same
        hint = hint_for(href, src, link.get("class"), link.get("id"), img.get("class") if img is not None else None)
        if hint:
            return hint
        if img is not None and _LOGO.search(" ".join(((src or "").rsplit("/", 1)[-1], img.get("class") or "",
                                                       link.get("class") or ""))) and self.site:
            return self.site
        parsed_path = urlsplit(href).path if href else ""
        if href and (parsed_path in ("", "/", "./", "index.html", "index.htm", "/index.html", "/index.htm")
                     and "://" not in href):
            return f"{self.site}首页" if self.site else "首页"
        host = host_name(href) if href else None
        if host:
            return host
        return "图片链接" if img is not None else "链接"

    def links(self) -> None:
        doc, log = self.doc, self.log
        source = heuristic("link_names")
        for link in textless_links(doc.body):
            if hidden(link) or has_own_name(link):
                continue
            if tag_of(link) == "area":
                if link.get("alt") is None or not link.get("alt").strip():
                    name = self.link_name(link)
                    link.set("alt", name)
                    log.mark(link, f"alt “{name}”", source)
                continue
            if link_text(link):
                continue
            images = [i for i in link.iter("img")]
            name = self.link_name(link, images[0] if images else None)
            if images:
                images[0].set("alt", name)
                log.mark(images[0], f"alt “{name}” (names its link)", source)
            else:
                link.set("aria-label", name)
                log.mark(link, f"link named “{name}”", source)

    # --- form fields and buttons ---

    def fields(self) -> None:
        doc, log = self.doc, self.log
        source = heuristic("form_labels")
        labels = None
        named: list[tuple] = []
        for control in list(iter_elements(doc.body, *_CONTROLS)):
            tag = tag_of(control)
            kind = (control.get("type") or "text").strip().lower() if tag == "input" else tag
            if kind in _NO_NAME_INPUTS or hidden(control):
                continue
            if (control.get("aria-label") or "").strip() or (control.get("aria-labelledby") or "").strip() \
                    or (control.get("placeholder") or "").strip():
                continue
            if labels is None:
                labels = label_texts(doc)
            if control.get("id") and control.get("id") in labels:
                continue
            wrapping = next(control.iterancestors("label"), None)
            if wrapping is not None and text_of(wrapping, 60):
                continue
            name, how = self.field_name(control, kind)
            titled = squash(control.get("title"))
            if titled and how not in _VISIBLE_SOURCES:
                continue  # its title names it; a guess would be no better
            named.append((control, name, how))
        # Fields named alike (a column of 投票 checkboxes) get their row's context: 投票 王如竹.
        counts: dict[str, int] = {}
        for _, name, _ in named:
            counts[name] = counts.get(name, 0) + 1
        for control, name, how in named:
            if counts[name] > 1:
                context = self.row_context(control)
                if context and context != name:
                    name, how = f"{name} {context}", how + " and its row"
            control.set("aria-label", name)
            log.mark(control, f"field named “{name}” ({how})", source)

    @staticmethod
    def row_context(control) -> str:
        cell = next(control.iterancestors("td", "th", "li"), None)
        row = cell.getparent() if cell is not None else None
        if row is None:
            return ""
        for other in row:
            if other is cell:
                break
            text = _LABEL_END.sub("", text_of(other, 30))
            if text and len(text) <= 20:
                return text
        table = next(control.iterancestors("table"), None)
        if table is not None:
            # One record per small table (a card): its first line of text.
            text = _LABEL_END.sub("", text_of(table, 20).split(" ")[0])
            if text and len(text) <= 20:
                return text
        return ""

    def field_name(self, control, kind: str) -> tuple[str, str]:
        if kind in ("checkbox", "radio"):
            after = squash(control.tail)
            if not after:
                following = control.getnext()
                if following is not None and tag_of(following) in ("span", "font", "a", "b", "label", "em",
                                                                    "strong"):
                    after = text_of(following, 40)
            if after:
                return _LABEL_END.sub("", after)[:40], "text after it"
        before = self.text_before(control)
        if before:
            return before, "text before it"
        values = (control.get("name"), control.get("id"), control.get("class"))
        form = next(control.iterancestors("form"), None)
        in_search = form is not None and (form.get("role") == "search" or re.search(
            r"search|sousuo|query|find|jsearch|/s\b|so\b", " ".join((form.get("action") or "", form.get("id") or "",
                                                                    form.get("name") or "", form.get("class") or "")),
            re.I))
        if kind in ("text", "search") and in_search:
            return "搜索关键词", "a search form"
        cell = next(control.iterancestors("td", "th"), None)
        if cell is not None:
            previous = cell.getprevious()
            if previous is not None and tag_of(previous) in ("td", "th") and not any(
                    tag_of(e) in ("img", "a", "input", "select", "table") for e in previous.iter()):
                raw = text_of(previous, 40)
                text = _LABEL_END.sub("", raw)
                if text and (len(text) <= 6 or (raw.endswith(("：", ":")) and len(text) <= 20)):
                    return text, "the cell before it"
        takes_words = kind not in _NOT_WORDS
        for pattern, name in _FIELD_HINTS:
            if (takes_words or name != "搜索关键词") and any(v and pattern.search(v) for v in values):
                return name, "its name attribute"
        if takes_words and (in_search or any(v and re.search(r"search|sousuo|sch|(?:^|_)ss", v, re.I) for v in values)):
            return "搜索关键词", "a search form"
        if kind == "select":
            return "请选择", "a drop-down list"
        if kind in ("checkbox", "radio"):
            return "选择", "a choice"
        if kind in ("text", "search", "textarea") and self.search_nearby(control):
            return "搜索关键词", "a search button next to it"
        return "输入", "nothing on the page names it"

    def search_nearby(self, control) -> bool:
        """Does a box around the control (up to three levels up) say search: in its class or id, its first
        words, or a field, button, link or image inside it?"""
        box = control.getparent()
        for _ in range(3):
            if box is None:
                return False
            if box in self.search_marked() or says_search(" ".join((box.get("class") or "", box.get("id") or ""))):
                return True
            if box not in self.box_texts:  # (fields and buttons change no text: computed once per box)
                self.box_texts[box] = text_of(box, 40)
            if says_search(self.box_texts[box]):
                return True
            box = box.getparent()
        return False

    def search_marked(self) -> set:
        """The fields, buttons, links and images whose value, class, id, src, onclick, alt or text says search,
        and every element around them: one pass over the page (scanning the whole of each box asked about
        made a page of many fields quadratic)."""
        if self.search_marks is None:
            self.search_marks = set()
            for el in self.doc.root.iter("input", "button", "a", "img"):
                if says_search(" ".join(filter(None, (el.get("value"), el.get("class"), el.get("id"), el.get("src"),
                                                         el.get("onclick"), el.get("alt"), el.text)))):
                    self.mark_search(el)
        return self.search_marks

    def mark_search(self, el) -> None:
        """el says search: so does every box around it (up to the first one already marked)."""
        marks = self.search_marks
        while el is not None and el not in marks:
            marks.add(el)
            el = el.getparent()

    @staticmethod
    def text_before(control) -> str:
        previous = control.getprevious()
        text = ""
        if previous is not None:
            text = squash(previous.tail)
            if not text and tag_of(previous) in ("span", "font", "b", "strong", "label", "em", "td", "th", "i"):
                text = text_of(previous, 40)
        else:
            parent = control.getparent()
            text = squash(parent.text) if parent is not None else ""
        text = _LABEL_END.sub("", text)
        if "：" in text or ":" in text:
            text = re.split(r"[：:]", text)[-1].strip() or text
        return text if 0 < len(text) <= 20 else ""

    def buttons(self) -> None:
        doc, log = self.doc, self.log
        source = heuristic("form_labels")
        for button in list(iter_elements(doc.body, "button", "input")):
            tag = tag_of(button)
            kind = (button.get("type") or ("submit" if tag == "button" else "text")).strip().lower()
            if hidden(button) or has_own_name(button):
                continue
            if tag == "button":
                if link_text(button):
                    continue
            elif kind == "image":
                if (button.get("alt") or "").strip():
                    continue
            elif kind in ("button", "submit", "reset"):
                if (button.get("value") or "").strip() or (kind in ("submit", "reset")
                                                            and button.get("value") is None):
                    continue
            else:
                continue
            name = hint_for(button.get("class"), button.get("id"), button.get("name"), button.get("onclick"),
                            button.get("src"))
            if name in (None, "上一个", "下一个") and self.search_nearby(button):
                name = "搜索"
            name = name or {"submit": "提交", "reset": "重置"}.get(kind, "按钮")
            if kind == "image" and tag == "input":
                button.set("alt", name)
                if self.search_marks is not None and says_search(name):
                    self.mark_search(button)  # its alt now says search, for the buttons after it
            else:
                button.set("aria-label", name)
            log.mark(button, f"button named “{name}”", source)

    # --- frames ---

    def frames(self) -> None:
        doc, log = self.doc, self.log
        source = heuristic("frame_titles")
        for frame in list(iter_elements(doc.root, "iframe", "frame")):
            if (frame.get("title") or "").strip() or (frame.get("aria-label") or "").strip():
                continue
            title = frame_title(frame)
            frame.set("title", title)
            log.mark(frame, f"frame titled “{title}”", source)


_FRAME_HINTS = [
    (re.compile(r"weather|tianqi", re.I), "天气预报"),
    (re.compile(r"jiucuo|zhaocuo|kaipuyun", re.I), "政府网站找错"),
    (re.compile(r"visit|count|tongji|stat|hidden|track", re.I), "访问统计（无内容）"),
    (re.compile(r"share|fenxiang", re.I), "分享"),
    (re.compile(r"shoucang|favorite|collect", re.I), "收藏"),
    (re.compile(r"video|shipin|player", re.I), "视频"),
    (re.compile(r"map|ditu", re.I), "地图"),
    (re.compile(r"search|sousuo", re.I), "搜索"),
    (re.compile(r"banner|top|head", re.I), "页面顶部"),
    (re.compile(r"foot|bottom", re.I), "页面底部"),
    (re.compile(r"middle|main|content|center", re.I), "主要内容"),
    (re.compile(r"menu|nav|daohang", re.I), "导航"),
    (re.compile(r"login|denglu", re.I), "登录"),
]


def _content_box(el) -> bool:
    return _CONTENT_BOX.search(" ".join((el.get("class") or "", el.get("id") or ""))) is not None


class NearestAbove:
    """The nearest element around el (el itself left out) that passes a test, or None.  Each answer is kept
    for every element passed on the way up, so asking for every image of a deeply nested page walks each
    level once, not once per image below it.  (The test must not change during the run: tags, classes.)"""

    def __init__(self, test):
        self.test = test
        self.known: dict = {}  # element -> the nearest element passing the test, itself included, or None

    def __call__(self, el):
        known, test = self.known, self.test
        el = el.getparent()
        passed = []
        while el is not None and el not in known:
            if test(el):
                known[el] = el
                break
            passed.append(el)
            el = el.getparent()
        found = known[el] if el is not None else None
        for element in passed:
            known[element] = found
        return found


def label_texts(doc: Document) -> dict[str, str]:
    """The text of each <label for=...>, by the id it names."""
    labels = {}
    for label in iter_elements(doc.body, "label"):
        target = label.get("for")
        if target:
            text = text_of(label, 60)
            if text:
                labels[target] = text
    return labels


def frame_title(frame) -> str:
    src = frame.get("src") or ""
    for value in (frame.get("name"), frame.get("id"), src, frame.get("class")):
        if not value:
            continue
        for pattern, title in _FRAME_HINTS:
            if pattern.search(value):
                return title
    host = host_name(src) if "//" in src else None
    if host:
        return f"内嵌页面：{host}"
    name = src.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return f"内嵌页面：{name}" if name and not name.startswith(("javascript:", "about:")) else "内嵌页面"
