"""`POST /invocations` in the MLflow scoring-server format, so MLflow clients can swap us in.

Accepted bodies (JSON): `{"dataframe_split": {"columns": ["text"], "data": [["..."]]}}`,
`{"dataframe_records": [{"text": "..."}]}`, `{"inputs": ["..."]}` or `{"inputs": {"text": ["..."]}}`
(`instances` is read like `inputs`). The text is the `text` column, or the only column. The answer
is what `mlflow models serve` gives for this model: `{"predictions": [{"label", "probability"}]}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TEXT_COLUMN = "text"


class InvalidInvocation(ValueError):
    """The body is not one of the accepted MLflow formats; the message says why."""


class DataframeSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(min_length=1)
    data: list[list[Any]]
    index: list[Any] | None = None


class InvocationRequest(BaseModel):
    """One of the MLflow scoring-server input formats (exactly one key), plus optional params."""

    model_config = ConfigDict(extra="forbid")

    dataframe_split: DataframeSplit | None = None
    dataframe_records: list[dict[str, Any]] | None = None
    inputs: list[Any] | dict[str, list[Any]] | None = None
    instances: list[Any] | dict[str, list[Any]] | None = None
    params: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one_format(self) -> InvocationRequest:
        given = [k for k in ("dataframe_split", "dataframe_records", "inputs", "instances")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of dataframe_split, dataframe_records, inputs, instances"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class Prediction(BaseModel):
    label: str
    probability: float


class InvocationResponse(BaseModel):
    predictions: list[Prediction]


def parse_invocation(body: bytes) -> list[Any]:
    """The items to score, in order (checked as texts by the caller)."""
    try:
        request = InvocationRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInvocation(f"invalid MLflow scoring request at {where}: {first['msg']}") from None
    if request.dataframe_split is not None:
        split = request.dataframe_split
        column = _text_column(split.columns)
        position = split.columns.index(column)
        for i, row in enumerate(split.data):
            if len(row) != len(split.columns):
                raise InvalidInvocation(f"dataframe_split row {i} has {len(row)} values for "
                                        f"{len(split.columns)} columns")
        return [row[position] for row in split.data]
    if request.dataframe_records is not None:
        records = request.dataframe_records
        column = _text_column(list(records[0])) if records else TEXT_COLUMN
        missing = [i for i, r in enumerate(records) if column not in r]
        if missing:
            raise InvalidInvocation(f"dataframe_records {missing[0]} has no {column!r} field")
        return [r[column] for r in records]
    tensor = request.inputs if request.inputs is not None else request.instances
    if isinstance(tensor, dict):
        return tensor[_text_column(list(tensor))]
    return list(tensor or [])


def _text_column(columns: list[str]) -> str:
    if TEXT_COLUMN in columns:
        return TEXT_COLUMN
    if len(columns) == 1:
        return columns[0]
    raise InvalidInvocation(f"no {TEXT_COLUMN!r} column among {columns[:10]}")
