"""Reader modes: names, parameters, and their one canonical text form.

A mode set is written as tokens joined by '+', e.g. ``trad+elder-175``.  Order does not matter on
input; the canonical form orders tokens as MODE_NAMES does and leaves out default parameters, so one
mode set has exactly one URL (good for shared links and for HTTP caches).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

MODE_NAMES = ("trad", "elder", "contrast", "reader")

# trad: which OpenCC configuration. "" means "the site's configured variant".
TRAD_VARIANTS = {"": "", "t": "s2t", "tw": "s2tw", "twp": "s2twp", "hk": "s2hk"}
# elder: text-size step in percent.
ELDER_STEPS = (125, 150, 175, 200)
ELDER_DEFAULT = 150
# contrast: foreground/background scheme.
CONTRAST_SCHEMES = {"wb": "white on black", "bw": "black on white", "yb": "yellow on black", "by": "black on yellow"}
CONTRAST_DEFAULT = "wb"

PLAIN_TOKEN = "plain"


class UnknownMode(ValueError):
    def __init__(self, token: str):
        super().__init__(f"unknown mode {token!r}")
        self.token = token


@dataclass(frozen=True)
class Modes:
    trad: str | None = None  # OpenCC config name ("s2tw"...) or "" for the site default; None = off
    elder: int | None = None  # percent step; None = off
    contrast: str | None = None  # scheme key; None = off
    reader: bool = False

    @property
    def plain(self) -> bool:
        return self == PLAIN

    def enabled(self, name: str) -> bool:
        value = getattr(self, name)
        return value is not None and value is not False

    def canonical(self) -> str:
        """Canonical token string; '' for plain mode."""
        tokens = []
        if self.trad is not None:
            suffix = next(k for k, v in TRAD_VARIANTS.items() if v == self.trad)
            tokens.append("trad" + (f"-{suffix}" if suffix else ""))
        if self.elder is not None:
            tokens.append("elder" + ("" if self.elder == ELDER_DEFAULT else f"-{self.elder}"))
        if self.contrast is not None:
            tokens.append("contrast" + ("" if self.contrast == CONTRAST_DEFAULT else f"-{self.contrast}"))
        if self.reader:
            tokens.append("reader")
        return "+".join(tokens)

    def toggled(self, token: str) -> "Modes":
        """This mode set with `token`'s mode switched: off if exactly that setting is on, else on with it."""
        single = parse(token)
        if single.plain:  # 'plain' resets everything
            return PLAIN
        name = next(n for n in MODE_NAMES if single.enabled(n))
        if getattr(self, name) == getattr(single, name):
            return replace(self, **{name: False if name == "reader" else None})
        return replace(self, **{name: getattr(single, name)})

    def __str__(self) -> str:
        return self.canonical() or PLAIN_TOKEN


PLAIN = Modes()


def _parse_token(token: str) -> dict:
    name, _, param = token.partition("-")
    if name == "trad" and param in TRAD_VARIANTS:
        return {"trad": TRAD_VARIANTS[param]}
    if name == "elder":
        if not param:
            return {"elder": ELDER_DEFAULT}
        if param.isdigit() and int(param) in ELDER_STEPS:
            return {"elder": int(param)}
    if name == "contrast":
        if not param:
            return {"contrast": CONTRAST_DEFAULT}
        if param in CONTRAST_SCHEMES:
            return {"contrast": param}
    if name == "reader" and not param:
        return {"reader": True}
    raise UnknownMode(token)


def parse(text: str) -> Modes:
    """Parse 'trad+elder-175' (any order; ' ' accepted for '+', as form-encoded URLs turn + into space)."""
    fields: dict = {}
    for token in text.replace(" ", "+").lower().split("+"):
        if not token or token == PLAIN_TOKEN:
            continue
        parsed = _parse_token(token)
        for key in parsed:
            if key in fields and fields[key] != parsed[key]:
                raise UnknownMode(token)  # two settings of one mode, e.g. elder-125+elder-200
        fields.update(parsed)
    return Modes(**fields)


def all_tokens() -> list[str]:
    """Every valid token, for the 'unknown mode' page and docs."""
    tokens = ["trad"] + [f"trad-{k}" for k in TRAD_VARIANTS if k]
    tokens += ["elder"] + [f"elder-{s}" for s in ELDER_STEPS]
    tokens += ["contrast"] + [f"contrast-{k}" for k in CONTRAST_SCHEMES]
    tokens += ["reader", PLAIN_TOKEN]
    return tokens
