"""Synthetic, labelled component descriptions for training the compliance classifier.

    sample a fact record (facts)  ->  label it (rules, under R1 or R2)
                                  ->  lay it out as a document family (documents, phrasing)
                                  ->  add surface noise (noise)

The label is a function of the facts only, never of the rendered text. Facts do not depend on the
revision: the same seed gives the same texts under R1 and R2, and only the labels of rows touched
by the R2 changes (PFAS, copper-alloy lead between 2 % and 4 %) differ. Generation is seeded and
reproducible: the same (revision, rows, noise, seed) always gives the same frame.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from specscan.data import documents, noise, phrasing
from specscan.data.facts import Record, sample_record, twin
from specscan.data.rules import Revision, rules_of, verdict
from specscan.texts import MAX_CHARS, duplicate_key, text_problem

GENERATOR_VERSION = "7"  # bump when the same seed gives different rows
TWIN_SHARE = 0.3  # records followed by a minimal-pair twin (one decisive fact changed)
COLUMNS = (
    "id",
    "text",
    "label",
    "label_clean",
    "category",
    "rule",
    "violations",
    "family",
    "near_threshold",
    "revision",
)
FAMILIES: tuple[str, ...] = tuple(documents.FAMILIES)
RULES = {revision: rules_of(revision) for revision in ("R1", "R2")}
_FAMILY_NAMES = tuple(documents.FAMILIES)
_FAMILY_WEIGHTS = tuple(weight for _, weight, _ in documents.FAMILIES.values())


def render(record_rng: random.Random, record: object) -> tuple[str, str]:
    """(family, text) for a record: a document family, then surface noise."""
    family = record_rng.choices(_FAMILY_NAMES, _FAMILY_WEIGHTS)[0]
    renderer, _, typo_rate = documents.FAMILIES[family]
    text = renderer(record, record_rng, phrasing.style(record_rng))  # type: ignore[arg-type]
    return family, noise.surface(text, record_rng, typo_rate=typo_rate)


def generate(*, revision: Revision = "R1", rows: int, noise: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Generate labelled component descriptions; deterministic for (revision, rows, noise, seed)."""
    if revision not in ("R1", "R2"):
        raise ValueError(f"unknown revision {revision!r}")
    if rows < 0 or not 0.0 <= noise <= 1.0:
        raise ValueError("rows must be >= 0 and noise within [0, 1]")
    r = random.Random(seed * 7_919 + 104_729)
    seen: set[str] = set()
    out: dict[str, list[object]] = {c: [] for c in COLUMNS if c not in ("id", "label", "revision")}

    def add(record: Record, family: str, text: str) -> bool:
        key = duplicate_key(text)
        if not key or key in seen or text_problem(text, max_chars=MAX_CHARS) is not None:
            return False
        seen.add(key)
        judged = verdict(record.facts(), revision)
        for column, value in (
            ("text", text),
            ("label_clean", judged.non_compliant),
            ("category", record.category),
            ("rule", judged.rule),
            ("violations", ";".join(judged.violations)),
            ("family", family),
            ("near_threshold", judged.near_threshold),
        ):
            out[column].append(value)
        return True

    while len(out["text"]) < rows:
        record = sample_record(r)
        wording = r.getstate()
        if not add(record, *render(r, record)) or len(out["text"]) == rows or r.random() >= TWIN_SHARE:
            continue
        other = twin(record, r)
        if other is not None:  # worded from the same random state: only the changed fact reads differently
            same = random.Random()
            same.setstate(wording)
            add(other, *render(same, other))
    clean = np.array(out["label_clean"], dtype=bool)
    flips = np.random.default_rng([seed, 2_000_053]).random(rows) < noise
    names = np.array(["compliant", "non_compliant"], dtype=object)
    frame = pd.DataFrame(
        {
            "id": [f"C{i + 1:07d}" for i in range(rows)],
            **out,
            "label": names[(clean ^ flips).astype(int)].tolist(),
            "label_clean": names[clean.astype(int)].tolist(),
            "near_threshold": np.array(out["near_threshold"], dtype=bool),
            "revision": [revision] * rows,
        }
    )
    return frame[list(COLUMNS)]
