"""Temperature scaling: one scalar T, fitted on validation data, so that probabilities mean what they say.

softmax(logits / T) keeps every argmax (so every label) and only changes how sure the model says
it is. T is fitted by minimising the negative log-likelihood of the clean validation labels
(Guo et al., 2017) and baked into the exported ONNX graph; bundle.json records it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the NLL of `labels` (int [n]) under softmax(`logits` [n, 2] / T)."""
    if len(labels) == 0:
        return 1.0
    x = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")
    loss_fn = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), 0.05, 20.0))


def logits_of(model: nn.Module, batches: list[torch.Tensor]) -> np.ndarray:
    """The model's logits [n, 2] over already-padded id batches, in order."""
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(ids).numpy() for ids in batches]) if batches else np.zeros((0, 2))
