"""The classifier: tokenizer, network, training loop and ONNX export.

Importing this package does not import torch; only `network`, `train` and `export` do.
"""
