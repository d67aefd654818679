"""Specifications for specscan.texts: which texts can be scored, their label, their duplicate key."""

from __future__ import annotations

import pytest

from specscan.texts import duplicate_key, label_of, text_problem

MAX = 1000
LABELS = ("compliant", "non_compliant")

# value, the reason it cannot be scored (None: it can)
CASES = [
    pytest.param("", "is empty or only whitespace", id="empty"),
    pytest.param("   ", "is empty or only whitespace", id="spaces"),
    pytest.param(" \t\r\n\u00a0\u2003", "is empty or only whitespace", id="unicode-whitespace"),
    pytest.param("x" * (MAX + 1), f"has {MAX + 1} characters; the most is {MAX}", id="one-over-the-most"),
    pytest.param("x" * MAX, None, id="exactly-the-most"),
    pytest.param(" " + "x" * (MAX - 1) + " ", f"has {MAX + 1} characters; the most is {MAX}",
                 id="padded-over-the-most"),  # measured as given, not stripped
    pytest.param("1" * 10_000, f"has 10000 characters; the most is {MAX}", id="ten-thousand-digits"),
    pytest.param("\x00", "contains a control character (U+0000)", id="nul"),
    pytest.param("brake\x00pad", "contains a control character (U+0000)", id="nul-inside"),
    pytest.param("Bell\x07 housing", "contains a control character (U+0007)", id="bell"),
    pytest.param("\x7f", "contains a control character (U+007F)", id="del"),
    pytest.param("\x1f", "contains a control character (U+001F)", id="unit-separator"),  # str.isspace() says True
    pytest.param("a\x0bb", "contains a control character (U+000B)", id="vertical-tab"),
    pytest.param("a\tb\nc", None, id="tab-and-newline"),
    pytest.param("Brake pad\r\nlead-free", None, id="crlf"),
    pytest.param("\ud800", "is not valid Unicode (a lone surrogate)", id="lone-surrogate"),
    pytest.param("lead \udfff free", "is not valid Unicode (a lone surrogate)", id="lone-low-surrogate-inside"),
    pytest.param("Bremsbelag тормоз 刹车片 Pb 0.2 %", None, id="mixed-scripts"),
    pytest.param("Gasket 🔩 RoHS ✅ 👍🏽", None, id="emoji"),
    pytest.param("\u0085 NEL and \u0080 C1 controls", None, id="c1-controls-allowed"),
    pytest.param(42, "is int, not a string", id="int"),
    pytest.param(4.2, "is float, not a string", id="float"),
    pytest.param(None, "is NoneType, not a string", id="none"),
    pytest.param(b"brake pad", "is bytes, not a string", id="bytes"),
]


@pytest.mark.parametrize(("value", "reason"), CASES)
def test_text_problem_gives_the_reason_or_none(value: object, reason: str | None) -> None:
    assert text_problem(value, max_chars=MAX) == reason


def test_the_most_characters_is_a_parameter() -> None:
    assert text_problem("brake pad", max_chars=9) is None
    assert text_problem("brake pads", max_chars=9) == "has 10 characters; the most is 9"


# --- label_of -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("probability", "label"), [
    (0.0, "compliant"), (0.4999, "compliant"), (0.5, "non_compliant"), (0.93, "non_compliant"), (1.0, "non_compliant"),
])
def test_the_positive_label_starts_at_the_default_threshold_of_one_half(probability: float, label: str) -> None:
    assert label_of(probability, LABELS) == label


def test_the_threshold_is_a_parameter() -> None:
    assert label_of(0.6, LABELS, 0.9) == "compliant"
    assert label_of(0.9, LABELS, 0.9) == "non_compliant"


# --- duplicate_key ------------------------------------------------------------------------------


def test_case_and_runs_of_whitespace_do_not_make_a_different_text() -> None:
    assert duplicate_key("  Lead\tabove  LIMIT \n") == duplicate_key("lead above limit") == "lead above limit"
    assert duplicate_key("lead above limit") != duplicate_key("lead-above limit")
