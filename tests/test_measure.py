"""The compiled measuring walk of the landmark repairs (proxy/transforms/_measure.c) against its reference,
aria.measure_in_python (and its text_of and first_text against aria.text_of_in_python and
landmarks.first_text_in_python): the same elements in the same order, the same subtree ends, counts and texts, on
generated trees full of the cases that matter (hidden subtrees by each attribute, non-rendered elements,
comments and processing instructions with tails, links inside links, images with blank and non-blank alt in
every kind of whitespace, frames, namespaced elements, characters of every UTF-8 length), on trees the repairs
have already changed, on 100,000 levels of nesting, on this suite's own fixtures and demo pages, and on the
real portal pages of ../shared/corpus when present."""
from __future__ import annotations

import os
import random
import shutil

import pytest
from lxml import etree

from proxy import document
from proxy.transforms import aria, landmarks
from tests.conftest import CORPUS, CORPUS_PAGES, FIXTURES, ROOT, check_extension_is_current

ACCELERATOR = aria.ACCELERATOR
needs_accelerator = pytest.mark.skipif(ACCELERATOR is None, reason="the C accelerator is not built here "
                                       "(no C compiler at install time, or A11Y_PROXY_NO_EXTENSIONS=1)")


def test_the_accelerator_is_built_wherever_it_can_be():
    """pip builds it wherever a C compiler is present (CI and the image have one): there, running without it
    would be a silent slowdown of every page, so it is an error."""
    if os.environ.get("A11Y_PROXY_NO_EXTENSIONS"):
        pytest.skip("A11Y_PROXY_NO_EXTENSIONS is set")
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.skip("no C compiler on this machine: the pure-Python reference runs")
    assert ACCELERATOR is not None, "reinstall (pip install -e .) to build proxy/transforms/_measure.c"


def test_the_accelerator_source_is_in_step_with_this_checkout():
    check_extension_is_current(ACCELERATOR, "_measure.c")


@needs_accelerator
def test_the_accelerator_knows_the_same_tags():
    not_rendered, media = ACCELERATOR.tag_lists()
    assert not_rendered == aria._NOT_RENDERED
    assert media == aria._MEDIA


def assert_same_texts(root, what: str = "", limits=(1, 10, 13, 21, 40, 200)) -> None:
    """text_of and first_text of every element under root, at several limits, and its text's length."""
    for el in root.iter(etree.Element):
        assert ACCELERATOR.text_length(el) == len(etree.tostring(el, method="text", encoding="unicode",
                                                                 with_tail=False)), f"{what}: text_length"
        assert ACCELERATOR.own_text(el) == (el.text or "") + "".join(child.tail or "" for child in el), \
            f"{what}: own_text"
        for limit in limits:
            assert aria.text_of(el, limit) == aria.text_of_in_python(el, limit), f"{what}: text_of {limit}"
            assert landmarks.first_text(el, limit) == landmarks.first_text_in_python(el, limit), \
                f"{what}: first_text {limit}"


def assert_same(root, what: str = "") -> None:
    reference = aria.measure_in_python(root)
    accelerated = ACCELERATOR.measure(root, aria.hidden)
    sequence, order, end = reference[:3]
    assert len(accelerated[0]) == len(sequence), what
    assert all(a is b for a, b in zip(accelerated[0], sequence)), what  # the same proxies, in the same order
    assert accelerated[1] == order and accelerated[2] == end, what
    names = ("through", "text", "link_text", "links", "media", "frames")
    for name, got, expected in zip(names, accelerated[3:], reference[3:]):
        assert got == expected, f"{what}: {name}"


# Text of every UTF-8 length, and each kind of space the two must agree on: those chars() skips (ASCII
# whitespace, NBSP, U+3000, U+200B, U+FEFF) and those it counts (U+2003, U+0085, U+1680...).
_WORDS = ["政府", "信息公开", "a", "Copyright ©", "𠀋𡈽", "é", " ", "\n\t", "\xa0", "\u3000", "\u200b", "\ufeff",
          "\u2003", "\x85", "\u1680", "\x0b\x0c", "&amp;", "&#12354;", "&nbsp;", "1\u200b2"]
_ALTS = [None, "", " ", "\u3000", "\xa0", "\u2003", "\x1c", "\u200b", "图标", " x "]
_STYLES = ["display:none", "DISPLAY : none !important", "visibility:hidden", "color:red", "display: block",
           "x:1;display:none;y:2", ""]
_TAGS = ["div", "p", "span", "a", "ul", "li", "table", "tr", "td", "section", "font", "b", "button", "label"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 4)))


def _attributes(rng: random.Random, tag: str) -> str:
    out = []
    roll = rng.random()
    if roll < 0.12:
        out.append(f'style="{rng.choice(_STYLES)}"')
    elif roll < 0.16:
        out.append("hidden")
    elif roll < 0.22:
        out.append(f'aria-hidden="{rng.choice(["true", "TRUE ", "false", ""])}"')
    if tag in ("a", "area") and rng.random() < 0.7:
        out.append(f'href="/p{rng.randint(0, 99)}"' if rng.random() < 0.9 else 'href=""')
    return (" " + " ".join(out)) if out else ""


def _fragment(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(1, 5)):
        roll = rng.random()
        if roll < 0.25:
            parts.append(_text(rng))
        elif roll < 0.32:
            alt = rng.choice(_ALTS)
            parts.append("<img src=x.png>" if alt is None else f'<img src=x.png alt="{alt}">')
        elif roll < 0.36:
            parts.append(f"<!-- {_text(rng)} <p>注释</p> -->{_text(rng)}")
        elif roll < 0.38:
            parts.append(f"<?php echo 1 ?>{_text(rng)}")
        elif roll < 0.42:
            parts.append(rng.choice(["<script>var a = '<p>脚本</p>';</script>", "<style>p{}</style>",
                                     "<noscript>无脚本</noscript>", "<template><p>模板</p></template>",
                                     "<title>题</title>"]) + _text(rng))
        elif roll < 0.46:
            parts.append(rng.choice(['<iframe src="/f"></iframe>', "<frame>", '<input type="hidden" value=v>',
                                     '<input type=" HIDDEN ">', "<input>", "<select><option>选</option></select>",
                                     "<textarea>文</textarea>", "<video></video>", "<svg><g></g></svg>",
                                     '<area href="/a">', "<area>"]) + _text(rng))
        elif depth < 6:
            tag = rng.choice(_TAGS)
            parts.append(f"<{tag}{_attributes(rng, tag)}>{_fragment(rng, depth + 1)}</{tag}>{_text(rng)}")
    return "".join(parts)


def _page(seed: int) -> str:
    rng = random.Random(seed)
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{_text(rng)}{_fragment(rng)}</body></html>"


@needs_accelerator
def test_generated_pages_come_out_the_same():
    for seed in range(400):
        doc = document.parse(_page(seed))
        assert_same(doc.body, f"seed {seed}")
        assert_same(doc.root, f"seed {seed}, from the root")
        assert_same_texts(doc.root, f"seed {seed}")


@needs_accelerator
def test_trees_the_repairs_changed_come_out_the_same():
    """Elements made by code, not the parser: namespaced tags, CDATA, text set on made elements."""
    doc = document.parse(_page(7))
    body = doc.body
    svg = etree.SubElement(body, "{http://www.w3.org/2000/svg}svg", style="display:none")
    svg.text = "图形"
    shown = etree.SubElement(body, "{http://www.w3.org/2000/svg}g")
    shown.text = "可见"
    etree.SubElement(shown, "{http://www.w3.org/2000/svg}input")  # (namespaced: not an <input>)
    etree.SubElement(body, "{http://www.w3.org/2000/svg}script").text = "不算"  # (nor a <script>)
    box = etree.SubElement(body, "div")
    box.text = "盒子"
    box.append(etree.Comment("注释"))
    box[-1].tail = "注释之后"
    link = etree.SubElement(box, "a", href="/x")
    link.text = "链接"
    etree.SubElement(link, "img", alt="\u3000")
    etree.SubElement(box, "img", alt=" 标志 ").tail = "图后"
    box.append(etree.ProcessingInstruction("pi", "内容"))
    box[-1].tail = "指令之后"
    assert_same(body, "changed tree")
    assert_same_texts(body, "changed tree")


@needs_accelerator
def test_deep_nesting_is_walked_without_recursion():
    depth = 100_000
    doc = document.parse("<body>" + "<div>深" * depth + "底" + "</div>" * depth + "</body>")
    assert_same(doc.body, "100,000 levels")
    # Empty levels: the texts walk all the way down (and back up) before they have their characters.
    doc = document.parse("<body>" + "<div>" * depth + "底部的文字" + "</div>" * depth + "尾</body>")
    assert aria.text_of(doc.body, 200) == aria.text_of_in_python(doc.body, 200) == "底部的文字尾"
    assert landmarks.first_text(doc.body, 12) == landmarks.first_text_in_python(doc.body, 12) == "底部的文字尾"


@needs_accelerator
@pytest.mark.parametrize("markup", ["<body></body>", "<body>   </body>", "<body><!--c--></body>",
                                    "<body><script>x</script>尾</body>", '<body style="display:none">字</body>',
                                    "<body><a href=/><a href=/>嵌套</a></a></body>"])
def test_edge_cases_come_out_the_same(markup):
    doc = document.parse(markup)
    assert_same(doc.body, markup)
    assert_same_texts(doc.root, markup)


@needs_accelerator
def test_comments_and_non_elements_are_refused():
    with pytest.raises(TypeError):
        ACCELERATOR.measure("<p>", aria.hidden)
    with pytest.raises(TypeError):
        ACCELERATOR.measure(etree.Comment("c"), aria.hidden)
    for call in (lambda el: ACCELERATOR.text_of(el, 10, aria.hidden), lambda el: ACCELERATOR.first_text(el, 10)):
        with pytest.raises(TypeError):
            call("<p>")
        with pytest.raises(TypeError):
            call(etree.Comment("c"))
    assert aria.text_of(etree.Comment("注释"), 10) == "注释"  # (the wrappers leave comments to the reference)


@needs_accelerator
def test_an_error_in_the_hidden_test_is_raised_not_swallowed():
    doc = document.parse('<body><p style="x\u3000y">字</p></body>')  # (a style with U+3000 is asked about)

    def broken(el):
        raise RuntimeError("broken")
    with pytest.raises(RuntimeError):
        ACCELERATOR.measure(doc.body, broken)
    with pytest.raises(RuntimeError):
        ACCELERATOR.text_of(doc.body, 10, broken)


@needs_accelerator
def test_own_fixtures_and_demo_pages_come_out_the_same():
    pages = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    assert len(pages) > 10
    for path in pages:
        doc = document.parse(path.read_bytes().decode("utf-8", "replace"))
        if doc.body is not None:
            assert_same(doc.body, str(path))
            assert_same_texts(doc.root, str(path), limits=(12, 30))


@needs_accelerator
@pytest.mark.corpus
def test_real_portal_pages_come_out_the_same():
    if not CORPUS_PAGES:
        pytest.skip("../shared/corpus is absent: real portal pages not checked")
    for name in CORPUS_PAGES:
        doc = document.parse((CORPUS / name).read_text(encoding="utf-8"))
        assert_same(doc.body, name)
        assert_same_texts(doc.root, name, limits=(12, 30))


_FOOTER_PIECES = ["版权所有", "版权归", "版权：", "版权", "ICP备", "icp证", "IcP备", "网站标识码", "标识码", "网站识别码",
                  "主办单位", "主办：", "承办", "技术支持", "公网安备", "Copyright", "COPYRIGHT", "copyrights", "©",
                  "All rights reserved", "ALL\u3000RIGHTS\xa0RESERVED", "all  rights", "rights reserved", "ights",
                  "\u0130CP备", "\u0131cp证", "all right\u017f reserved", "\u212a", " ", "\n", "文字", "a", "i", "c"]


def _footer_spans_by_regex(text: str) -> list[tuple[int, int]]:
    """FOOTER_TEXT's spans, one per start: what _footer_lines finds without the regex."""
    return sorted(match.span() for start in range(len(text))
                  if (match := landmarks.FOOTER_TEXT.match(text, start)) is not None)


@needs_accelerator
def test_find_all_finds_what_str_find_finds():
    rng = random.Random(5)
    alphabet = "abcABCİıſK版权所有 \u3000"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        words = tuple({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(5)})
        found = ACCELERATOR.find_all(text, words, False)
        assert found == [landmarks._finds(text, word) for word in words]
        lower_words = tuple(word for word in words if word == word.lower())
        ascii_lower = text.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})
        assert ACCELERATOR.find_all(text, lower_words, True) == [landmarks._finds(ascii_lower, w) for w in lower_words]
    with pytest.raises(ValueError):
        ACCELERATOR.find_all("text", ("",), False)
    with pytest.raises(ValueError):
        ACCELERATOR.find_all("text", tuple(str(n) for n in range(65)), False)


@pytest.mark.parametrize("accelerated", [True, False])
def test_footer_lines_are_the_regex_spans(monkeypatch, accelerated):
    """The footer search's spans (found with str.find, or the accelerator, where its keys are) are the regex's,
    on texts made of footer words in every case, Unicode spaces and the characters re.I treats as letters."""
    if accelerated and ACCELERATOR is None:
        pytest.skip("the C accelerator is not built here")
    monkeypatch.setattr(landmarks, "MEASURING", ACCELERATOR if accelerated else None)
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(_FOOTER_PIECES) for _ in range(rng.randint(0, 8)))
        keys = landmarks._finds_each(text, landmarks._FOOTER_KEYS)
        assert keys == {key: landmarks._finds(text, key) for key in landmarks._FOOTER_KEYS}
        assert sorted(landmarks._footer_lines(text, keys)) == _footer_spans_by_regex(text), text


def _footer_spans(root, monkeypatch, accelerated: bool) -> list:
    monkeypatch.setattr(landmarks, "MEASURING", ACCELERATOR if accelerated else None)
    text = landmarks._FooterText(root, aria.Measure(root))
    return [text.span(el) for el in root.iter(etree.Element)]


@needs_accelerator
def test_child_spans_are_the_reference_spans(monkeypatch):
    """The footer search's text spans of every element, with child_spans and with the Python loop, on generated,
    changed, fixture, demo and corpus trees."""
    trees = [document.parse(_page(seed)).body for seed in range(300)]
    changed = document.parse(_page(3)).body
    changed.append(etree.Comment("注释"))
    changed[-1].tail = "注释之后的版权所有"
    etree.SubElement(changed, "{http://www.w3.org/2000/svg}svg").text = "图形"
    trees.append(changed)
    paths = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    paths += [CORPUS / name for name in CORPUS_PAGES]
    for path in paths:
        body = document.parse(path.read_bytes().decode("utf-8", "replace")).body
        if body is not None:
            trees.append(body)
    for root in trees:
        assert _footer_spans(root, monkeypatch, True) == _footer_spans(root, monkeypatch, False)
    with pytest.raises(TypeError):
        ACCELERATOR.child_spans("<p>", 0, 1, {}, [])


@needs_accelerator
def test_number_is_the_reference_numbering():
    trees = [document.parse(_page(seed)) for seed in range(200)]
    trees += [document.parse(path.read_bytes().decode("utf-8", "replace"))
              for path in sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))]
    for doc in trees:
        for root in (doc.root, doc.body):
            order, having, positions = ACCELERATOR.number(root, ("class", "id"))
            assert order == dict(zip(root.iter(etree.Element), range(10**9)))
            assert having == landmarks._WITH_CLASS_OR_ID(root)
            assert positions == [order[el] for el in having]
    doc = document.parse('<body><p id="a">一<span class="b">二</span></p><!--c--><i>三</i></body>')
    order, having, positions = ACCELERATOR.number(doc.body, ("class",))
    assert [el.tag for el in having] == ["span"] and positions == [2] and len(order) == 4
    with pytest.raises(TypeError):
        ACCELERATOR.number("<p>", ("id",))


_STYLE_PIECES = ["display", "DISPLAY", "Display", "visibility", "VISIBILITY", "none", "NONE", "hidden", "Hidden",
                 ":", ";", " ", "\t", "\n", "\x1c", "\x0b", "!", "important", "IMPORTANT", "block", "x",
                 "display:none", "visibility:hidden", "\u3000", "\xa0", "d\u0130splay", "vi\u017f", "\u212a",
                 "-", "color:red", "!importan", "! IMPORTANT ", "!importanT", "!xmportant", "font-family:宋体",
                 "宋体", "\u2003", "\x85", "é", "\U0001f600", "\u0131", "\u1680", "\u205f", "微软雅黑", "\u00a0"]
# The characters beside ASCII that matter to aria._DISPLAY_NONE (Python's \s, and the twins of ASCII letters
# under re.I): a style with one is handed to aria.hidden; with other non-ASCII ones it is told in C.
_TWINS = "\u0130\u0131\u017f\u212a"


def _style_needs_python(style: str) -> bool:
    return any(ord(c) > 127 and (c.isspace() or c in _TWINS) for c in style)


def test_the_letters_re_matches_beside_ascii_are_the_ones_c_knows():
    import re
    import sys
    letters = re.compile("[a-z]", re.I)
    assert "".join(chr(c) for c in range(128, sys.maxunicode + 1) if letters.match(chr(c))) == _TWINS


def test_hidden_is_told_in_c_as_aria_hidden_tells_it():
    """The hidden test made without calling Python (aria-hidden, hidden, a style, an input's type) agrees
    with aria.hidden; only styles with characters that matter to its regex beside ASCII are handed to it."""
    if ACCELERATOR is None:
        pytest.skip("the C accelerator is not built here")
    import html
    rng = random.Random(17)
    told = asked = told_non_ascii = 0
    for _ in range(300):  # (pages of 20 elements: control characters reach attributes through the parser)
        markup = []
        for _ in range(20):
            tag = rng.choice(["div", "input", "span"])
            attributes = {}
            if rng.random() < 0.7:
                attributes["style"] = "".join(rng.choice(_STYLE_PIECES) for _ in range(rng.randint(0, 7)))
            if rng.random() < 0.2:
                attributes["aria-hidden"] = rng.choice(["true", " TRUE\u3000", "false", "", "tr\u0130e", "True ",
                                                        "truee", "\x1ctrue"])
            if rng.random() < 0.1:
                attributes["hidden"] = ""
            if tag == "input" and rng.random() < 0.6:
                attributes["type"] = rng.choice(["hidden", " HIDDEN\n", "text", "h\u0130dden", "\xa0hidden"])
            markup.append(f"<{tag}" + "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items())
                          + ">字</" + tag + ">")
        body = document.parse("<body>" + "".join(markup) + "</body>").body
        for el in body.iter("div", "input", "span"):
            decided = ACCELERATOR.hidden_by_attributes(el)
            if decided is None:
                asked += 1
                assert _style_needs_python(el.get("style", ""))
            else:
                told += 1
                told_non_ascii += not el.get("style", "").isascii()
                assert decided == aria.hidden(el), dict(el.attrib)
    assert told > 3000 and asked > 100 and told_non_ascii > 500


def test_the_proxy_says_at_start_which_measuring_walk_and_dictionaries_run(monkeypatch, caplog):
    """Operators see in the log whether their install has the compiled walk and merged OpenCC dictionaries
    (without either everything works the same, only slower)."""
    from proxy import convert
    from proxy.app import create_app
    from proxy.settings import Settings

    caplog.set_level("INFO", logger="proxy.app")
    monkeypatch.setattr(aria, "ACCELERATOR", None)
    monkeypatch.setattr(convert, "dictionary_tool", lambda: None)
    create_app(Settings())
    assert "pure-Python measuring walk" in caplog.text and "opencc_dict" in caplog.text
    monkeypatch.undo()
    caplog.clear()
    create_app(Settings())
    if ACCELERATOR is not None:
        assert "compiled measuring walk in use" in caplog.text
    if convert.dictionary_tool() is not None:
        assert "dictionaries merged per conversion step" in caplog.text


def test_chars_counts_what_the_whitespace_regex_leaves():
    """aria.chars answers 0 at once for ASCII whitespace; every other text is counted by the regex, so Unicode
    spaces it does not skip (U+2003, \\x1c, \\x85) still count."""
    rng = random.Random(23)
    alphabet = " \t\n\r\f\v\xa0\u3000\u200b\ufeff\u2003\x1c\x85a字"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert aria.chars(text) == len(text) - sum(map(len, aria._WS_RUNS.findall(text))), repr(text)
    assert aria.chars(None) == 0 and aria.chars("\u2003") == 1


@needs_accelerator
def test_with_attributes_finds_the_url_attributes_the_python_walk_finds():
    from proxy.transforms import links

    trees = [document.parse(_page(seed)).root for seed in range(100)]
    made = document.parse('<body><a href="/a" HREF="/b">一</a><img src="x.png" srcset="y.png 2x" '
                          'xlink:href="/no"><form action="/s"><input formaction="/f"></form></body>').root
    etree.SubElement(made.find("body"), "{http://www.w3.org/2000/svg}a").set("href", "/svg")  # (namespaced: kept)
    made.find("body/a").set("{http://www.w3.org/1999/xlink}href", "/xlink")  # (an attribute in a namespace: not)
    trees.append(made)
    paths = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    paths += [CORPUS / name for name in CORPUS_PAGES]
    trees += [document.parse(path.read_bytes().decode("utf-8", "replace")).root for path in paths]
    for root in trees:
        order = {el: index for index, el in enumerate(root.iter())}
        found = ACCELERATOR.with_attributes(root, links._URL_ATTRIBUTES)
        reference = links._url_attributes_in_python(root)
        assert sorted(found, key=lambda f: (order[f[0]], f[1])) == sorted(reference, key=lambda f: (order[f[0]], f[1]))
        assert [order[f[0]] for f in found] == sorted(order[f[0]] for f in found)  # (document order)
    with pytest.raises(ValueError):
        ACCELERATOR.with_attributes(made, tuple(str(n) for n in range(17)))


@needs_accelerator
def test_landmarks_are_found_in_the_same_order_as_the_python_search(monkeypatch):
    """aria.find_landmarks with elements_with (one walk in document order) and with the Python search (tag and
    role candidates sorted by document position), before and after the repairs placed their landmarks."""
    from yarl import URL

    from proxy.modes import parse as parse_modes
    from proxy.pipeline import Page, build_pipeline
    from proxy.rules import load_rules_dir
    from proxy.settings import Settings

    def both(root) -> None:
        found = aria.find_landmarks(root)
        monkeypatch.setattr(aria, "ACCELERATOR", None)
        reference = aria.find_landmarks(root)
        monkeypatch.setattr(aria, "ACCELERATOR", ACCELERATOR)
        assert len(found) == len(reference) and all(a is b and r == s for (a, r), (b, s) in zip(found, reference))

    rng = random.Random(29)
    pieces = ["<nav>导航</nav>", '<div role="navigation">菜单</div>', "<main>正文</main>", '<p role="main">主</p>',
              "<header>头</header>", "<footer>尾</footer>", '<section aria-label="栏">区</section>', "<section>无名</section>",
              "<aside>侧</aside>", '<form aria-label="检">表</form>', '<div role="search">搜</div>', '<span role="">空</span>',
              '<div role="banner contentinfo">双</div>', "<div>普通</div>", '<table role="presentation"><tr><td>格</td></tr></table>']
    for _ in range(200):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        nested = "".join(f"<div>{rng.choice(pieces)}{markup}</div>" for _ in range(2))
        both(document.parse(f"<body>{markup}{nested}</body>").root)
    made = document.parse("<body><nav>一</nav></body>")
    etree.SubElement(made.body, "{http://www.w3.org/2000/svg}nav").set("role", "main")  # (tag not HTML's: its role)
    both(made.root)
    settings = Settings()
    pipeline = build_pipeline(settings)
    rules, _ = load_rules_dir(ROOT / "rules")
    paths = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    paths += [CORPUS / name for name in CORPUS_PAGES]
    for path in paths:
        html = path.read_bytes().decode("utf-8", "replace")
        both(document.parse(html).root)
        url = URL("http://www.example.gov.cn/" + path.name)
        page = Page(url=url, modes=parse_modes(""), settings=settings, prefix="", rules=rules.for_page(url.host, url.path))
        both(document.parse(pipeline.render(html, page)).root)  # (with the landmarks the repairs placed)
    with pytest.raises(ValueError):
        ACCELERATOR.elements_with(made.root, tuple(str(n) for n in range(17)), ())


# --- the tree queries that stand in for XPath expressions ----------------------------------------------------

_QUERY_PIECES = [
    '<div id="float1" class="piao" style="position:fixed">浮</div>', '<p translate="no">不译</p>',
    '<p translate=" NO ">不译</p>', '<p data-a11y-skip-trad="">跳过</p>', '<p lang="en-US" style="color:red">e</p>',
    "<main>正文</main>", '<div role="main">主</div>', '<p role=" main">不是</p>', '<p role="MAIN">不是</p>',
    '<a href="/t" onclick="x()">繁体版</a>', "<a href=#>繁 體</a>", "<a href=#>长<b>者</b>版</a>", "<a>无障碍</a>",
    "<a href=/x>无障碍浏览工具条说明很长的一段文字</a>", "<a href=/h> 首页 </a>", "<a href=/h>网站<span>首</span>页</a>",
    "<a href=/e></a>", "<a href=/e> \u00a0\u3000\u200b\n</a>", "<a href=/e>\u2003</a>", '<a href=/e><img src="i.png"></a>',
    "<a>\u00a0</a>", '<area href="/m">', "<area>", '<img src="a.png">', '<img src="a.png" alt="">',
    '<img src="a.png" alt=" \t">', '<img src="a.png" alt="\u3000">', '<img src="a.png" alt="图">',
    '<span tabindex="1">一</span>', '<span tabindex="0">零</span>', '<span tabindex="-1">负</span>',
    '<span tabindex=" 2e1 ">指</span>', '<span tabindex="+3">加</span>', '<a accesskey="s" href="/s">键</a>',
    '<p lang="en">en</p>', '<p lang="zh_CN">zh</p>', '<p lang="">空</p>', '<p xml:lang="fr">fr</p>',
    '<a class="a11y-proxy-skip" href="#m">跳</a>', '<a class="a11y-proxy-skip x" href="#m">跳</a>',
    '<section id="a11y-proxy-toolbar">栏</section>', '<div id="a11y-proxy-toolbar">栏</div>',
    "<!-- 首页 --><a href=/c><!-- 繁体 -->链接</a>", "<p>扫码<b>下载</b></p>", "<a href=/d>下载 APP</a>", "<p>下載</p>",
    "<p>在线支付</p>", "<p>抽<i>奖</i></p>", "<p>立即下载App</p>", '<a href=" /x\u3000">x</a>', '<a href="\x85/x ">x</a>',
    '<a href="/x">x</a>', '<a href=" #top">t</a>', '<a href="javascript:">j</a>', '<a href=" \u2003">s</a>',
    '<a href="JavaScript:x()">J</a>', '<a href="/y\u00a0\u00a0/z\u200b">y</a>', '<a href="/é ">é</a>',
    '<a href="\U0001f600/e">e</a>',
]


def _query_page(rng: random.Random) -> str:
    pieces = [rng.choice(_QUERY_PIECES) if rng.random() < 0.6 else _fragment(rng, 4) for _ in range(rng.randint(1, 10))]
    nested = f"<div>{''.join(pieces[:3])}<ul><li>{''.join(pieces[3:])}</li></ul></div>"
    body = ' class="正文" id="b" lang="zh" style="margin:0"' if rng.random() < 0.3 else ""  # (the root's own)
    return f"<!DOCTYPE html><html><head><title>t</title></head><body{body}>{''.join(pieces)}{nested}</body></html>"


def _query_trees() -> list:
    rng = random.Random(41)
    trees = [document.parse(_query_page(rng)).root for _ in range(300)]
    made = document.parse("<body><p>段</p></body>").root
    etree.SubElement(made.find("body"), "{http://www.w3.org/2000/svg}main").set("role", "main")  # (tag not HTML's)
    etree.SubElement(made.find("body"), "{http://www.w3.org/2000/svg}a", href="/n")  # (not an <a>)
    etree.SubElement(made.find("body"), "{http://www.w3.org/2000/svg}section", id="a11y-proxy-toolbar")
    trees.append(made)
    paths = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    paths += [CORPUS / name for name in CORPUS_PAGES]
    trees += [document.parse(path.read_bytes().decode("utf-8", "replace")).root for path in paths]
    return trees


@needs_accelerator
def test_the_c_queries_find_what_their_xpaths_find():
    words = ("繁", "长者", "无障碍", "首")
    contains = etree.XPath("descendant::a[" + " or ".join(f"contains(., '{w}')" for w in words) + "]"
                           " | descendant::li[" + " or ".join(f"contains(., '{w}')" for w in words) + "]")
    from proxy.transforms import names
    for root in _query_trees():
        body = root.find("body")
        assert ACCELERATOR.containing(root, ("a", "li"), words) == contains(root)
        assert ACCELERATOR.unnamed_links(body, names._LINK_SPACES) == names._TEXTLESS_LINKS(body)
        for tags, name, value in ((("a",), "class", "a11y-proxy-skip"), (("section",), "id", "a11y-proxy-toolbar"),
                                  ((), "role", "main"), (("p", "div"), "lang", "")):
            path = " | ".join(f"//{tag}/@{name}[. = '{value}']" for tag in tags or ("*",))
            assert ACCELERATOR.has_value(root, tags, name, value) == etree.XPath(f"boolean({path})")(root)
        names_ = ("id", "class", "lang")
        assert ACCELERATOR.attribute_values(body, names_) == tuple(
            etree.XPath(f"descendant::*/@{name}", smart_strings=False)(body) for name in names_)
    with pytest.raises(ValueError):
        ACCELERATOR.containing(root, ("a",), tuple(str(n) for n in range(17)))
    with pytest.raises(TypeError):
        ACCELERATOR.unnamed_links(etree.Comment("c"), ())


@needs_accelerator
def test_the_queries_answer_the_same_with_and_without_the_accelerator(monkeypatch):
    """Each transform's query, through its wrapper, in C and by its XPath (what runs without the accelerator)."""
    from proxy.transforms import elder, names, pagefixes, ruleactions, skiplink, toolbar, trad

    def queries(root) -> list:
        body = root.find("body")
        marks = trad.Marks(root)
        return [aria.main_landmarks(root), aria.main_landmarks(body), pagefixes.lang_attributed(root),
                toolbar.focus_attributes(root), ruleactions.toggle_candidates(root), names.textless_links(body),
                skiplink.has_positive_tabindex(root), skiplink.has_skip_link(root), toolbar.has_toolbar(root),
                _home_candidates(body), elder.style_attributes(body), marks.lang, marks.translate, marks.skip,
                elder.text_says_lure(body), names.links_by_address(body), names.links_by_address(root)]

    modules = (aria, elder, landmarks, names, pagefixes, ruleactions, skiplink, toolbar, trad)
    for root in _query_trees():
        accelerated = queries(root)
        for module in modules:
            monkeypatch.setattr(module, "ACCELERATOR" if module is aria else "MEASURING", None)
        reference = queries(root)
        for module in modules:
            monkeypatch.setattr(module, "ACCELERATOR" if module is aria else "MEASURING", ACCELERATOR)
        assert accelerated == reference


def _home_candidates(body) -> list:
    """The links home_links reads: in C those holding 首, by XPath those holding 首 and 页 (the names it
    accepts all hold both)."""
    maybe = ACCELERATOR.containing(body, ("a",), ("首",)) if landmarks.MEASURING is not None else \
        landmarks._MAYBE_HOME(body)
    return [a for a in maybe if "".join("".join(a.itertext()).split()) in ("首页", "网站首页", "回到首页", "返回首页")]


@needs_accelerator
def test_the_text_sample_is_the_python_walks():
    from proxy.transforms import pagefixes
    made = document.parse("<body>前<p>段</p>后</body>")
    svg = etree.SubElement(made.body, "{http://www.w3.org/2000/svg}script")  # (not a <script>: read)
    svg.text = "图形文字"
    etree.SubElement(made.body, "script").text = "var x"
    made.body.append(etree.Comment("注释"))
    made.body[-1].tail = "注释之后"
    roots = [made.body] + [tree.find("body") for tree in _query_trees()] + [document.parse(_page(seed)).body
                                                                              for seed in range(200)]
    for root in roots:
        for sample in (0, 1, 7, 40, 1500, 10**6):
            assert ACCELERATOR.text_sample(root, sample, pagefixes._NO_TEXT_TAGS) == \
                pagefixes.text_sample_in_python(root, sample)
    deep = document.parse("<body>" + "<div>深" * 100_000 + "</div>" * 100_000 + "</body>").body
    assert ACCELERATOR.text_sample(deep, 10**6, ()) == pagefixes.text_sample_in_python(deep, 10**6) == "深" * 100_000


@needs_accelerator
def test_text_says_what_the_lure_pattern_finds_in_the_text():
    """_measure.text_says against elder._LURE_TEXT.search on the element's text: texts made of the words' own
    characters and every kind of space, cut into elements at random (a word across markup counts)."""
    import html

    from proxy.transforms import elder
    rng = random.Random(11)
    alphabet = "扫码下载載立即APPpp充值在线支付购买抽奖客户端手机版 \n\u3000\xa0\u2003\x85"
    words = list(elder._LURE_WORDS) + ["下载", "下載", "下载APP", "下載 客户端", "下载\u3000\u3000手机版", "下载\x85app"]
    said = 0
    for _ in range(2000):
        parts = [rng.choice(alphabet) for _ in range(rng.randrange(0, 40))]
        for _ in range(rng.randrange(0, 3)):
            parts.insert(rng.randrange(0, len(parts) + 1), rng.choice(words)[:rng.randrange(1, 9)])
        markup = "".join(html.escape(part) + (rng.choice(["<b>", "</b>", "<i></i>", "<!--x-->"]) if rng.random() < 0.2
                                              else "") for part in parts)
        body = document.parse(f"<body><p>{markup}</p></body>").body
        expected = elder._LURE_TEXT.search(elder._TEXT(body)) is not None
        assert ACCELERATOR.text_says(body, elder._LURE_WORDS, elder._DOWNLOADS, elder._APPS) == expected, markup
        said += expected
    assert 200 < said < 1800


def test_unnamed_images_are_the_xpaths():
    from proxy.transforms import names
    xpath = etree.XPath("descendant::img[not(@alt) or (@alt != '' and normalize-space(@alt) = '')]")
    for root in _query_trees():
        assert names.unnamed_images(root.find("body")) == xpath(root.find("body"))


# --- the links transform's candidates ------------------------------------------------------------------------

_URL_VALUES = ["/a.html", " /b", "a.html", "#top", "javascript:void(0)", "", "h", "http://www.example.gov.cn/x",
               "HTTP://WWW.EXAMPLE.GOV.CN/y", "//www.example.gov.cn/z", "https://other.org/?u=www.example.gov.cn",
               "https://other.org/p", "http://www.example.gov.cn%2ey/", "ht\ttp://www.example.gov.cn/",
               "http://例子.cn/", "https://portal.example:8443/a", "//portal.example:8443/", "HtTpS://Portal.Example/",
               "http://www.example.gov.cn:8000/", "http://www.example.gov.cn\n/", "/-/trad/c.html", "x y.png 2x",
               "http://www.exam\tple.gov.cn:8000/t", "http://portal.exam\nple/n", "http://portal.exa%6Dple/p"]
_STYLE_VALUES = ["color:red", "background:url(http://www.example.gov.cn:8000/i.png)", "background:url(/i.png)",
                 "background:url(HTTP://WWW.EXAMPLE.GOV.CN:8000/i.png)", "background:url(http://portal.example/i.png)"]


def _url_page(rng: random.Random) -> str:
    import html
    parts = []
    for _ in range(rng.randint(1, 30)):
        tag, attribute = rng.choice([("a", "href"), ("img", "src"), ("img", "srcset"), ("form", "action"),
                                     ("iframe", "src"), ("link", "href"), ("td", "background"), ("p", "style"),
                                     ("button", "formaction"), ("blockquote", "cite"), ("video", "poster")])
        value = rng.choice(_STYLE_VALUES if attribute == "style" else _URL_VALUES)
        if attribute == "srcset":
            value = f"{rng.choice(_URL_VALUES)} 1x, {rng.choice(_URL_VALUES)} 2x"
        extra = f' style="{html.escape(rng.choice(_STYLE_VALUES))}"' if rng.random() < 0.2 else ""
        parts.append(f'<{tag} {attribute}="{html.escape(value)}"{extra}>文</{tag}>')
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{''.join(parts)}</body></html>"


@needs_accelerator
def test_the_links_transform_rewrites_the_same_with_the_c_candidates(monkeypatch):
    """url_candidates only leaves out what KeepReaderOnProxy.apply passes over: the same pages come out with
    and without it, for an upstream with a port, aliases in any case, and URLs of every form."""
    import dataclasses

    from yarl import URL

    from proxy.modes import parse as parse_modes
    from proxy.pipeline import Page
    from proxy.rules import RuleSet
    from proxy.settings import Settings, parse_upstream
    from proxy.transforms import links

    settings = dataclasses.replace(Settings(), upstream=parse_upstream("http://www.example.gov.cn:8000"),
                                   upstream_aliases=("portal.example", "PORTAL.example:8443"))
    rng = random.Random(3)
    rewritten = 0
    for _ in range(300):
        markup = _url_page(rng)
        outputs = []
        for accelerated in (True, False):
            monkeypatch.setattr(links, "MEASURING", ACCELERATOR if accelerated else None)
            doc = document.parse(markup)
            page = Page(url=URL("http://www.example.gov.cn:8000/d/p.html"), modes=parse_modes("trad"),
                        settings=settings, prefix="/-/trad", rules=RuleSet([]).for_page("www.example.gov.cn", "/"))
            links.KeepReaderOnProxy().apply(doc, page)
            outputs.append(document.serialize(doc))
        assert outputs[0] == outputs[1], markup
        rewritten += outputs[0] != document.serialize(document.parse(markup))
    assert rewritten > 200  # (the pages do have upstream URLs to rewrite)
