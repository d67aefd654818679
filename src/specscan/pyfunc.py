"""The MLflow pyfunc flavour of a bundle, so MLflow tools can load and serve it.

`mlflow.pyfunc.load_model(uri).predict(DataFrame(text=[...]))` returns label and probability.
specscan's own services never use this path: they load the bundle's files directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

BUNDLE_ARTIFACT = "bundle"


class CompliancePyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """Scores a DataFrame with a `text` column with the bundle's ONNX model and tokenizer."""

    def load_context(self, context: Any) -> None:
        from specscan.artifact.predictor import Predictor

        self._predictor = Predictor(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            column = "text" if "text" in model_input.columns else model_input.columns[0]
            texts = model_input[column].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        predictions = self._predictor.predict(texts)
        return pd.DataFrame({"label": [p.label for p in predictions],
                             "probability": [p.probability for p in predictions]})
