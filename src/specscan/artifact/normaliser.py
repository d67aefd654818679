"""The canonical-quantity normaliser: every written concentration becomes one form before tokenising.

"0,30 wt-%", "3000 mg/kg", "3 g/kg", "max. 0.3 percent" and "≤ 3 000 ppm" all say the same
thing; the network should not have to learn each spelling (1 % = 10,000 ppm = 10,000 mg/kg =
10 g/kg = 10 mg/g). Qualifiers become one of ≤ < ≥ > ~ and ranges "A to B"; the amount itself is
written in one of two ways, by version:

- "1", digits: a fixed-width percentage, "≤ 000.3000 %", so digit i always means one power of ten;
- "2", bands: the band between the limits the amount is judged against, "≤ qtyc", where the
  bands are cut at `edges_ppm` (a figure exactly at an edge falls in the band below, as a figure
  exactly at a limit is compliant). The edges are the rules' limits, recorded in bundle.json.

Everything else is left as written. The normaliser is part of the model artifact: its spec is in
bundle.json, and training, the scoring service, batch (local and Spark), `predict` and the edge
scorer all call it. Standard library only; linear in the text length.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache, partial
from typing import Literal

from pydantic import BaseModel, ConfigDict

_MAX_PERCENT = Decimal(1000)
_BANDS = "abcdefghijklmnop"


class NormaliserSpec(BaseModel):
    """Which normaliser a model's texts go through; recorded in bundle.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal["1", "2"]
    edges_ppm: tuple[float, ...] = ()  # version 2: the band edges, ascending


DIGITS = NormaliserSpec(version="1")

# --- units, as ppm per unit --------------------------------------------------------------------------
_PERCENT = (r"%(?:\s*\(?\s*(?:w/w|m/m|wt\.?|by\s+weight|by\s+wt\.?|by\s+mass)\s*\)?)?"
            r"|(?:wt|weight|mass|m)\s*\.?\s*-?\s*%|per\s?cent(?:\s+by\s+weight)?|pct|wt_pct")
_PPM = r"ppmw?(?:\s*\(w/w\))?|ppm\s+by\s+weight|mg\s*/\s*kg|mg_?kg|mg\s*kg[-−]1|[µμu]g\s*/\s*g|ugg"
_PER_MILLE = r"g\s*/\s*kg|mg\s*/\s*g|g_?kg|mgg"
_PPB = r"ppb|[µμu]g\s*/\s*kg|ug_?kg"
_UNITS = ((_PERCENT, Decimal(10_000)), (_PPM, Decimal(1)), (_PER_MILLE, Decimal(1000)), (_PPB, Decimal("0.001")))


def _unit(prefix: str) -> str:
    return "|".join(f"(?P<{prefix}{i}>{pattern})" for i, (pattern, _) in enumerate(_UNITS))


# --- numbers: spaced thousands (whole numbers only), or a decimal point or comma; at most 15 digits -----
_NUMBER = (r"(?<![\w.,])(?:\d{1,3}(?:[ \u00a0']\d{3})+(?![.,]?\d)|\d{1,15}(?:[.,]\d{1,8})?)(?!\d)"
           r"|(?<![\w.,])[.,]\d{1,8}(?!\d)")

# --- qualifiers ------------------------------------------------------------------------------------
_QUALIFIERS = {
    "≤": r"max(?:imum)?\.?|≤|<=|=<|⩽|up\s+to|not\s+more\s+than|no\s+more\s+than|not\s+exceeding|at\s+most",
    "<": r"<|less\s+than|lower\s+than|below|under",
    "≥": r"min(?:imum)?\.?|≥|>=|=>|⩾|at\s+least|not\s+less\s+than|no\s+less\s+than",
    ">": r">|more\s+than|greater\s+than|higher\s+than|above|over|exceeding|in\s+excess\s+of",
    "~": r"ca\.?|c\.|approx(?:imately|\.)?|about|around|roughly|~|≈",
}
_BEFORE = "|".join(f"(?P<q{i}>{pattern})" for i, pattern in enumerate(_QUALIFIERS.values()))
_AFTER = {"≤": r"max(?:imum)?\.?|\(max\.?\)|or\s+less|or\s+below", "≥": r"min(?:imum)?\.?|or\s+more"}
_SYMBOLS = tuple(_QUALIFIERS)

_QUANTITY = re.compile(
    rf"(?:(?<![a-z])(?:{_BEFORE})\s*)?"
    rf"(?:between\s+(?P<between>{_NUMBER})\s+and\s+)?"
    rf"(?:(?P<low>{_NUMBER})\s*(?:{_unit('l')})?\s*(?P<dash>-|–|—|to|…|\.\.)\s*)?"
    rf"(?P<value>{_NUMBER})\s?(?:{_unit('u')})(?![a-z])"
    rf"(?:\s+(?P<after_max>{_AFTER['≤']})|\s+(?P<after_min>{_AFTER['≥']}))?",
    re.IGNORECASE,
)
# where a quantity may end: a number and its unit; `_QUANTITY` is only tried around these (it is slow to
# try at every position of a text)
# (each pattern that cannot start with a literal opens with a look-ahead at its possible first characters:
# the same matches, ~2-3x faster, as the engine then skips other positions at once)
_AMOUNT = re.compile(rf"(?=[\d.,])(?:{_NUMBER})\s?(?:{_unit('a')})(?![a-z])", re.IGNORECASE)
_LOOK_BACK, _LOOK_AHEAD, _NEAR = 64, 40, 24
# something just before an amount that a qualifier or a range could start with; without it the
# quantity can only start at the amount itself
_LEAD_HINT = re.compile(
    r"[<>≤≥~≈⩽⩾=]|\d\s*(?:[-–—…]|\.\.|to\b)|\b(?:max\w*|min\w*|up|not|no|at|less|lower|below|under|more|greater|higher"
    r"|above|over|exceed\w*|in|ca|c|approx\w*|about|around|roughly|between)\b",
    re.IGNORECASE,
)
# "PB_PPM=850", "Cd [mg/kg]: 12", "lead (%) 0.3", "ppm: 40": the unit written as the key of a number
_KEYED = re.compile(
    rf"(?=[%wmpµμug])(?:(?<=[_(\[])(?:{_unit('u')})[)\]]?\s*[:=]?|(?<![\w%])(?:{_unit('k')})\s*[:=])"
    rf"\s*(?:(?P<kq><=|>=|<|>|≤|≥|~)\s*)?(?P<kvalue>{_NUMBER})(?![\d]|[.,]\d|\s*%)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _decimal(written: str, *, percent: bool) -> Decimal | None:
    """A written number as a decimal: "0,30" (decimal comma), "1,200 ppm" / "20 000" (thousands)."""
    text = written.replace("\u00a0", " ").replace("'", " ")
    if " " in text:
        text = text.replace(" ", "")
    if "," in text and "." not in text:
        whole, _, fraction = text.partition(",")
        thousands = not percent and len(fraction) == 3 and whole not in ("", "0")
        text = whole + fraction if thousands else f"{whole}.{fraction}"
    elif "," in text:
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _digits(ppm: Decimal) -> str:
    """Fixed width, four decimals, in percent: 850 ppm -> "000.0850 %"."""
    return f"{min(ppm / 10_000, _MAX_PERCENT):08.4f} %"


def _band(edges: tuple[Decimal, ...], ppm: Decimal) -> str:
    """The band of `ppm` between `edges`: at most the first edge -> "qtya", and so on."""
    return "qty" + _BANDS[sum(ppm > edge for edge in edges)]


def _unit_factor(match: re.Match[str]) -> tuple[Decimal, bool]:
    """(ppm per unit, is a percentage) of the unit the match found."""
    groups = match.groupdict()
    for i, (_, factor) in enumerate(_UNITS):
        if groups.get(f"u{i}") is not None or groups.get(f"k{i}") is not None:
            return factor, i == 0
    raise AssertionError("a quantity without a unit")  # pragma: no cover


def _qualifier(match: re.Match[str]) -> str:
    for i, symbol in enumerate(_SYMBOLS):
        if match.group(f"q{i}") is not None:
            return symbol
    if match.group("after_max"):
        return "≤"
    if match.group("after_min"):
        return "≥"
    return ""


Render = Callable[[Decimal], str]


def _amount(written: str, factor: Decimal, percent: bool, render: Render) -> str | None:
    value = _decimal(written, percent=percent)
    return None if value is None else render(value * factor)


def _quantity(render: Render, match: re.Match[str]) -> str:
    factor, percent = _unit_factor(match)
    value = _amount(match.group("value"), factor, percent, render)
    if value is None:
        return match.group(0)
    low_text = match.group("between") or match.group("low")
    qualifier = _qualifier(match)
    if low_text is not None:
        low = _amount(low_text, factor, percent, render)
        if low is not None:
            return f"{qualifier} {low} to {value}".lstrip()
    return f"{qualifier} {value}".lstrip()


def _keyed(render: Render, match: re.Match[str]) -> str:
    factor, percent = _unit_factor(match)
    value = _amount(match.group("kvalue"), factor, percent, render)
    if value is None:
        return match.group(0)
    qualifier = {"<=": "≤", ">=": "≥"}.get(match.group("kq") or "", match.group("kq") or "")
    head = match.group(0)[: match.start("kvalue") - match.start(0)].rstrip()
    head = re.sub(r"(?:<=|>=|<|>|≤|≥|~)$", "", head).rstrip()
    return f"{head} {qualifier} {value}".replace("  ", " ")


def normalise(text: str, spec: NormaliserSpec = DIGITS) -> str:
    """The text with every concentration in canonical form, NFKC-normalised, whitespace collapsed."""
    render = _renderer(spec.version, spec.edges_ppm)
    text = _SPACES.sub(" ", _safe(unicodedata.normalize("NFKC", text))).strip()
    if _DIGIT.search(text) is None:
        return text
    pieces, last = [], 0
    for candidate in _AMOUNT.finditer(text):
        if candidate.start() < last:
            continue  # already part of a range
        start, end = candidate.start(), min(len(text), candidate.end() + _LOOK_AHEAD)
        if _LEAD_HINT.search(text, max(last, start - _NEAR), start):
            found = _QUANTITY.search(text, max(last, start - _LOOK_BACK), end)
        else:
            found = _QUANTITY.match(text, start, end)
        if found is None or found.end() < candidate.end():
            continue
        pieces += [text[last : found.start()], _quantity(render, found)]
        last = found.end()
    text = "".join(pieces) + text[last:]
    return _KEYED.sub(partial(_keyed, render), text)


@cache
def _renderer(version: str, edges_ppm: tuple[float, ...]) -> Render:
    if version == "2":
        return partial(_band, tuple(Decimal(repr(edge)) for edge in sorted(edges_ppm)))
    return _digits


def _safe(text: str) -> str:
    """A lone surrogate (which the tokenizer cannot take) as U+FFFD; nothing else changes."""
    return _SURROGATE.sub("\ufffd", text)


def _as_written(text: str) -> str:
    return _safe(text)


def for_spec(spec: NormaliserSpec | None) -> Callable[[str], str]:
    """The function a bundle's texts go through; identity for a bundle without a normaliser."""
    return _as_written if spec is None else partial(normalise, spec=spec)
