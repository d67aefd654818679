"""Why the model labelled a text: word occlusion on the ONNX model, in one batched call.

A word's attribution is how much the probability of non_compliant drops when the word is removed
from the text: positive words pushed the text towards non_compliant, negative ones away from it.
Words are the text's whitespace-separated pieces ("0.4", "wt.%", "lead-stabiliser"), so the
highlights match what a person typed, not the normaliser's rewrite or the tokenizer's sub-words;
each variant goes through the bundle's own normaliser and tokenizer, as any text would.

The cost is one model row per word, so only the first `max_words` words are attributed (the
service's `explain_max_words`); the rest of the text still counts in every variant.
"""

from __future__ import annotations

import itertools
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
    truncated: bool  # the text has more than `max_words` words; only the first ones are attributed


def explain(predictor: Predictor, text: str, *, max_words: int) -> Explanation:
    """The text's probability of non_compliant and the occlusion attribution of each of its first `max_words` words."""
    spans = [(m.start(), m.end()) for m in itertools.islice(WORD.finditer(text), max_words + 1)]
    truncated = len(spans) > max_words
    spans = spans[:max_words]
    variants = [text, *(text[:start] + text[end:] for start, end in spans)]
    probabilities = predictor.predict_ids(predictor.encode(variants))
    full = float(probabilities[0])
    words = [WordAttribution(text[s:e], s, e, full - float(probabilities[i + 1])) for i, (s, e) in enumerate(spans)]
    return Explanation(full, words, truncated)
