"""Specifications for specscan.artifact.tokenizer: number-friendly WordPiece, padded int64 batches."""

from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from specscan.artifact.tokenizer import PAD_ID, PAD_TOKEN, UNK_TOKEN, configure, encode, train_tokenizer

MAX_LEN = 12
TEXTS = [
    f"Lead content {i % 10}.{(3 * i) % 10}5 % in brake pad {i} exceeds limit of R10.2"
    for i in range(25)
] + [f"Cadmium below 0,0{i % 10} % by weight in tyre compound {i}" for i in range(25)]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return train_tokenizer(TEXTS, vocab_size=300, max_len=MAX_LEN)


def test_digits_are_split_one_by_one_and_punctuation_is_its_own_token(tokenizer: Tokenizer) -> None:
    assert tokenizer.encode("0.35 %").tokens == ["0", ".", "3", "5", "%"]
    assert tokenizer.encode("0,35%").tokens == ["0", ",", "3", "5", "%"]


def test_text_is_lowercased(tokenizer: Tokenizer) -> None:
    upper, lower = encode(tokenizer, ["LEAD Content"]), encode(tokenizer, ["lead content"])
    np.testing.assert_array_equal(upper, lower)
    assert tokenizer.encode("LEAD Content").tokens == ["lead", "content"]


def test_pad_is_id_zero(tokenizer: Tokenizer) -> None:
    assert PAD_ID == 0
    assert tokenizer.token_to_id(PAD_TOKEN) == PAD_ID


def test_encode_pads_a_batch_to_its_longest_row_with_pad(tokenizer: Tokenizer) -> None:
    ids = encode(tokenizer, ["lead", "lead content 0.35 %"])

    assert ids.dtype == np.int64
    assert ids.shape == (2, 7)  # lead content 0 . 3 5 %
    assert (ids[1] != PAD_ID).all()
    assert ids[0, 0] != PAD_ID
    assert (ids[0, 1:] == PAD_ID).all()


def test_encode_truncates_at_max_len(tokenizer: Tokenizer) -> None:
    long_text = " ".join(["lead"] * (3 * MAX_LEN))
    ids = encode(tokenizer, [long_text, "lead"])
    assert ids.shape == (2, MAX_LEN)
    assert (ids[0] != PAD_ID).all()


def test_encode_of_an_empty_batch_has_shape_0_by_1(tokenizer: Tokenizer) -> None:
    ids = encode(tokenizer, [])
    assert ids.shape == (0, 1)
    assert ids.dtype == np.int64


def test_texts_that_normalise_to_nothing_keep_one_pad_column(tokenizer: Tokenizer) -> None:
    np.testing.assert_array_equal(encode(tokenizer, ["", "   "]), np.zeros((2, 1), dtype=np.int64))


def test_a_saved_and_loaded_tokenizer_gives_identical_ids(tokenizer: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    loaded = Tokenizer.from_file(str(path))
    batch = ["Lead 0.35 % in PAD", " ".join(["tyre"] * (2 * MAX_LEN)), "unseen wörds xyz"]

    np.testing.assert_array_equal(encode(loaded, batch), encode(tokenizer, batch))
    assert encode(loaded, batch).shape == (3, MAX_LEN)  # padding and truncation travel with the file


def test_configure_refuses_a_tokenizer_whose_pad_is_not_id_zero() -> None:
    other = Tokenizer(models.WordLevel({UNK_TOKEN: 0, PAD_TOKEN: 1}, unk_token=UNK_TOKEN))
    with pytest.raises(ValueError, match="id 0"):
        configure(other, max_len=MAX_LEN)


def test_the_vocabulary_is_a_function_of_the_texts_alone() -> None:
    """The library's trainer broke ties in hash order: the same data gave different vocabularies."""
    first = train_tokenizer(TEXTS * 3, vocab_size=300, max_len=MAX_LEN).get_vocab()
    for _ in range(3):
        assert train_tokenizer(TEXTS * 3, vocab_size=300, max_len=MAX_LEN).get_vocab() == first


def test_unseen_and_misspelt_words_fall_back_to_known_pieces_not_unknown(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.encode("cadmim leadd").tokens
    assert UNK_TOKEN not in tokens and tokens[0].startswith("cad")


def test_extra_words_become_whole_tokens_after_the_training_vocabulary() -> None:
    plain = train_tokenizer(TEXTS, vocab_size=300, max_len=MAX_LEN)
    extended = train_tokenizer(TEXTS, vocab_size=300, max_len=MAX_LEN, extra_words=("extrusion", "lead", "swivel"))
    assert plain.encode("extrusion").tokens != ["extrusion"]
    assert extended.encode("Extrusion swivel").tokens == ["extrusion", "swivel"]
    size = plain.get_vocab_size()
    assert extended.get_vocab_size() == size + 2  # "lead" was already in
    assert {t: i for t, i in extended.get_vocab().items() if i < size} == plain.get_vocab()
