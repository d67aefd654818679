"""Evaluation core: metrics, slices, plots and the model card (pure functions, no tracking)."""
