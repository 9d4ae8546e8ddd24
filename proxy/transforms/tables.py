"""Layout tables -> role=presentation, so screen readers stop announcing rows and columns of page layout.

A table counts as data (and is left alone) when its markup says so: header cells, a caption, a summary,
thead/tfoot, headers/scope.  A table without those counts as layout only on clear evidence: it holds
another table, page blocks (div, lists, forms, frames, headings) in its cells, or it is a single row or a
single column.  Anything else (a grid of short texts without header cells) is left as the portal made it:
when in doubt, not worse than upstream.
"""
from __future__ import annotations

from ..document import Document
from ..pipeline import Page
from .aria import HEADINGS, RepairTransform, heuristic, is_data_table, iter_elements, own_parts, tag_of

_BLOCKS = frozenset({"div", "ul", "ol", "dl", "form", "iframe", "table", "fieldset", "center", "marquee",
                     *HEADINGS})


def layout_reason(table) -> str | None:
    """Why this table is for layout, or None when it may hold data."""
    rows = list(own_parts(table, ("tr",)))
    for el in table.iter():
        if el is table or not isinstance(el.tag, str):
            continue
        tag = tag_of(el)
        if tag in _BLOCKS:
            return "holds a table" if tag == "table" else f"holds page blocks (<{tag}>)"
    if len(rows) <= 1:
        return "a single row"
    if max(sum(1 for c in tr if tag_of(c) in ("td", "th")) for tr in rows) <= 1:
        return "a single column"
    return None


class LayoutTables(RepairTransform):
    name = "tables"

    def apply(self, doc: Document, page: Page) -> None:
        if not page.rules.heuristic("layout_tables") or doc.root.find("body") is None:
            return
        log = self.log(page)
        for table in iter_elements(doc.body, "table"):
            if table.get("role") is not None or table.get("tabindex") is not None:
                continue
            if any(name.startswith("aria-") for name in table.attrib) or is_data_table(table):
                continue
            why = layout_reason(table)
            if why:
                table.set("role", "presentation")
                log.mark(table, f"layout table: role=presentation ({why})", heuristic("layout_tables"))
        log.finish()
