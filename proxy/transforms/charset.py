"""The proxy always sends UTF-8: the page's own charset declaration must say so, and its forms must
keep submitting in the charset the portal expects."""
from __future__ import annotations

from ..document import Document, set_charset_utf8
from ..modes import Modes
from ..pipeline import Page, Stateless


class DeclareUtf8(Stateless):
    name = "charset"
    fragment_safe = True

    def enabled(self, modes: Modes) -> bool:
        return True

    def apply(self, doc: Document, page: Page) -> None:
        set_charset_utf8(doc)
        if page.legacy_charset is not None:
            # The page now reaches the browser as UTF-8, so its forms would submit UTF-8; a portal built on
            # GBK expects GBK bytes.  Keep forms submitting what the portal has always received.
            for form in doc.root.iter("form"):
                if not form.get("accept-charset"):
                    form.set("accept-charset", _label(page.legacy_charset))


def _label(codec: str) -> str:
    return {"gb18030": "gbk", "big5hkscs": "big5"}.get(codec, codec)
