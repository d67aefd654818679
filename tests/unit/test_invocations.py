"""`POST /invocations` bodies in the MLflow scoring-server formats, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from specscan.scoring.invocations import InvalidInvocation, parse_invocation

A, B = "Cable sheathing, PVC with lead stabiliser", "M8 hex flange bolt, zinc-nickel coating"


def _parse(body: dict[str, Any]) -> list[Any]:
    return parse_invocation(json.dumps(body).encode())


@pytest.mark.parametrize("body", [
    pytest.param({"dataframe_split": {"columns": ["text"], "data": [[A], [B]]}}, id="split"),
    pytest.param({"dataframe_split": {"columns": ["id", "text"], "data": [[1, A], [2, B]], "index": [7, 8]}},
                 id="split-text-among-columns"),
    pytest.param({"dataframe_split": {"columns": ["description"], "data": [[A], [B]]}}, id="split-only-column"),
    pytest.param({"dataframe_records": [{"text": A}, {"text": B}]}, id="records"),
    pytest.param({"dataframe_records": [{"id": 1, "text": A}, {"text": B, "id": 2}]}, id="records-text-among-fields"),
    pytest.param({"dataframe_records": [{"description": A}, {"description": B}]}, id="records-only-field"),
    pytest.param({"inputs": [A, B]}, id="inputs-list"),
    pytest.param({"inputs": {"text": [A, B]}}, id="inputs-dict"),
    pytest.param({"inputs": {"text": [A, B], "other": [0, 1]}}, id="inputs-dict-text-among-keys"),
    pytest.param({"inputs": {"description": [A, B]}}, id="inputs-dict-only-key"),
    pytest.param({"instances": [A, B]}, id="instances-list"),
    pytest.param({"instances": {"text": [A, B]}}, id="instances-dict"),
    pytest.param({"inputs": [A, B], "params": {"threshold": 0.5}}, id="with-params"),
])
def test_every_accepted_format_gives_the_texts_in_order(body: dict[str, Any]) -> None:
    assert _parse(body) == [A, B]


def test_items_are_returned_unchecked_for_the_caller_to_validate() -> None:
    assert _parse({"inputs": [A, 3, None]}) == [A, 3, None]


def test_empty_inputs_give_no_items() -> None:
    assert _parse({"inputs": []}) == []
    assert _parse({"dataframe_records": []}) == []


@pytest.mark.parametrize(("body", "message"), [
    ({"inputs": [A], "instances": [B]}, "give exactly one of dataframe_split, dataframe_records, inputs, instances "
                                        "(got inputs, instances)"),
    ({"dataframe_split": {"columns": ["text"], "data": [[A]]}, "dataframe_records": [{"text": A}]},
     "(got dataframe_split, dataframe_records)"),
    ({}, "give exactly one of dataframe_split, dataframe_records, inputs, instances"),
    ({"params": {"x": 1}}, "give exactly one of"),
    ({"data": [A]}, "invalid MLflow scoring request at data"),
    ({"dataframe_split": {"columns": ["id", "text"], "data": [[1, A], [B]]}},
     "dataframe_split row 1 has 1 values for 2 columns"),
    ({"dataframe_split": {"columns": ["text"], "data": [[A, "extra"]]}}, "dataframe_split row 0 has 2 values for 1"),
    ({"dataframe_split": {"columns": [], "data": []}}, "invalid MLflow scoring request at dataframe_split.columns"),
    ({"dataframe_split": {"columns": ["id", "body"], "data": [[1, A]]}}, "no 'text' column among ['id', 'body']"),
    ({"dataframe_records": [{"text": A}, {"body": B}]}, "dataframe_records 1 has no 'text' field"),
    ({"dataframe_records": [{"id": 1, "body": A}]}, "no 'text' column among ['id', 'body']"),
    ({"inputs": {"id": [1], "body": [A]}}, "no 'text' column among ['id', 'body']"),
    ({"inputs": A}, "invalid MLflow scoring request at inputs"),
])
def test_invalid_bodies_are_refused_with_a_message(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInvocation) as caught:
        _parse(body)

    assert message in str(caught.value)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[\"a\"]", b"null"])
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInvocation, match="invalid MLflow scoring request at body"):
        parse_invocation(raw)
