"""Surface noise: what hands and exports do to text without changing what it says.

Typos touch only letters of longer words (never digits, units or symbols); case changes,
abbreviations, American spellings and spacing slips are all things a reader sees through.
"""

from __future__ import annotations

import random
import re

AMERICAN = {
    "aluminium": "aluminum",
    "tyre": "tire",
    "tyres": "tires",
    "colour": "color",
    "coloured": "colored",
    "stabiliser": "stabilizer",
    "stabilised": "stabilized",
    "sulphate": "sulfate",
    "fibre": "fiber",
    "vapour": "vapor",
    "plasticised": "plasticized",
    "galvanised": "galvanized",
    "centre": "center",
    "moulded": "molded",
    "moulding": "molding",
    "grey": "gray",
    "windscreen": "windshield",
    "licence": "license",
}
ABBREVIATIONS = {
    "brake": "brk",
    "rear": "rr",
    "front": "frt",
    "assembly": "assy",
    "reinforced": "reinf.",
    "housing": "hsg",
    "connector": "conn",
    "with": "w/",
    "steel": "stl",
    "aluminium": "alu",
    "replacement": "repl.",
    "coating": "ctg",
    "plated": "pltd",
    "contacts": "conts",
    "material": "matl",
    "approval": "apprvl",
    "compound": "cmpd",
    "passivation": "passiv.",
    "supplier": "suppl.",
    "quantity": "qty",
    "friction": "frict.",
    "without": "w/o",
    "approximately": "approx.",
    "maximum": "max.",
    "declaration": "decl.",
    "application": "appl.",
    "bracket": "brkt",
}
_AMERICAN = re.compile(r"\b(" + "|".join(AMERICAN) + r")\b", re.IGNORECASE)
_ABBREVIATE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ABBREVIATIONS) + r")\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{5,}")
_UNIT_WORDS = {"percent", "weight"}


def _match_case(original: str, replacement: str) -> str:
    if original.isupper():
        return replacement.upper()
    return replacement[:1].upper() + replacement[1:] if original[:1].isupper() else replacement


def americanize(text: str) -> str:
    return _AMERICAN.sub(lambda m: _match_case(m.group(0), AMERICAN[m.group(0).lower()]), text)


def abbreviate(text: str, r: random.Random, share: float) -> str:
    return _ABBREVIATE.sub(
        lambda m: _match_case(m.group(0), ABBREVIATIONS[m.group(0).lower()]) if r.random() < share else m.group(0), text
    )


def typo(word: str, r: random.Random) -> str:
    """One slip of the hand: swapped, dropped or doubled letter."""
    i = r.randrange(1, len(word) - 2)
    k = r.randrange(3)
    if k == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if k == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def add_typos(text: str, r: random.Random, n: int) -> str:
    words = [m for m in _WORD.finditer(text) if m.group(0).lower() not in _UNIT_WORDS]
    for m in sorted(r.sample(words, min(len(words), n)), key=lambda m: -m.start()):
        text = text[: m.start()] + typo(m.group(0), r) + text[m.end() :]
    return text


def surface(text: str, r: random.Random, *, typo_rate: float) -> str:
    """Apply this family's share of noise to one rendered description."""
    if r.random() < 0.3:
        text = americanize(text)
    if r.random() < 0.12:
        text = abbreviate(text, r, 0.6)
    if r.random() < typo_rate * 4:
        text = add_typos(text, r, r.choice((1, 1, 2, 3)))
    u = r.random()
    if u < 0.05:
        text = text.upper()
    elif u < 0.09:
        text = text.lower()
    if r.random() < 0.05:
        text = text.replace(", ", ",")
    if r.random() < 0.04:
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        if spaces:
            i = r.choice(spaces)
            text = text[:i] + " " + text[i:]
    return re.sub(r"\.\.+", ".", text).strip()
