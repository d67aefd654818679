"""Specifications for specscan.batch.rows: which input files and rows both batch engines accept.

Row numbers are given by the caller (1-based data records); every rejected row keeps its number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specscan.batch.rows import RowError, check_input, check_rows, malformed_row
from specscan.errors import DataValidationError

MAX = 20


def checked(ids: list[object], texts: list[object], rows: list[int] | None = None):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=object), "text": pd.Series(texts, dtype=object)})
    numbers = rows if rows is not None else list(range(1, len(ids) + 1))
    return check_rows(frame, numbers, id_column="id", text_column="text", max_text_chars=MAX)


def reasons(ids: list[object], texts: list[object]) -> dict[int, str]:
    return {e.row: e.reason for e in checked(ids, texts).errors}


# --- rows that are scored -------------------------------------------------------------------------


def test_valid_rows_keep_their_order_numbers_ids_and_texts() -> None:
    result = checked(["a", "b", "c"], ["brake pad", "  hose  ", "x" * MAX], rows=[7, 8, 10])

    assert result.rows.tolist() == [7, 8, 10]
    assert result.rows.dtype == np.int64
    assert result.ids == ["a", "b", "c"]
    assert result.texts == ["brake pad", "  hose  ", "x" * MAX]  # scored as given: not stripped
    assert result.errors == []


def test_integer_ids_are_scored_with_their_decimal_text() -> None:
    result = checked([17, np.int64(18)], ["hose", "pad"])

    assert result.ids == ["17", "18"]


def test_the_same_rows_are_accepted_from_pandas_and_arrow() -> None:
    ids, texts = ["a", None, "c", "d"], ["ok", "ok", "   ", None]
    frame = pd.DataFrame({"id": ids, "text": texts})
    table = pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(texts, pa.string())})

    results = [check_rows(chunk, [1, 2, 3, 4], id_column="id", text_column="text", max_text_chars=MAX)
               for chunk in (frame, table, table.to_batches()[0])]

    assert all(r.ids == ["a"] and r.errors == results[0].errors for r in results)
    assert [e.row for e in results[0].errors] == [2, 3, 4]


def test_other_column_names_are_read() -> None:
    frame = pd.DataFrame({"sku": ["k1"], "description": ["brake pad"], "text": [None]})

    result = check_rows(frame, [1], id_column="sku", text_column="description", max_text_chars=MAX)

    assert result.ids == ["k1"] and result.texts == ["brake pad"]


# --- rows that are rejected, and why --------------------------------------------------------------


@pytest.mark.parametrize("text", [None, float("nan"), pd.NA, ""])
def test_a_missing_text_is_an_empty_one(text: object) -> None:
    assert reasons(["a"], [text]) == {1: "text is empty or only whitespace"}


@pytest.mark.parametrize("text", [" ", "\t\n", "\u00a0\u2003"])
def test_a_whitespace_only_text_is_rejected(text: str) -> None:
    assert reasons(["a"], [text]) == {1: "text is empty or only whitespace"}


def test_a_text_over_the_maximum_is_rejected_and_one_at_it_is_not() -> None:
    result = checked(["a", "b"], ["x" * MAX, "x" * (MAX + 1)])

    assert result.ids == ["a"]
    assert result.errors == [RowError(row=2, id="b", reason=f"text has {MAX + 1} characters; the most is {MAX}")]


@pytest.mark.parametrize(("text", "kind"), [(42, "int"), (4.2, "float"), (["brake", "pad"], "list"),
                                            (b"brake pad", "bytes")])
def test_a_text_that_is_not_a_string_is_rejected(text: object, kind: str) -> None:
    assert reasons(["a"], [text]) == {1: f"text is {kind}, not a string"}


def test_control_characters_and_lone_surrogates_are_rejected_by_row() -> None:
    assert reasons(["a", "b", "c"], ["brake\x00pad", "ok", "bad \ud800 half"]) == {
        1: "text contains a control character (U+0000)", 3: "text is not valid Unicode (a lone surrogate)"}


@pytest.mark.parametrize("row_id", [None, float("nan"), "", "   "])
def test_a_row_without_an_id_is_rejected_with_no_id(row_id: object) -> None:
    result = checked([row_id], ["brake pad"])

    assert result.errors == [RowError(row=1, id=None, reason="id is missing")]


def test_a_missing_id_is_reported_before_a_bad_text() -> None:
    assert reasons([None], [""]) == {1: "id is missing"}


def test_rejected_rows_keep_their_row_numbers_and_ids() -> None:
    result = checked(["a", "b", "c", "d"], ["ok", "", "ok", " "], rows=[101, 102, 104, 105])

    assert result.rows.tolist() == [101, 104]
    assert [(e.row, e.id) for e in result.errors] == [(102, "b"), (105, "d")]


def test_an_empty_chunk_has_no_rows() -> None:
    result = checked([], [])

    assert len(result.rows) == 0 and result.ids == [] and result.errors == []


def test_row_numbers_must_match_the_chunk() -> None:
    with pytest.raises(ValueError, match="2 row numbers for a chunk of 3 rows"):
        checked(["a", "b", "c"], ["x", "y", "z"], rows=[1, 2])


# --- malformed CSV records ------------------------------------------------------------------------


def test_a_record_with_too_many_fields_names_the_counts_and_keeps_its_id() -> None:
    error = malformed_row(5, 'K5,"brake, pad",compliant,extra', width=3, id_index=0)

    assert error == RowError(row=5, id="K5", reason="malformed CSV row: 4 fields, the header has 3")


def test_a_record_with_too_few_fields_has_no_id_when_the_id_field_is_absent() -> None:
    error = malformed_row(9, "only text", width=3, id_index=1)

    assert error == RowError(row=9, id=None, reason="malformed CSV row: 1 fields, the header has 3")


def test_a_record_that_cannot_be_split_is_still_reported() -> None:
    error = malformed_row(2, "K2," + "x" * 200_000, width=3, id_index=0)

    assert error.row == 2 and error.id is None
    assert error.reason.startswith("malformed CSV row: field larger than field limit")


# --- input files ----------------------------------------------------------------------------------


def test_a_csv_input_reports_its_header_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\ufeffid,text,label\nk1,brake pad,compliant\n", encoding="utf-8")

    source = check_input(path, id_column="id", text_column="text")

    assert source.format == "csv" and source.columns == ("id", "text", "label")


def test_a_parquet_input_reports_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.PARQUET"
    pq.write_table(pa.table({"sku": [1], "description": ["pad"]}), path)

    source = check_input(path, id_column="sku", text_column="description")

    assert source.format == "parquet" and source.columns == ("sku", "description")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.csv", None, "no such file"),
    ("in.json", '{"id": 1}', "unknown input format '.json'; use .csv or .parquet"),
    ("in", "id,text\n", r"unknown input format '\(no extension\)'"),
    ("in.csv", "", r"file is empty \(no header row\)"),
    ("in.csv", "id,label\nk1,compliant\n", r"missing column\(s\) text \(found: id, label\)"),
    ("in.parquet", "id,text\n", "not a readable Parquet file"),
])
def test_an_unusable_input_is_a_data_validation_error(tmp_path: Path, name: str, content: str | None,
                                                      message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    with pytest.raises(DataValidationError, match=message):
        check_input(path, id_column="id", text_column="text")


def test_a_directory_is_not_an_input_file(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").mkdir()

    with pytest.raises(DataValidationError, match="in.parquet: not a file"):
        check_input(tmp_path / "in.parquet", id_column="id", text_column="text")
