"""Temperature scaling recovers the temperature that made over-confident logits."""

import numpy as np

from specscan.model.calibration import fit_temperature


def test_the_fitted_temperature_undoes_a_known_over_confidence() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(0.0, 2.0, size=20_000)  # calibrated log-odds of class 1
    labels = (rng.random(20_000) < 1 / (1 + np.exp(-margin))).astype(np.int64)
    logits = np.stack([np.zeros_like(margin), 3.0 * margin], axis=1)  # three times too sure
    assert abs(fit_temperature(logits, labels) - 3.0) < 0.15


def test_no_validation_rows_leave_the_model_as_it_is() -> None:
    assert fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=np.int64)) == 1.0
