"""Surface noise: what hands and exports do to text without changing what it says.

Typos touch only letters of longer words (never digits, units or symbols); case changes,
abbreviations, American spellings and spacing slips are all things a reader sees through.
"""

from __future__ import annotations

import random
import re
from functools import cache
from importlib.resources import files

UNFAMILIAR_SHARE = 0.25  # descriptions that get 1-3 everyday words the generator never writes

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
# A German supplier's words in English text (the same facts; word by word, so "lead time" stays English)
GERMAN = {
    "housing": "Gehäuse",
    "steel": "Stahl",
    "content": "Gehalt",
    "free of": "frei von",
    "supplier": "Lieferant",
    "contacts": "Kontakte",
    "brass": "Messing",
    "coating": "Beschichtung",
    "approval": "Genehmigung",
    "type approval": "Typgenehmigung",
    "homologation": "Homologation",
    "expired": "abgelaufen",
    "withdrawn": "zurückgezogen",
    "pending": "ausstehend",
    "valid": "gültig",
    "none": "keine",
    "not detected": "nicht nachweisbar",
    "drawing": "Zeichnung",
    "batch": "Charge",
}
_AMERICAN = re.compile(r"\b(" + "|".join(AMERICAN) + r")\b", re.IGNORECASE)
_ABBREVIATE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ABBREVIATIONS) + r")\b", re.IGNORECASE)
_GERMAN = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(GERMAN, key=len, reverse=True)) + r")\b",
                     re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{5,}")
_LONG_WORD = re.compile(r"\b[A-Za-z]{6,}\b")
# kept whole when an export shortens words: substances, units and absence words are what decide, and
# exports write substances as symbols, which the phrasing already does
_UNCONTRACTED = re.compile(r"lead|cadm|mercur|chrom|asbest|pfas|pfo|fluor|percent|weight|detect|without|absent",
                           re.IGNORECASE)
_VOWELS = frozenset("aeiouAEIOU")
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


def germanize(text: str, r: random.Random, share: float) -> str:
    return _GERMAN.sub(
        lambda m: _match_case(m.group(0), GERMAN[m.group(0).lower()]) if r.random() < share else m.group(0), text
    )


def contract(word: str, r: random.Random) -> str:
    """How an export shortens a long word: its inner vowels dropped ("pending" -> "pndng"), those of
    its second half ("expired" -> "expird", "homologation" -> "homologtn"), or cut ("homol.")."""
    k = r.randrange(3)
    if k == 2:
        return word[: r.randrange(4, min(len(word) - 1, 7))] + "."
    keep = 1 if k == 0 else len(word) // 2
    inner = "".join(ch for ch in word[keep:-1] if ch not in _VOWELS)
    return word[:keep] + inner + word[-1]


def contract_words(text: str, r: random.Random, share: float) -> str:
    return _LONG_WORD.sub(
        lambda m: contract(m.group(0), r) if not _UNCONTRACTED.search(m.group(0)) and r.random() < share
        else m.group(0), text)


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


@cache
def unfamiliar_words() -> tuple[str, ...]:
    """Everyday words the generator never writes (data/words/unfamiliar.txt)."""
    lines = (files("specscan.data") / "words" / "unfamiliar.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line and not line.startswith("#"))


_WORD_THEN_WORD = re.compile(r"([A-Za-z]+) (?=[A-Za-z])")  # the space after a word, before another
# nothing goes in after these: a negation and its object ("no lead", "free of cadmium"), a qualifier and
# its figure ("less than", "up to"), a unit in words ("per cent", "ppm by weight")
_SCOPE = frozenset({"no", "not", "non", "without", "free", "of", "nicht", "kein", "keine", "zero", "nil", "never",
                    "ohne", "frei", "at", "up", "less", "more", "greater", "higher", "lower", "than", "under", "over",
                    "below", "above", "per", "by"})


def unfamiliar(text: str, r: random.Random, n: int) -> str:
    """Insert `n` words the generator never writes between two words (never into a figure, a unit or
    the scope of a negation): real descriptions are full of words no training text had."""
    places = [m.end(1) for m in _WORD_THEN_WORD.finditer(text) if m.group(1).lower() not in _SCOPE]
    words = unfamiliar_words()
    for at in sorted(r.sample(places, min(len(places), n)), reverse=True):
        word = words[r.randrange(len(words))]
        text = f"{text[:at]} {word.upper() if text.isupper() else word}{text[at:]}"
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
    if r.random() < (0.2 if text.isupper() else 0.03):  # exports in capitals shorten most
        text = contract_words(text, r, 0.5)
    if r.random() < 0.03:
        text = germanize(text, r, 0.6)
    if r.random() < UNFAMILIAR_SHARE:
        text = unfamiliar(text, r, r.choice((1, 1, 2, 3)))
    if r.random() < 0.05:
        text = text.replace(", ", ",")
    if r.random() < 0.04:
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        if spaces:
            i = r.choice(spaces)
            text = text[:i] + " " + text[i:]
    return re.sub(r"\.\.+", ".", text).strip()
