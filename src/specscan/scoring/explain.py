"""Why the model labelled a text: word occlusion on the ONNX model, in one batched call.

A word's attribution is how much the probability of non_compliant drops when the word is removed
from the text: positive words pushed the text towards non_compliant, negative ones away from it.
Words are the text's whitespace-separated pieces ("0.4", "wt.%", "lead-stabiliser"), so the
highlights match what a person typed, not the normaliser's rewrite or the tokenizer's sub-words;
each variant goes through the bundle's own normaliser and tokenizer, as any text would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from specscan.artifact.predictor import Predictor

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
    spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
    variants = [text, *(text[:start] + text[end:] for start, end in spans)]
    probabilities = predictor.predict_ids(predictor.encode(variants))
    full = float(probabilities[0])
    words = [WordAttribution(text[s:e], s, e, full - float(probabilities[i + 1])) for i, (s, e) in enumerate(spans)]
    return Explanation(full, words)
