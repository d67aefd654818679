"""Specifications for specscan.data.validation: labelled CSV checks, one finding per offending row.

Row numbers are 1-based data rows (the header is not a row).
"""

from pathlib import Path

import pandas as pd
import pytest

from specscan.data.validation import (
    MAX_FINDINGS_SHOWN,
    Finding,
    ValidationReport,
    load_labelled,
    read_csv,
)
from specscan.errors import DataValidationError

MAX = 100


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def report_of(path: Path, *, max_text_chars: int = MAX) -> ValidationReport:
    return read_csv(path, max_text_chars=max_text_chars)[1]


def errors_at(report: ValidationReport, row: int | None) -> list[Finding]:
    return [f for f in report.errors if f.row == row]


# --- valid files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [("compliant", "non_compliant"), ("0", "1")],
    ids=["named-labels", "numeric-labels"],
)
def test_valid_file_passes_and_loads_with_non_compliant_as_one(
    tmp_path: Path, first: str, second: str
) -> None:
    path = write(tmp_path, f"text,label\nbrake pad meets R90,{first}\nlead above limit,{second}\n")

    report = report_of(path)
    assert report.ok
    assert report.findings == []
    assert report.n_rows == 2

    frame = load_labelled(path, max_text_chars=MAX)
    assert frame["label"].tolist() == [0, 1]
    assert frame["label"].dtype == "int64"
    assert frame["text"].tolist() == ["brake pad meets R90", "lead above limit"]


def test_labels_are_accepted_with_surrounding_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\na, non_compliant \nb, 0\n")
    assert load_labelled(path, max_text_chars=MAX)["label"].tolist() == [1, 0]


def test_utf8_bom_is_accepted_and_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufefftext,label\nsensor ok,compliant\n".encode())

    assert report_of(path).ok
    frame = load_labelled(path, max_text_chars=MAX)
    assert list(frame.columns) == ["text", "label"]
    assert frame["label"].tolist() == [0]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "id,text,label,category\n7,tyre tread ok,0,tyre\n8,brake worn,1,brake\n")

    frame = load_labelled(path, max_text_chars=MAX)
    assert list(frame.columns) == ["id", "text", "label", "category"]
    assert frame["category"].tolist() == ["tyre", "brake"]
    assert frame["id"].tolist() == ["7", "8"]  # every column is read as text


def test_label_clean_when_present_is_mapped_to_ints(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "text,label,label_clean\na,compliant,non_compliant\nb,1,0\nc,non_compliant,1\n",
    )

    frame = load_labelled(path, max_text_chars=MAX)
    assert frame["label"].tolist() == [0, 1, 1]
    assert frame["label_clean"].tolist() == [1, 0, 1]
    assert frame["label_clean"].dtype == "int64"


# --- missing columns and empty files ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["text", "label"])
def test_missing_required_column_names_it_and_the_columns_found(tmp_path: Path, missing: str) -> None:
    columns = [c for c in ("text", "label") if c != missing] + ["notes"]
    path = write(tmp_path, ",".join(columns) + "\n" + ",".join("x" for _ in columns) + "\n")

    report = report_of(path)
    assert not report.ok
    [error] = report.errors
    assert error.row is None
    assert f"missing required column(s) {missing}" in error.problem
    for found in columns:
        assert found in error.problem.split("found:")[1]


def test_zero_byte_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"")

    frame, report = read_csv(path, max_text_chars=MAX)
    assert frame is None
    assert not report.ok
    assert "empty" in report.errors[0].problem


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\n")

    report = report_of(path)
    assert not report.ok
    assert report.n_rows == 0
    assert "no data rows" in report.errors[0].problem


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    report = report_of(tmp_path / "absent.csv")
    assert not report.ok
    assert "cannot read" in report.errors[0].problem


# --- encoding and CSV structure -----------------------------------------------------------------


def test_non_utf8_byte_is_named_with_its_line(tmp_path: Path) -> None:
    # latin-1 "é" is the single byte 0xe9, invalid as UTF-8; it sits on line 3 (data row 2)
    path = write(tmp_path, "text,label\nfine,0\ncaf\u00e9 heater,1\n".encode("latin-1"))

    frame, report = read_csv(path, max_text_chars=MAX)
    assert frame is None
    [error] = report.errors
    assert "0xe9" in error.problem
    assert "line 3" in error.problem
    assert error.row == 2


def test_unterminated_quote_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\n"never closed,0\nnext,1\n')

    frame, report = read_csv(path, max_text_chars=MAX)
    assert frame is None
    [error] = report.errors
    assert "not a valid CSV" in error.problem
    assert "\n" not in error.problem


def test_row_with_too_many_fields_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nok,0\nragged,1,extra\n")

    frame, report = read_csv(path, max_text_chars=MAX)
    assert frame is None
    [error] = report.errors
    assert "not a valid CSV" in error.problem
    assert "line 3" in error.problem


def test_every_row_with_one_field_too_many_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nbrake pad worn,0,1\nfine as it is,0\nsensor ok,1,0\n")

    report = report_of(path)
    assert not report.ok
    assert [(e.row, e.severity, e.problem) for e in report.errors] == [
        (row, "error", f"not a valid CSV: 3 fields on line {row + 1}, the header has 2 (check quotes and commas)")
        for row in (1, 3)
    ]


def test_row_with_too_few_fields_is_an_error_on_that_row(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nok,0\nno label here\n")

    report = report_of(path)
    assert not report.ok
    assert [e.row for e in report.errors] == [2]


# --- row checks ---------------------------------------------------------------------------------


def test_unknown_label_is_an_error_naming_its_row(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\na,0\nb,maybe\nc,1\n")

    report = report_of(path)
    [error] = report.errors
    assert (error.row, error.column) == (2, "label")
    assert "'maybe'" in error.problem
    assert "row 2" in str(error)


@pytest.mark.parametrize("text", ['""', '"   "', '"\t "'], ids=["empty", "spaces", "tab-and-space"])
def test_empty_or_whitespace_text_is_an_error_on_that_row(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, f"text,label\na,0\n{text},1\nc,1\n")

    report = report_of(path)
    [error] = report.errors
    assert (error.row, error.column) == (2, "text")
    assert "empty" in error.problem


def test_text_over_the_maximum_is_an_error_giving_length_and_maximum(tmp_path: Path) -> None:
    path = write(tmp_path, f"text,label\n{'x' * 10},0\n{'y' * 11},1\n")

    report = report_of(path, max_text_chars=10)
    [error] = report.errors  # exactly the maximum is allowed
    assert (error.row, error.column) == (2, "text")
    assert "11 characters" in error.problem
    assert "the most is 10" in error.problem


def test_duplicate_text_with_same_label_is_a_warning_and_loading_keeps_the_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "text,label,id\nLead  Above limit,1,first\nother,0,x\n  lead above LIMIT ,non_compliant,second\n",
    )

    report = report_of(path)
    assert report.ok
    [warning] = report.findings
    assert (warning.severity, warning.row) == ("warning", 3)
    assert "row 1" in warning.problem

    frame = load_labelled(path, max_text_chars=MAX)
    assert frame["id"].tolist() == ["first", "x"]
    assert frame.index.tolist() == [0, 1]


def test_duplicate_text_with_a_different_label_is_an_error_naming_both_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nbrake worn,1\nother,0\nBrake   worn,compliant\n")

    report = report_of(path)
    [error] = report.errors
    assert error.row == 3
    assert "row 1" in error.problem
    assert "row 3" in str(error)
    assert "different label" in error.problem


# --- the report and load_labelled ---------------------------------------------------------------


def test_summary_is_one_line_with_the_file_and_the_error_count(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\na,maybe\n,0\nc,1\n")

    summary = report_of(path).summary()
    assert "\n" not in summary
    assert str(path) in summary
    assert "2 errors" in summary
    assert "row 1" in summary and "row 2" in summary


def test_summary_shows_at_most_five_findings_then_how_many_more(tmp_path: Path) -> None:
    rows = "".join(f"text {i},maybe\n" for i in range(1, 9))
    path = write(tmp_path, "text,label\n" + rows)

    report = report_of(path)
    summary = report.summary()
    assert len(report.errors) == 8
    assert MAX_FINDINGS_SHOWN == 5
    assert "8 errors" in summary
    assert summary.count("unknown label") == 5
    assert "row 5 " in summary and "row 6 " not in summary
    assert summary.endswith("and 3 more")


def test_summary_of_a_valid_file_counts_rows_and_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\na,0\nA,0\nb,1\n")

    summary = report_of(path).summary()
    assert "\n" not in summary
    assert str(path) in summary
    assert "3 rows valid" in summary
    assert "1 warnings" in summary


def test_load_labelled_raises_data_validation_error_whose_message_is_the_summary(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\na,0\nb,maybe\n")

    with pytest.raises(DataValidationError) as caught:
        load_labelled(path, max_text_chars=MAX)
    assert str(caught.value) == report_of(path).summary()
    assert "row 2" in str(caught.value)


def test_load_labelled_raises_when_the_file_cannot_be_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, b"")

    with pytest.raises(DataValidationError, match="empty"):
        load_labelled(path, max_text_chars=MAX)


def test_load_labelled_does_not_touch_the_text(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\n"  Mixed Case, with comma ",1\nNA,0\n')

    frame = load_labelled(path, max_text_chars=MAX)
    expected = pd.Series(["  Mixed Case, with comma ", "NA"], name="text")
    pd.testing.assert_series_equal(frame["text"], expected, check_dtype=False)
