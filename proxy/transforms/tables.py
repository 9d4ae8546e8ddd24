"""Layout tables -> role=presentation, so screen readers stop announcing rows and columns of page layout.

A table counts as data (and is left alone) when its markup says so: header cells, a caption, a summary,
thead/tfoot, headers/scope.  A table without those counts as layout only on clear evidence: it holds
another table, page blocks (div, lists, forms, frames, headings) in its cells, or it is a single row or a
single column.  Anything else (a grid of short texts without header cells) is left as the portal made it:
when in doubt, not worse than upstream.
"""
from __future__ import annotations

from lxml import etree

from ..document import Document
from ..pipeline import Page
from .aria import HEADINGS, RepairTransform, heuristic, is_data_table, iter_elements

_BLOCKS = frozenset({"div", "ul", "ol", "dl", "form", "iframe", "table", "fieldset", "center", "marquee",
                     *HEADINGS})


def layout_reason(table) -> str | None:
    """Why this table is for layout, or None when it may hold data."""
    # The first block inside it, in document order (lxml's walk filters the tags in C; the table itself, which
    # the walk starts with, does not count).
    for el in table.iter(*_BLOCKS):
        if el is not table:
            return "holds a table" if el.tag == "table" else f"holds page blocks (<{el.tag}>)"
    # No table inside it (a table is a block): every row in it is its own, no need to skip nested tables' rows,
    # and the rows and cells are counted in C.
    rows = table.iter("tr")
    if next(rows, None) is None or next(rows, None) is None:
        return "a single row"
    if not _ROW_OF_CELLS(table):
        return "a single column"
    return None


_ROW_OF_CELLS = etree.XPath("boolean(descendant::tr[count(td | th) > 1][1])")  # ([1]: libxml2 stops at the first)


class LayoutTables(RepairTransform):
    name = "tables"

    def apply(self, doc: Document, page: Page) -> None:
        if not page.rules.heuristic("layout_tables") or doc.root.find("body") is None:
            return
        log = self.log(page)
        for table in iter_elements(doc.body, "table"):
            if table.get("role") is not None or table.get("tabindex") is not None:
                continue
            if any(name.startswith("aria-") for name in table.attrib):
                continue
            # (layout_reason first: a walk in C that answers most tables, where is_data_table reads every
            # cell in Python; both only read the table, so the order changes nothing but the time)
            why = layout_reason(table)
            if why and not is_data_table(table):
                table.set("role", "presentation")
                log.mark(table, f"layout table: role=presentation ({why})", heuristic("layout_tables"))
        log.finish()
