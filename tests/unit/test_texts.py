"""Specifications for specscan.texts: which texts can be scored, their label, their duplicate key.

One table of values, run through `text_problem` and through every entry point that takes texts (the
scoring service, the batch engines, data validation, the web form, the CLI): each accepts exactly the
values `text_problem` accepts and gives its reason word for word, after where the text was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from specscan.batch.rows import check_rows
from specscan.cli.main import app
from specscan.data.validation import validate_frame
from specscan.scoring.http import ApiError, check_texts
from specscan.settings import Settings
from specscan.texts import duplicate_key, label_of, text_problem
from specscan.webapp.inventory import InputError, check_fields

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
    pytest.param(b"brake pad", "is bytes, not a string", id="bytes"),
]


# A missing value is left out of the shared table on purpose: JSON null is "item 0 is NoneType, not a
# string", but a missing cell in a batch file is an empty text (CSV readers differ on empty = null).
@pytest.mark.parametrize(("value", "reason"), [*CASES, pytest.param(None, "is NoneType, not a string", id="none")])
def test_text_problem_gives_the_reason_or_none(value: object, reason: str | None) -> None:
    assert text_problem(value, max_chars=MAX) == reason


# --- the same verdict at every entry point --------------------------------------------------------
# Each caller answers None (accepted) or its whole message for the one text it was given.


def _service(value: object, _: Path) -> str | None:
    try:
        check_texts([value], max_items=1, max_chars=MAX)
    except ApiError as exc:
        assert exc.status == 422
        return exc.message
    return None


def _batch(value: object, _: Path) -> str | None:
    chunk = pd.DataFrame({"id": ["a"], "text": pd.Series([value], dtype=object)})
    checked = check_rows(chunk, [1], id_column="id", text_column="text", max_text_chars=MAX)
    assert len(checked.errors) + len(checked.ids) == 1
    return checked.errors[0].reason if checked.errors else None


def _validation(value: object, _: Path) -> str | None:
    frame = pd.DataFrame({"text": pd.Series([value], dtype=object), "label": ["compliant"]})
    report = validate_frame(frame, file="data.csv", max_text_chars=MAX)
    assert all(f.row == 1 and f.column == "text" for f in report.findings)
    return report.errors[0].problem if report.errors else None


def _web_form(value: object, _: Path) -> str | None:
    try:
        check_fields({"description": value, "part_number": "BP-1"}, Settings(max_text_chars=MAX))
    except InputError as exc:
        assert set(exc.problems) == {"description"}
        return exc.problems["description"]
    return None


def _cli(value: object, empty_dir: Path) -> str | None:
    if not isinstance(value, str):
        pytest.skip("command-line arguments are always strings")
    result = CliRunner().invoke(app, ["predict", "ok text", value, "--model", str(empty_dir)],
                                env={"SPECSCAN_MAX_TEXT_CHARS": str(MAX)})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    if "is not a model bundle" in result.output:  # the texts passed: it went on to load the model
        return None
    return result.output.strip().removeprefix("error: ")


CALLERS: dict[str, tuple[Callable[[object, Path], str | None], str]] = {
    # caller: (its verdict, where it says the text was)
    "service": (_service, "item 0 "),
    "batch": (_batch, "text "),
    "validation": (_validation, "text "),
    "web-form": (_web_form, ""),  # rendered after the field's name: "Description is empty or …"
    "cli": (_cli, "description 2 "),
}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize(("value", "reason"), CASES)
def test_every_caller_accepts_and_rejects_the_same_texts_for_the_same_reason(
        caller: str, value: object, reason: str | None, tmp_path: Path) -> None:
    verdict, where = CALLERS[caller]
    message = verdict(value, tmp_path)
    assert message == (None if reason is None else where + reason)


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
