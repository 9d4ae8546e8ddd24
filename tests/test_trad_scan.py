"""The compiled accelerator of the trad markup step (proxy/transforms/_trad_scan.c) against its reference,
trad_markup.convert_in_python: the same page out, character for character, on generated pages full of the
cases that matter (phrases split by inline tags, comments with markup in them, raw-text elements, skipped
subtrees, readable and submitted attribute values, single quotes, conversions that change length, the run
separator in the page), on this suite's own fixtures and demo pages, and on the real portal pages of
../shared/corpus when present.  It must also send OpenCC exactly the text the benchmark's raw call converts."""
from __future__ import annotations

import random
import shutil
from functools import partial

import pytest

from proxy import document
from proxy.convert import get_converter, separator_for
from proxy.transforms import trad_markup
from proxy.transforms.trad import prepare_tree
from tests.conftest import CORPUS, CORPUS_PAGES, FIXTURES, ROOT, check_extension_is_current

ACCELERATOR = trad_markup.ACCELERATOR
needs_accelerator = pytest.mark.skipif(ACCELERATOR is None, reason="the C accelerator is not built here "
                                       "(no C compiler at install time, or A11Y_PROXY_NO_EXTENSIONS=1)")
CONFIGS = ("s2t", "s2twp")


def test_the_accelerator_is_built_wherever_it_can_be():
    """pip builds it wherever a C compiler is present (CI and the image have one): there, running without
    it would be a silent 1.5x slowdown of every Traditional page, so it is an error."""
    import os
    if os.environ.get("A11Y_PROXY_NO_EXTENSIONS"):
        pytest.skip("A11Y_PROXY_NO_EXTENSIONS is set")
    if not shutil.which("cc") and not shutil.which("gcc"):
        pytest.skip("no C compiler on this machine: the pure-Python reference runs")
    assert ACCELERATOR is not None, "reinstall (pip install -e .) to build proxy/transforms/_trad_scan.c"


@needs_accelerator
def test_the_accelerator_knows_the_same_tags_and_attributes():
    assert list(ACCELERATOR.BLOCK_TAGS) == sorted(trad_markup.BLOCK_TAGS)  # sorted: it looks them up by bsearch
    assert set(ACCELERATOR.RAW_TEXT_TAGS) == set(trad_markup.RAW_TEXT_TAGS)
    assert set(ACCELERATOR.TEXT_ATTRIBUTES) == set(trad_markup.TEXT_ATTRIBUTES)


def serialized(html: str) -> str:
    """A page as the markup step meets it: parsed, tree step done, serialized."""
    doc = document.parse(html)
    prepare_tree(doc.root, set())
    return document.serialize(doc)


def both(markup: str, config: str) -> tuple[str, str, str]:
    """(reference page, accelerated page, the accelerator's stream), markers left in place."""
    converter = get_converter(config)
    separator = separator_for(markup)
    reference = trad_markup.convert_in_python(markup, separator, converter)
    stream, plan = ACCELERATOR.scan(markup, separator, trad_markup.SKIP_START, trad_markup.SKIP_END,
                                    trad_markup.readable_spans)
    accelerated = ACCELERATOR.splice(plan, converter.convert(stream), partial(trad_markup.map_back_all, converter))
    return reference, accelerated, stream


def assert_same(markup: str, config: str, label: str) -> None:
    reference, accelerated, stream = both(markup, config)
    if accelerated != reference:
        at = next((i for i, (a, b) in enumerate(zip(accelerated, reference)) if a != b),
                  min(len(accelerated), len(reference)))
        pytest.fail(f"{label} ({config}): first difference at {at}: accelerator "
                    f"{accelerated[max(0, at - 60):at + 60]!r} vs reference {reference[max(0, at - 60):at + 60]!r}")
    # What goes to OpenCC is exactly the text the benchmark's raw call converts, run for run.
    assert stream.split(separator_for(markup)) == trad_markup.runs_of_text(markup) or not stream


# Building blocks of generated pages: each is a hazard for one of the two implementations.
PHRASES = ["心理发展", "皇后的头发", "面条", "理发", "U盘", "软件", "鼠标", "信息", "内存", "打印机", "出租车",
           "系统只有一个出口", "锡山", "干燥", "后来", "里面", "发现", "𠮷野家", "ａｂｃ", "2026年", "abc", " ", "\n"]
INLINE = ["a", "span", "b", "font", "em", "strong", "i", "u", "abbr", "label", "small", "sub"]
BLOCK = ["p", "div", "li", "td", "h2", "section", "option", "button", "dd", "caption"]
ATTRIBUTES = [
    'title="{t}"', 'alt="{t}"', 'aria-label="{t}"', 'placeholder="{t}"', 'summary="{t}"', 'label="{t}"',
    'href="/搜索?q={t}"', 'data-x="{t}"', 'class="c{n}"', "title='他说\"{t}\"'", 'data-title="{t}"',
    'title="{t}&amp;{t}"', 'id="x{n}"', 'lang="en"', 'translate="no"', 'lang="zh-CN"',
]
SPECIAL = [
    '<script>var s = "<p>{t}</p>"; if (a < b) {{}}</script>', "<style>p::after {{ content: '{t}' }}</style>",
    "<textarea placeholder=\"{t}\">{t}</textarea>", '<!-- <div>{t}</div> -->', "<!--{t}-->", "<br>",
    '<input type="submit" value="{t}">', '<input type="text" value="{t}" placeholder="{t}">',
    '<input type="button" value="{t}" name="b">', '<meta name="description" content="{t}">',
    '<meta property="og:title" content="{t}">', '<img src="/a.png" alt="{t}">', "<code>{t}</code>",
    '<pre class="code">{t}</pre>', "<pre>{t}</pre>", "<kbd>{t}</kbd>", "<hr>", '<select><option>{t}</option></select>',
    "{t}\x1f{t}", "&lt;{t}&gt;", "<wbr>", '<span lang="en">{t}</span>', "<xmp>{t}</xmp>", "<noscript>{t}</noscript>",
]


def phrase(rng: random.Random) -> str:
    return "".join(rng.choice(PHRASES) for _ in range(rng.randint(0, 3)))


def fragment(rng: random.Random, depth: int = 0) -> str:
    out = []
    for _ in range(rng.randint(1, 5)):
        roll = rng.random()
        if roll < 0.35:
            out.append(phrase(rng))
        elif roll < 0.6 and depth < 4:
            tag, attributes = rng.choice(INLINE), " ".join(
                rng.choice(ATTRIBUTES).format(t=phrase(rng), n=rng.randint(0, 9)) for _ in range(rng.randint(0, 2)))
            out.append(f"<{tag} {attributes}>{fragment(rng, depth + 1)}</{tag}>")
        elif roll < 0.8 and depth < 4:
            tag, attributes = rng.choice(BLOCK), " ".join(
                rng.choice(ATTRIBUTES).format(t=phrase(rng), n=rng.randint(0, 9)) for _ in range(rng.randint(0, 2)))
            out.append(f"<{tag} {attributes}>{fragment(rng, depth + 1)}</{tag}>")
        else:
            out.append(rng.choice(SPECIAL).format(t=phrase(rng)))
    return "".join(out)


def generated_page(seed: int) -> str:
    rng = random.Random(seed)
    title = phrase(rng)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{fragment(rng)}</body></html>")


@needs_accelerator
@pytest.mark.parametrize("config", CONFIGS)
def test_generated_pages_come_out_the_same(config):
    for seed in range(400):  # fixed seeds: the same pages on every run
        assert_same(serialized(generated_page(seed)), config, f"generated page {seed}")


@needs_accelerator
@pytest.mark.parametrize("config", CONFIGS)
def test_own_fixtures_and_demo_pages_come_out_the_same(config):
    pages = sorted(FIXTURES.rglob("*.html")) + sorted((ROOT / "proxy" / "demo" / "site").rglob("*.html"))
    assert len(pages) >= 8
    for path in pages:
        assert_same(serialized(path.read_text(encoding="utf-8")), config, str(path.relative_to(ROOT)))


@needs_accelerator
@pytest.mark.corpus
@pytest.mark.parametrize("config", CONFIGS)
def test_real_portal_pages_come_out_the_same(config):
    if not CORPUS_PAGES:
        pytest.skip("../shared/corpus is absent: real portal pages not checked")
    for name in CORPUS_PAGES:
        assert_same(serialized((CORPUS / name).read_text(encoding="utf-8")), config, name)


@needs_accelerator
@pytest.mark.parametrize("markup", ["", "plain ASCII, no tags", "<p>只有文字</p>", '<img alt="图片">', "心理<b>发展",
                                    "<!--a11y--><p>头发", "<p title='单引号'>发展</p>", "<", "<p", "文<", "<!--发展"])
def test_edge_cases_come_out_the_same(markup):
    reference, accelerated, _ = both(markup, "s2twp")
    assert accelerated == reference


@needs_accelerator
def test_a_converter_that_loses_a_separator_is_refused_not_misplaced():
    markup = serialized("<p>心理<b>发展</b></p><p>头发</p>")
    separator = separator_for(markup)
    stream, plan = ACCELERATOR.scan(markup, separator, trad_markup.SKIP_START, trad_markup.SKIP_END,
                                    trad_markup.readable_spans)
    whole_runs = lambda runs: [[converted] for sources, converted in runs]  # noqa: E731 (one string per run)
    with pytest.raises(ValueError, match="number of runs"):
        ACCELERATOR.splice(plan, stream.replace(separator, "", 1), whole_runs)
    with pytest.raises(ValueError, match="one string per source piece"):  # map_runs must keep its contract
        ACCELERATOR.splice(plan, stream.replace("心理", "心理學"), whole_runs)
    with pytest.raises(ValueError, match="one list per run"):
        ACCELERATOR.splice(plan, stream.replace("心理", "心理學"), lambda runs: [])


def test_runs_whose_length_changes_are_cut_with_one_opencc_call(monkeypatch):
    """s2twp changes lengths (U盘 -> 隨身碟): every boundary of every such run goes to OpenCC in one call, not
    two calls per boundary."""
    converter = get_converter("s2twp")
    calls = []
    monkeypatch.setattr(converter, "convert", lambda text, convert=converter.convert: calls.append(text) or convert(text))
    markup = serialized("<p>插入<a href='#'>U</a>盘</p>" + "".join(f"<li>第{i}个<b>U</b>盘和<i>内</i>存</li>" for i in range(20)))
    page = trad_markup.convert_markup(markup, converter)
    assert "隨身碟" in page and "記憶體" in page
    assert len(calls) == (2 if ACCELERATOR is not None else 1 + 21)  # the page, then the boundaries (per run without it)


def test_reference_and_accelerator_are_the_same_through_convert_markup(monkeypatch):
    """convert_markup runs whichever is there; with A11Y_PROXY_NO_EXTENSIONS the reference."""
    markup = serialized('<p>心理<a href="/x">发展</a><!--a11y-proxy--></p><p translate="no">头发</p>')
    converter = get_converter("s2t")
    monkeypatch.setattr(trad_markup, "ACCELERATOR", None)
    reference = trad_markup.convert_markup(markup, converter)
    assert "心理<a href=\"/x\">發展</a>" in reference and "頭髮" not in reference and "a11y-proxy-skip" not in reference
    if ACCELERATOR is not None:
        monkeypatch.setattr(trad_markup, "ACCELERATOR", ACCELERATOR)
        assert trad_markup.convert_markup(markup, converter) == reference


def test_the_accelerator_source_is_in_step_with_this_checkout():
    check_extension_is_current(ACCELERATOR, "_trad_scan.c")


def test_the_proxy_says_at_start_which_markup_step_runs(monkeypatch, caplog):
    """Operators see in the log whether their install has the accelerator (a build without a compiler
    still works, only slower)."""
    from proxy.app import create_app
    from proxy.settings import Settings

    caplog.set_level("INFO", logger="proxy.app")
    monkeypatch.setattr(trad_markup, "ACCELERATOR", None)
    create_app(Settings())
    assert "pure-Python markup step" in caplog.text and "C compiler" in caplog.text
    if ACCELERATOR is not None:
        caplog.clear()
        monkeypatch.setattr(trad_markup, "ACCELERATOR", ACCELERATOR)
        create_app(Settings())
        assert "compiled markup accelerator in use" in caplog.text
