"""The one rule for texts: which values can be scored, how a probability becomes a label, when two texts
are the same text.

Every entry point (scoring service, batch engines, data validation, web form, CLI) asks `text_problem`
and adds only where the text was (`item 3`, `row 17 [text]`, `description`) and its own error type, so
they all accept the same texts and say the same thing about the others. Standard library only.

The rules, decided once:
- a text is a `str`, with at least one character that is not whitespace;
- its length is counted in code points on the text as given (not stripped), at most `max_chars`;
- tab, line feed and carriage return are allowed; other C0 control characters and DEL are not
  (PostgreSQL, where the collector keeps scored texts, cannot store NUL; none of them is text);
- it is valid Unicode: no lone surrogate (possible in a Python `str`, impossible to encode as UTF-8).
"""

from __future__ import annotations

import re

MAX_CHARS = 1000
"""The default longest text (`Settings.max_text_chars`)."""

THRESHOLD = 0.5
"""The default probability of the positive class from which a text gets the positive label."""

_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def character_problem(text: str) -> str | None:
    """None when `text` holds only storable characters, else why not (a control character, a lone surrogate)."""
    found = _BAD_CHARACTER.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return "is not valid Unicode (a lone surrogate)"
    return f"contains a control character (U+{code:04X})"


def text_problem(value: object, *, max_chars: int) -> str | None:
    """None when `value` can be scored, else a short reason without location ('is empty or only whitespace')."""
    if not isinstance(value, str):
        return f"is {type(value).__name__}, not a string"
    bad = character_problem(value)  # first: str.strip() takes U+000B, U+000C, U+001C-U+001F for whitespace
    if bad is not None:
        return bad
    if not value.strip():
        return "is empty or only whitespace"
    if len(value) > max_chars:
        return f"has {len(value)} characters; the most is {max_chars}"
    return None


def label_of(probability: float, labels: tuple[str, str], threshold: float = THRESHOLD) -> str:
    """The label of a probability of the positive class: labels[1] from `threshold` on, else labels[0]."""
    return labels[1] if probability >= threshold else labels[0]


def duplicate_key(text: str) -> str:
    """How de-duplication sees a text: case and runs of whitespace do not count."""
    return " ".join(text.lower().split())
