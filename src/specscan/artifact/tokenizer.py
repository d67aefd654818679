"""The subword tokenizer saved inside every model artifact (Hugging Face `tokenizers`, no torch).

Digits are split one by one and punctuation is its own token, so "0,35 %" and "0.35%" become
short, regular token sequences that the network can read as numbers.

The vocabulary is a pure function of the training texts. The library's WordPiece trainer is not:
it breaks ties between equally frequent merges in hash order, which changes from process to
process, and the same data gave two different vocabularies (and so two different models).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
PAD_ID = 0


MIN_FREQUENCY = 2
WORD_SHARE = 0.7  # of the vocabulary left after single characters: whole words; the rest, word pieces


def _empty() -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece({PAD_TOKEN: PAD_ID, UNK_TOKEN: 1}, unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    return tokenizer


def _vocabulary(words: Counter[str], vocab_size: int, extra_words: Sequence[str] = ()) -> dict[str, int]:
    """Special tokens, every character (word-initial and "##" continuation), the most frequent
    words, then the most frequent word-initial prefixes and "##" suffixes; ties broken by the
    token itself, so the result never depends on iteration order."""
    chars = sorted({ch for word in words for ch in word})
    tokens = [PAD_TOKEN, UNK_TOKEN, *chars, *(f"##{ch}" for ch in chars)]
    taken = set(tokens)
    budget = max(0, vocab_size - len(tokens))
    frequent = sorted(((n, w) for w, n in words.items() if n >= MIN_FREQUENCY and w not in taken),
                      key=lambda item: (-item[0], item[1]))
    for _, word in frequent[: int(budget * WORD_SHARE)]:
        tokens.append(word)
        taken.add(word)
    pieces: Counter[str] = Counter()
    for word, n in words.items():
        for k in range(2, min(len(word), 8)):
            pieces[word[:k]] += n
        for k in range(2, min(len(word) - 1, 7)):
            pieces[f"##{word[-k:]}"] += n
    ranked = sorted(((n, p) for p, n in pieces.items() if n >= MIN_FREQUENCY and p not in taken),
                    key=lambda item: (-item[0], item[1]))
    tokens += [p for _, p in ranked[: max(0, vocab_size - len(tokens))]]
    taken = set(tokens)
    tokens += [w for w in dict.fromkeys(extra_words) if w not in taken]
    return {token: i for i, token in enumerate(tokens)}


def train_tokenizer(texts: Iterable[str], *, vocab_size: int, max_len: int,
                    extra_words: Sequence[str] = ()) -> Tokenizer:
    """A WordPiece tokenizer fitted on `texts`, plus `extra_words` as whole words (beyond `vocab_size`);
    it pads and truncates to `max_len`."""
    tokenizer = _empty()
    assert tokenizer.normalizer is not None and tokenizer.pre_tokenizer is not None
    words: Counter[str] = Counter()
    for text in texts:
        normal = tokenizer.normalizer.normalize_str(text)
        words.update(word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normal))
    tokenizer.model = models.WordPiece(_vocabulary(words, vocab_size, extra_words), unk_token=UNK_TOKEN,
                                       max_input_chars_per_word=50)
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
