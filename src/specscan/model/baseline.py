"""TF-IDF + logistic regression: the baseline every deep model is compared with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

# Keeps decimals ("0.35", "0,35") and chemical symbols ("Cr6", "Pb") as tokens.
TOKEN_PATTERN = r"(?u)\d+(?:[.,]\d+)?|[A-Za-z]+\d*|[%+]"


def train_baseline(texts: Sequence[str], labels: np.ndarray, *, seed: int = 13) -> Pipeline:
    """Fit word 1-2-gram TF-IDF features and a logistic regression."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                        token_pattern=TOKEN_PATTERN, max_features=200_000),
        LogisticRegression(C=10.0, max_iter=2000, random_state=seed),
    )
    pipeline.fit(list(texts), labels)
    return pipeline


def baseline_proba(pipeline: Pipeline, texts: Sequence[str]) -> np.ndarray:
    """Probability of non_compliant for each text."""
    return pipeline.predict_proba(list(texts))[:, 1]
