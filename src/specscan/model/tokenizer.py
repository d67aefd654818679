"""The subword tokenizer saved inside every model artifact (Hugging Face `tokenizers`, no torch).

Digits are split one by one and punctuation is its own token, so "0,35 %" and "0.35%" become
short, regular token sequences that the network can read as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
PAD_ID = 0


def train_tokenizer(texts: Iterable[str], *, vocab_size: int, max_len: int) -> Tokenizer:
    """Fit a WordPiece vocabulary on `texts`; the result pads and truncates to `max_len`."""
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN, max_input_chars_per_word=50))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[PAD_TOKEN, UNK_TOKEN]
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    configure(tokenizer, max_len=max_len)
    return tokenizer


def configure(tokenizer: Tokenizer, *, max_len: int) -> None:
    """Pad each batch to its longest text and truncate at `max_len` (saved in tokenizer.json)."""
    if tokenizer.token_to_id(PAD_TOKEN) != PAD_ID:
        raise ValueError(f"tokenizer must map {PAD_TOKEN} to id {PAD_ID}")
    tokenizer.enable_truncation(max_length=max_len)
    tokenizer.enable_padding(pad_id=PAD_ID, pad_token=PAD_TOKEN)


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> np.ndarray:
    """Token ids of shape [batch, longest text in batch], int64, padded with PAD_ID."""
    if not texts:
        return np.zeros((0, 1), dtype=np.int64)
    encodings = tokenizer.encode_batch(list(texts))
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
    if ids.shape[1] == 0:  # every text normalised to nothing: keep one pad column
        ids = np.zeros((len(texts), 1), dtype=np.int64)
    return ids
