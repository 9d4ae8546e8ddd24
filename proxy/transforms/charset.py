"""The proxy always sends UTF-8, so the page's own charset declaration must say UTF-8 too."""
from __future__ import annotations

from ..document import Document, set_charset_utf8
from ..modes import Modes
from ..pipeline import Page


class DeclareUtf8:
    name = "charset"

    def enabled(self, modes: Modes) -> bool:
        return True

    def apply(self, doc: Document, page: Page) -> None:
        set_charset_utf8(doc)
