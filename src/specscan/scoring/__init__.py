"""Scoring with ONNX Runtime and the artifact's tokenizer only: this package never imports torch."""
