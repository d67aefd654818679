"""Why the model labelled a text: word occlusion on the ONNX model, in one batched call.

A word's attribution is how much the probability of non_compliant drops when the word's tokens
are removed: positive words pushed the text towards non_compliant, negative ones away from it.
Words are the text's whitespace-separated pieces ("0.4", "wt.%", "lead-stabiliser"), so the
highlights match what a person typed, not the tokenizer's sub-words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from specscan.model.tokenizer import PAD_ID
from specscan.scoring.predictor import Predictor

WORD = re.compile(r"\S+")
METHOD = "occlusion: probability of non_compliant minus that of the text without the word"


@dataclass(frozen=True)
class WordAttribution:
    text: str
    start: int
    end: int
    attribution: float


@dataclass(frozen=True)
class Explanation:
    probability: float
    words: list[WordAttribution]


def explain(predictor: Predictor, text: str) -> Explanation:
    """The text's probability of non_compliant and each word's occlusion attribution."""
    encoding = predictor.tokenizer.encode(text)
    tokens = [(token_id, start) for token_id, (start, _), mask in
              zip(encoding.ids, encoding.offsets, encoding.attention_mask, strict=True) if mask]
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    owner = [_word_of(start, spans) for _, start in tokens]
    rows = [[token_id for token_id, _ in tokens]]
    for w in range(len(spans)):
        rows.append([token_id for (token_id, _), o in zip(tokens, owner, strict=True) if o != w])
    width = max(1, max(len(r) for r in rows))
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    probabilities = predictor.predict_ids(ids)
    full = float(probabilities[0])
    words = [WordAttribution(text[s:e], s, e, full - float(probabilities[w + 1]) if w in owner else 0.0)
             for w, (s, e) in enumerate(spans)]
    return Explanation(full, words)


def _word_of(offset: int, spans: list[tuple[int, int]]) -> int:
    for index, (start, end) in enumerate(spans):
        if start <= offset < end:
            return index
    return -1
