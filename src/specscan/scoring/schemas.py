"""Request and response bodies of the scoring service's own endpoints (`/score`, errors, admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

Text = Annotated[StrictStr, Field(description="A component description.", examples=["Brake pad set, copper-free"])]


class ScoreRequest(BaseModel):
    """The Azure ML online-endpoint body: the texts to score (a bare JSON list is accepted too)."""

    model_config = ConfigDict(extra="forbid")

    data: list[Text] = Field(min_length=1, description="Texts to score, in order.")


class ItemScore(BaseModel):
    label: Literal["compliant", "non_compliant"]
    probability: float = Field(description="Probability of non_compliant.")


class ScoreResponse(BaseModel):
    """One result per input text, in order, and the model version that produced them."""

    request_id: str
    model_name: str
    model_version: int
    results: list[ItemScore]


class ExplainRequest(BaseModel):
    """One text to score and explain."""

    model_config = ConfigDict(extra="forbid")

    text: Text


class WordAttributionOut(BaseModel):
    text: str
    start: int = Field(description="Character offset of the word in the text.")
    end: int
    attribution: float = Field(description="Positive: pushed towards non_compliant.")


class ExplainResponse(BaseModel):
    """The prediction and each word's contribution to it."""

    request_id: str
    model_name: str
    model_version: int
    label: Literal["compliant", "non_compliant"]
    probability: float
    method: str
    words: list[WordAttributionOut]
    words_truncated: bool = Field(
        default=False, description="The text has more words than the service explains; `words` holds the first ones.")


class ErrorResponse(BaseModel):
    """Every error: a message that says what is wrong, and the request id to quote."""

    error: str
    request_id: str | None = None


class ReloadResponse(BaseModel):
    """What `POST /admin/reload` did."""

    model_name: str
    previous_version: int
    model_version: int
    reloaded: bool
