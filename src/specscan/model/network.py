"""The classifier networks and the config that travels with their weights."""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

Arch = Literal["cnn", "bigru", "transformer"]
NEG_INF = -1.0e4  # masked positions in max-pooling; finite so ONNX and fp math agree


class NetworkShape(BaseModel):
    """The architecture hyperparameters a user chooses (also the fields of TrainConfig)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arch: Arch = "bigru"
    embed_dim: int = Field(default=64, ge=8)
    channels: int = Field(default=128, ge=8, description="CNN feature maps")
    kernel_size: int = Field(default=5, ge=1)
    hidden: int = Field(default=64, ge=8, description="BiGRU state size")
    layers: int = Field(default=3, ge=1, description="CNN conv layers / transformer blocks")
    heads: int = Field(default=4, ge=1)
    dropout: float = Field(default=0.2, ge=0.0, lt=1.0)
    members: int = Field(default=1, ge=1, description="an ensemble: this many networks of this shape, trained from "
                                                          "different seeds; probabilities averaged")
    word_vectors: Literal["none", "minilm", "mixed"] = Field(
        default="none", description="token embeddings: learned only; fixed pretrained MiniLM vectors through a "
                                    "learned map plus a learned correction per token (model.word_vectors); or, in "
                                    "an ensemble, mixed: members 0, 2, ... minilm, members 1, 3, ... learned only")
    pooling: Literal["maxmean", "any"] = Field(
        default="any", description="BiGRU: max+mean of the states into one head, or `any`: a score at "
                                       "every position, combined by log-sum-exp (non-compliant if any part says so)")

    def member_word_vectors(self, i: int) -> Literal["none", "minilm"]:
        """The embeddings of ensemble member `i`."""
        if self.word_vectors == "mixed":
            return "minilm" if i % 2 == 0 else "none"
        return self.word_vectors


class ModelConfig(NetworkShape):
    """Constructor arguments of a classifier; saved beside its weights."""

    vocab_size: int = Field(ge=2)
    max_len: int = 128
    num_classes: int = 2
    num_rules: int = Field(default=0, ge=0, description="auxiliary outputs: which rule a text breaks (training only)")
    pad_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class PretrainedEmbedding(nn.Module):
    """Fixed vectors [V, E] (a buffer, filled before training) through a learned E x E map, plus a learned
    correction per token that starts at zero: a token training never shows keeps its pretrained meaning."""

    def __init__(self, vocab_size: int, dim: int, pad_id: int) -> None:
        super().__init__()
        self.register_buffer("fixed", torch.zeros(vocab_size, dim))
        self.map = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.map.weight)
        self.correction = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        nn.init.zeros_(self.correction.weight)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.map(self.fixed[input_ids]) + self.correction(input_ids)

    def folded(self) -> nn.Embedding:
        """The same lookup as one table (map applied to every fixed vector, plus the corrections): what is exported."""
        with torch.no_grad():
            table = self.map(self.fixed) + self.correction.weight
        return nn.Embedding.from_pretrained(table, freeze=True, padding_idx=self.correction.padding_idx)


def folded(model: nn.Module) -> nn.Module:
    """A copy of `model` with every PretrainedEmbedding replaced by its one-table equivalent."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, PretrainedEmbedding):
                setattr(parent, name, child.folded())
    return model


def _embedding(config: ModelConfig, dim: int) -> nn.Module:
    if config.member_word_vectors(0) == "minilm":
        return PretrainedEmbedding(config.vocab_size, dim, config.pad_id)
    return nn.Embedding(config.vocab_size, dim, padding_idx=config.pad_id)


def _pool(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked max and mean over time: [B, T, C] x [B, T] -> [B, 2C]."""
    m = mask.unsqueeze(-1).to(features.dtype)  # [B, T, 1]
    maxed = features.masked_fill(m == 0, NEG_INF).amax(dim=1)
    mean = (features * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
    return torch.cat([maxed, mean], dim=-1)


Output = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class _Heads(nn.Module):
    """The label head and, when the config asks for it, an auxiliary head naming the rules broken."""

    def __init__(self, features: int, config: ModelConfig) -> None:
        super().__init__()
        self.label = nn.Linear(features, config.num_classes)
        self.rules = nn.Linear(features, config.num_rules) if config.num_rules else None

    def forward(self, pooled: torch.Tensor, with_rules: bool) -> Output:
        """pooled [B, F] -> logits [B, num_classes], or (logits, rule logits [B, num_rules])."""
        logits = self.label(pooled)
        if not with_rules:
            return logits
        if self.rules is None:
            raise ValueError("this network has no rule head (num_rules = 0)")
        return logits, self.rules(pooled)


class _AnyPosition(nn.Module):
    """Scores every position of a text and combines them with a masked log-sum-exp, a smooth maximum.

    A description is non-compliant when any of its statements breaks a rule: one high-scoring
    position decides, and no number of harmless statements elsewhere can outvote it. The rule
    scores (auxiliary, training only) are combined the same way, one maximum per rule.
    """

    def __init__(self, features: int, config: ModelConfig) -> None:
        super().__init__()
        self.num_rules = config.num_rules
        self.score = nn.Sequential(nn.Linear(features, config.hidden), nn.Tanh(),
                                   nn.Linear(config.hidden, 1 + config.num_rules))

    def forward(self, states: torch.Tensor, mask: torch.Tensor, with_rules: bool) -> Output:
        """states [B, T, F], mask [B, T] -> logits [B, 2] = [0, z] (and rule logits [B, num_rules])."""
        scores = self.score(states).masked_fill(~mask.unsqueeze(-1), NEG_INF)  # [B, T, 1 + R]
        combined = torch.logsumexp(scores, dim=1)  # [B, 1 + R]
        z = combined[:, :1]  # [B, 1]
        logits = torch.cat([torch.zeros_like(z), z], dim=-1)  # softmax -> [1 - sigmoid(z), sigmoid(z)]
        if not with_rules:
            return logits
        if not self.num_rules:
            raise ValueError("this network has no rule head (num_rules = 0)")
        return logits, combined[:, 1:]


class TextCNN(nn.Module):
    """A 1-D convolution, then `layers - 1` residual dilated ones (dilation 2, 4, …: with k=5 and
    three layers each position sees 29 tokens), then max+mean pooling."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c, k = config.channels, config.kernel_size
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=config.pad_id)
        self.conv1 = nn.Conv1d(config.embed_dim, c, k, padding=k // 2)
        self.convs = nn.ModuleList(
            nn.Conv1d(c, c, k, padding=2**i * (k // 2), dilation=2**i) for i in range(1, config.layers))
        self.dropout = nn.Dropout(config.dropout)
        self.head = _Heads(2 * c, config)

    def forward(self, input_ids: torch.Tensor, with_rules: bool = False) -> Output:
        """input_ids [B, T] int64 -> logits [B, num_classes] (and rule logits [B, num_rules])."""
        mask = input_ids != self.config.pad_id  # [B, T]
        x = self.embedding(input_ids).transpose(1, 2)  # [B, E, T]
        keep = mask.unsqueeze(1).to(x.dtype)  # [B, 1, T]; zero past the text, as if unpadded
        h = torch.relu(self.conv1(x)) * keep  # [B, C, T]
        for conv in self.convs:
            h = torch.relu(conv(self.dropout(h)) + h) * keep  # [B, C, T]
        pooled = _pool(h.transpose(1, 2), mask)  # [B, 2C]
        return self.head(self.dropout(pooled), with_rules)


def _reverse_within_length(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reverse each row's real tokens in place, leaving its padding at the end: [B, T, D]."""
    t = x.shape[1]
    lengths = mask.sum(dim=1, keepdim=True)  # [B, 1]
    positions = torch.arange(t, device=x.device).unsqueeze(0)  # [1, T]
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)  # [B, T]
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class TextBiGRU(nn.Module):
    """A bidirectional GRU over token embeddings, then max+mean pooling.

    The backward direction is a forward GRU over each row reversed within its own length, so it
    reads the real tokens before any padding: a text's output does not depend on its batch.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = _embedding(config, config.embed_dim)
        self.forward_gru = nn.GRU(config.embed_dim, config.hidden, batch_first=True)
        self.backward_gru = nn.GRU(config.embed_dim, config.hidden, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = _Heads(4 * config.hidden, config) if config.pooling == "maxmean" else None
        self.any = _AnyPosition(2 * config.hidden, config) if config.pooling == "any" else None

    def forward(self, input_ids: torch.Tensor, with_rules: bool = False) -> Output:
        """input_ids [B, T] int64 -> logits [B, num_classes] (and rule logits [B, num_rules])."""
        mask = input_ids != self.config.pad_id  # [B, T]
        x = self.dropout(self.embedding(input_ids))  # [B, T, E]
        ahead, _ = self.forward_gru(x)  # [B, T, H]
        behind, _ = self.backward_gru(_reverse_within_length(x, mask))
        states = torch.cat([ahead, _reverse_within_length(behind, mask)], dim=-1)  # [B, T, 2H]
        if self.any is not None:
            return self.any(self.dropout(states), mask, with_rules)
        assert self.head is not None
        return self.head(self.dropout(_pool(states, mask)), with_rules)


class _EncoderLayer(nn.Module):
    """Pre-norm self-attention + feed-forward, written out so ONNX export sees plain ops."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, T, D], mask [B, T] (True = token) -> [B, T, D]."""
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, D/H]
        scores = q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5  # [B, H, T, T]
        scores = scores.masked_fill(~mask[:, None, None, :], NEG_INF)
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.dropout(self.proj(attended))
        return x + self.dropout(self.ff(self.norm2(x)))


class TextTransformer(nn.Module):
    """A small transformer encoder with learned positions, then max+mean pooling."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        self.embedding = nn.Embedding(config.vocab_size, dim, padding_idx=config.pad_id)
        self.position = nn.Embedding(config.max_len, dim)
        self.layers = nn.ModuleList(
            _EncoderLayer(dim, config.heads, config.dropout) for _ in range(config.layers))
        self.norm = nn.LayerNorm(dim)
        self.head = _Heads(2 * dim, config)

    def forward(self, input_ids: torch.Tensor, with_rules: bool = False) -> Output:
        """input_ids [B, T] int64 -> logits [B, num_classes] (and rule logits [B, num_rules])."""
        mask = input_ids != self.config.pad_id
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embedding(input_ids) + self.position(positions)[None]  # [B, T, D]
        for layer in self.layers:
            x = layer(x, mask)
        return self.head(_pool(self.norm(x), mask), with_rules)


class Ensemble(nn.Module):
    """Networks of one shape trained from different seeds; the output is the log of their mean probability.

    Networks trained on generated text extrapolate to hand-written text differently: two of them, each
    wrong on about one text in sixteen, are rarely wrong on the same one, and their mean is right more
    often than either (docs/benchmarks.md). The temperature then applies to these log-probabilities.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(
            build_model(config.model_copy(update={"members": 1, "word_vectors": config.member_word_vectors(i)}))
            for i in range(config.members))

    def forward(self, input_ids: torch.Tensor, with_rules: bool = False) -> Output:
        """input_ids [B, T] int64 -> log mean probability [B, num_classes]."""
        if with_rules:
            raise ValueError("an ensemble's members are trained one by one, each with its own rule head")
        log_probabilities = torch.stack([torch.log_softmax(m(input_ids), dim=-1) for m in self.members])
        return torch.logsumexp(log_probabilities, dim=0) - math.log(len(self.members))


def build_model(config: ModelConfig) -> nn.Module:
    """The network that `config.arch` names (an ensemble of them when `config.members` > 1)."""
    if config.members > 1:
        return Ensemble(config)
    networks: dict[str, type[nn.Module]] = {
        "cnn": TextCNN, "bigru": TextBiGRU, "transformer": TextTransformer}
    return networks[config.arch](config)


class WithProbabilities(nn.Module):
    """Wraps a classifier so its output is calibrated class probabilities (what the ONNX graph returns)."""

    def __init__(self, model: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.temperature = temperature

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(input_ids) / self.temperature, dim=-1)
