"""Specifications for specscan.model.network: output shapes and behaviour around padding."""

import pytest
import torch
from torch import nn

from specscan.model.network import ModelConfig, WithProbabilities, build_model

ARCHS = ("cnn", "bigru", "transformer", "bigru-any")
VOCAB = 40
PAD = 0


def tiny(arch: str) -> nn.Module:
    """A seeded, tiny network of `arch` in eval mode (dropout off)."""
    torch.manual_seed(0)
    arch, _, pooling = arch.partition("-")
    config = ModelConfig(arch=arch, vocab_size=VOCAB, embed_dim=16, channels=16, kernel_size=5,
                         hidden=8, layers=1, heads=2, max_len=32, dropout=0.3, pooling=pooling or "maxmean")
    return build_model(config).eval()


def tokens(*lengths: int, width: int | None = None) -> torch.Tensor:
    """Rows of non-pad ids with the given lengths, right-padded with PAD to `width` [B, T]."""
    generator = torch.Generator().manual_seed(1)
    width = width or max(lengths)
    rows = torch.full((len(lengths), width), PAD, dtype=torch.int64)
    for i, n in enumerate(lengths):
        rows[i, :n] = torch.randint(1, VOCAB, (n,), generator=generator)
    return rows


@pytest.mark.parametrize("arch", ARCHS)
def test_output_is_one_logit_per_class_per_row(arch: str) -> None:
    with torch.no_grad():
        logits = tiny(arch)(tokens(5, 9, 2))
    assert logits.shape == (3, 2)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_with_probabilities_returns_rows_that_sum_to_one(arch: str) -> None:
    model = tiny(arch)
    ids = tokens(5, 9, 2)
    with torch.no_grad():
        probabilities = WithProbabilities(model)(ids)
        logits = model(ids)
    assert probabilities.shape == (3, 2)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    torch.testing.assert_close(probabilities.sum(dim=-1), torch.ones(3))
    torch.testing.assert_close(probabilities, torch.softmax(logits, dim=-1))


@pytest.mark.parametrize("arch", ARCHS)
def test_appending_pad_tokens_does_not_change_a_rows_logits(arch: str) -> None:
    model = tiny(arch)
    with torch.no_grad():
        alone = model(tokens(7))
        padded = model(tokens(7, width=15))
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_rows_output_does_not_depend_on_the_other_rows_in_its_batch(arch: str) -> None:
    model = tiny(arch)
    batch = tokens(7, 12, 3, 12)
    with torch.no_grad():
        together = model(batch)
        alone = torch.cat([model(row[None]) for row in batch])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_eval_mode_is_deterministic_and_train_mode_applies_dropout() -> None:
    model = tiny("cnn")
    ids = tokens(7, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(ids), model(ids))
        model.train()
        assert not torch.allclose(model(ids), model(ids))


def test_the_any_position_head_lets_one_statement_decide_whatever_surrounds_it() -> None:
    """With `any` pooling the text's logit is a smooth maximum over positions: appending more
    positions can only raise it, never cancel a high-scoring one."""
    model = tiny("bigru-any")
    with torch.no_grad():
        short = model(tokens(6))[0, 1]
        longer = model(tokens(6, width=6))[0, 1]
        torch.testing.assert_close(short, longer)
        scores = model.any.score(torch.zeros(1, 3, 16))  # type: ignore[union-attr]
    assert scores.shape == (1, 3, 1)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_rule_head_answers_which_rules_a_text_breaks_beside_the_label(arch: str) -> None:
    torch.manual_seed(0)
    arch, _, pooling = arch.partition("-")
    config = ModelConfig(arch=arch, vocab_size=VOCAB, embed_dim=16, channels=16, hidden=8, layers=1, heads=2,
                         max_len=32, pooling=pooling or "maxmean", num_rules=7)
    model = build_model(config).eval()
    with torch.no_grad():
        logits, rules = model(tokens(5, 9), with_rules=True)
        torch.testing.assert_close(logits, model(tokens(5, 9)))
    assert rules.shape == (2, 7)
    with pytest.raises(ValueError, match="no rule head"):
        tiny(arch if not pooling else f"{arch}-{pooling}")(tokens(3), with_rules=True)


def test_an_ensemble_answers_the_mean_of_its_members_probabilities() -> None:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=VOCAB, embed_dim=16, hidden=8, pooling="any", members=3)
    ensemble = build_model(config).eval()
    ids = tokens(5, 9, 2)
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m(ids), dim=-1) for m in ensemble.members]).mean(dim=0)
        torch.testing.assert_close(WithProbabilities(ensemble)(ids), mean)
        alone = torch.cat([ensemble(row[None]) for row in ids])
        torch.testing.assert_close(ensemble(ids), alone, atol=1e-5, rtol=0)
    assert len(ensemble.members) == 3 and all(m.config.members == 1 for m in ensemble.members)
    with pytest.raises(ValueError, match="one by one"):
        ensemble(ids, with_rules=True)


def test_a_mixed_ensemble_alternates_pretrained_and_learned_embeddings() -> None:
    from specscan.model.network import PretrainedEmbedding

    ensemble = build_model(ModelConfig(vocab_size=VOCAB, embed_dim=16, hidden=8, members=3, word_vectors="mixed"))
    assert [type(m.embedding) for m in ensemble.members] == [PretrainedEmbedding, nn.Embedding, PretrainedEmbedding]


def test_a_pretrained_embedding_is_its_fixed_vector_through_the_map_until_training_corrects_it() -> None:
    from specscan.model.network import PretrainedEmbedding

    torch.manual_seed(0)
    embedding = PretrainedEmbedding(VOCAB, 16, PAD)
    embedding.fixed.copy_(torch.randn(VOCAB, 16))
    ids = tokens(4, 6)
    torch.testing.assert_close(embedding(ids), embedding.fixed[ids])  # identity map, zero correction
    optimizer = torch.optim.SGD(embedding.parameters(), lr=0.1)
    embedding(ids[:, :2]).sum().backward()
    optimizer.step()
    unseen = torch.ones(VOCAB, dtype=torch.bool)
    unseen[ids[:, :2].flatten()] = False
    assert embedding.correction.weight[unseen].abs().sum() == 0  # never shown: no correction
    assert embedding.correction.weight[~unseen].abs().sum() > 0
    assert "fixed" in embedding.state_dict() and "fixed" not in dict(embedding.named_parameters())


def test_folding_the_pretrained_embeddings_keeps_the_outputs_and_leaves_one_table_each() -> None:
    from specscan.model.network import PretrainedEmbedding, folded

    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=VOCAB, embed_dim=16, hidden=8, members=2, word_vectors="minilm")).eval()
    for member in model.members:
        member.embedding.fixed.copy_(torch.randn(VOCAB, 16))
        torch.nn.init.normal_(member.embedding.map.weight)
        torch.nn.init.normal_(member.embedding.correction.weight)
    one = folded(model)
    assert not any(isinstance(m, PretrainedEmbedding) for m in one.modules())
    assert any(isinstance(m, PretrainedEmbedding) for m in model.modules())  # the original is left alone
    with torch.no_grad():
        torch.testing.assert_close(one(tokens(5, 9, 2)), model(tokens(5, 9, 2)), atol=1e-5, rtol=0)
