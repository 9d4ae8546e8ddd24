"""Stylesheets a page links, fetched under a mode prefix: they get what the page's own <style> blocks get.

Elder mode scales their sizes (pages set text in px there); contrast mode makes partial opacity opaque
(text faded with opacity blends into whatever is behind it).  Everything else passes as the portal wrote it.
"""
from __future__ import annotations

from ..pipeline import Page
from .contrast import opaque
from .elder import elder_stylesheet


def linked_stylesheet(text: str, page: Page) -> str:
    if page.modes.elder is not None:
        text = elder_stylesheet(text, page)
    if page.modes.contrast is not None and "opacity" in text.lower():
        text = opaque(text)
    return text
