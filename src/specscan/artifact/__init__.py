"""The model artifact and everything needed to score with it, without torch.

`bundle` (the directory format and its manifest), `normaliser` and `tokenizer` (text to token ids,
exactly as in training) and `predictor` (ONNX Runtime). Training, the scoring service, batch
(local and Spark), the CLI, evaluation and the registry all import these; they import nothing
from the rest of specscan but `errors`, `texts` and the label names.
"""
