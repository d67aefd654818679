"""Training loop: seeded, early-stopped on validation macro-F1, single- or multi-process (gloo)."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from specscan.artifact import normaliser
from specscan.artifact.bundle import TOKENIZER_FILE
from specscan.artifact.normaliser import NormaliserSpec
from specscan.artifact.tokenizer import PAD_ID, train_tokenizer
from specscan.data.rules import limits_ppm
from specscan.model.calibration import fit_temperature, logits_of
from specscan.model.network import ModelConfig, NetworkShape, build_model

WEIGHTS_FILE = "model.pt"

HISTORY_FILE = "history.json"
log = logging.getLogger(__name__)


class TrainConfig(NetworkShape):
    """Hyperparameters of one training run: the network's shape, the tokenizer's and the loop's."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    vocab_size: int = Field(default=6000, ge=100)
    max_len: int = Field(default=256, ge=8)
    lr: float = 3e-3
    schedule: Literal["constant", "onecycle"] = "onecycle"
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=0.5)
    weight_decay: float = 1e-4
    batch_size: int = Field(default=64, ge=1)
    max_epochs: int = Field(default=6, ge=1)
    patience: int = Field(default=3, ge=1)
    seed: int = 13
    nproc: int = Field(default=1, ge=1, description="processes for torch.distributed (gloo)")
    rule_loss_weight: float = Field(default=0.5, ge=0.0, description="weight of the auxiliary task: which rules a "
                                    "text breaks (used when the data has a `violations` column; 0 turns it off)")
    normaliser: Literal["none", "digits", "bands"] = Field(
        default="bands", description="rewrite concentrations before tokenising: as written, fixed-width "
                                     "percent digits, or the band between the rules' limits")
    band_edges_ppm: tuple[float, ...] = Field(
        default_factory=limits_ppm, description="for `bands`: every limit of the rules (R1 and R2), in ppm")

    def normaliser_spec(self) -> NormaliserSpec | None:
        """The normaliser this configuration trains behind (None: texts as written)."""
        if self.normaliser == "none":
            return None
        if self.normaliser == "digits":
            return NormaliserSpec(version="1")
        return NormaliserSpec(version="2", edges_ppm=tuple(sorted(self.band_edges_ppm)))

    def network_config(self, vocab_size: int, num_rules: int = 0) -> ModelConfig:
        shape = self.model_dump(include=set(NetworkShape.model_fields))
        return ModelConfig(**shape, vocab_size=vocab_size, max_len=self.max_len, pad_id=PAD_ID, num_rules=num_rules)


class TrainResult(BaseModel):
    """What a training run produced."""

    best_epoch: int
    best_val_macro_f1: float
    epochs_run: int
    seconds: float
    history: list[dict[str, float]]
    temperature: float = 1.0
    ranks: int = 1  # processes that took part, counted by an all-reduce among them (not the number asked for)


@dataclass
class Trained:
    """A trained network (eval mode) with what an artifact must say about it."""

    model: nn.Module
    network: dict[str, Any]  # the constructor arguments (ModelConfig)
    normaliser: NormaliserSpec | None  # the text normaliser it was trained behind
    temperature: float  # fitted on validation data


@dataclass
class _Encoded:
    ids: list[list[int]]
    labels: np.ndarray
    rules: np.ndarray | None = None  # [n, num_rules] multi-hot: the rules each text breaks


def _encode(tokenizer: Tokenizer, texts: list[str], labels: np.ndarray, rules: np.ndarray | None = None) -> _Encoded:
    tokenizer.no_padding()  # pad per batch below, not to the longest text overall
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    return _Encoded(ids=ids, labels=labels.astype(np.int64),
                    rules=None if rules is None else rules.astype(np.float32))


def _batch(data: _Encoded, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [data.ids[i] for i in index]
    width = max(1, max(len(r) for r in rows))
    ids = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return torch.from_numpy(ids), torch.from_numpy(data.labels[index])


def _confusion(model: nn.Module, data: _Encoded, index: np.ndarray, batch_size: int) -> torch.Tensor:
    """[[tn, fp], [fn, tp]] over `index`, as a float tensor so it can be all-reduced."""
    counts = torch.zeros(2, 2, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(index), batch_size):
            ids, y = _batch(data, index[start : start + batch_size])
            pred = model(ids).argmax(dim=-1)
            for t in (0, 1):
                for p in (0, 1):
                    counts[t, p] += int(((y == t) & (pred == p)).sum())
    return counts


def _macro_f1(c: torch.Tensor) -> float:
    f1s = []
    for k in (0, 1):
        tp = c[k, k]
        denominator = c[:, k].sum() + c[k, :].sum()
        f1s.append(float(2 * tp / denominator) if denominator > 0 else 0.0)
    return float(np.mean(f1s))


def _length_batches(lengths: np.ndarray, order: np.ndarray, batch_size: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of rows of similar length, in random order.

    Rows are taken in `order` (already shuffled), sorted by length within windows of 50 batches,
    cut into batches, and the batches shuffled: a batch pads little, and which rows meet in a batch
    still changes every epoch.
    """
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _steps_per_epoch(rows: int, world: int, batch_size: int) -> int:
    """Every rank takes the same number of steps, or the all-reduce of the last one hangs."""
    if world == 1:
        return max(1, -(-rows // batch_size))
    return max(1, rows // world // batch_size)


def _worker(rank: int, world: int, port: int, config: TrainConfig, out_dir: Path,
            train: _Encoded, val: _Encoded, vocab_size: int, fixed: torch.Tensor | None = None) -> None:
    distributed = world > 1
    if distributed:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                                rank=rank, world_size=world)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    torch.use_deterministic_algorithms(True)  # the same data and config give the same weights
    torch.manual_seed(config.seed)  # same initial weights on every rank
    num_rules = 0 if train.rules is None else train.rules.shape[1]
    model = build_model(config.network_config(vocab_size, num_rules))
    if config.member_word_vectors(0) == "minilm":
        assert fixed is not None, "a network on word vectors needs their table"
        model.embedding.fixed.copy_(fixed)
    elif isinstance(model.embedding, nn.Embedding):
        with torch.no_grad():  # a token training never shows keeps a zero vector, not a random one, forever
            seen = torch.zeros(vocab_size, dtype=torch.bool)
            seen[np.unique(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in train.ids]))] = True
            model.embedding.weight[~seen] = 0.0
    wrapped: nn.Module = DistributedDataParallel(model) if distributed else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    rule_loss = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(config.seed)
    lengths = np.fromiter((len(r) for r in train.ids), dtype=np.int64, count=len(train.ids))
    steps_per_epoch = _steps_per_epoch(len(train.labels), world, config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=steps_per_epoch * config.max_epochs,
        pct_start=0.15) if config.schedule == "onecycle" else None
    val_index = np.arange(len(val.labels))[rank::world]
    best_f1, best_epoch, stale = -1.0, 0, 0
    best_state: dict[str, torch.Tensor] = {}
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    show = rank == 0 and sys.stderr.isatty()
    epoch = 0
    for epoch in range(1, config.max_epochs + 1):
        order = rng.permutation(len(train.labels))  # same on all ranks: same seed
        batches = _length_batches(lengths, order[rank::world], config.batch_size,
                                  np.random.default_rng([config.seed, rank, epoch]))
        steps = steps_per_epoch
        wrapped.train()
        total = 0.0
        bar = tqdm(range(steps), desc=f"epoch {epoch}", disable=not show, leave=False)
        for step in bar:
            ids, y = _batch(train, batches[step])
            optimizer.zero_grad()
            if train.rules is None:
                loss = loss_fn(wrapped(ids), y)
            else:  # the label, and which rules the text breaks (an auxiliary task that shapes the features)
                logits, rule_logits = wrapped(ids, with_rules=True)
                rules = torch.from_numpy(train.rules[batches[step]])
                loss = loss_fn(logits, y) + config.rule_loss_weight * rule_loss(rule_logits, rules)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (step + 1):.4f}")
        counts = _confusion(model, val, val_index, 512)
        if distributed:
            dist.all_reduce(counts)
        f1 = _macro_f1(counts)
        history.append({"epoch": epoch, "train_loss": total / max(steps, 1), "val_macro_f1": f1})
        if rank == 0:
            log.info("epoch %d: train loss %.4f, val macro-F1 %.4f", epoch,
                     total / max(steps, 1), f1)
        if f1 > best_f1:
            best_f1, best_epoch, stale = f1, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    took_part = torch.ones(1, dtype=torch.int64)
    if distributed:
        dist.all_reduce(took_part)
    if rank == 0:
        torch.save({"config": config.network_config(vocab_size, num_rules).to_dict(), "state_dict": best_state},
                   out_dir / WEIGHTS_FILE)
        result = TrainResult(best_epoch=best_epoch, best_val_macro_f1=best_f1, epochs_run=epoch,
                             seconds=time.perf_counter() - started, history=history, ranks=int(took_part.item()))
        (out_dir / HISTORY_FILE).write_text(result.model_dump_json(indent=2))
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _train_one(config: TrainConfig, out_dir: Path, train: _Encoded, val: _Encoded, vocab_size: int,
               fixed: torch.Tensor | None) -> None:
    if config.nproc == 1:
        _worker(0, 1, 0, config, out_dir, train, val, vocab_size, fixed)
    else:
        torch.multiprocessing.spawn(
            _worker, args=(config.nproc, _free_port(), config, out_dir, train, val, vocab_size, fixed),
            nprocs=config.nproc, join=True)


MEMBER_SEED_STEP = 1000  # member i of an ensemble trains from seed + i * MEMBER_SEED_STEP


def _member_config(config: TrainConfig, i: int) -> TrainConfig:
    return config.model_copy(update={"members": 1, "seed": config.seed + i * MEMBER_SEED_STEP,
                                     "word_vectors": config.member_word_vectors(i)})


def _member(i: int, config: TrainConfig, out_dir: Path, train: _Encoded, val: _Encoded, vocab_size: int,
            fixed: torch.Tensor | None) -> None:
    """Train ensemble member `i` in this process, on its share of the cores."""
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // config.members))
    _worker(0, 1, 0, _member_config(config, i), out_dir / f"member-{i}", train, val, vocab_size, fixed)


def _train_ensemble(config: TrainConfig, out_dir: Path, train: _Encoded, val: _Encoded, vocab_size: int,
                    fixed: torch.Tensor | None) -> None:
    """Train `config.members` networks, each from its own seed (side by side in processes of their own, or one
    after another when each is data-parallel), then save them as one ensemble (model.pt) with its validation
    macro-F1 and every member's history (history.json)."""
    started = time.perf_counter()
    for i in range(config.members):
        (out_dir / f"member-{i}").mkdir(exist_ok=True)
    if config.nproc == 1:  # one process per member, the cores shared among them: a small GRU keeps one core busy
        log.info("training %d ensemble members side by side", config.members)
        torch.multiprocessing.spawn(_member, args=(config, out_dir, train, val, vocab_size, fixed),
                                    nprocs=config.members, join=True)
    else:  # each member data-parallel over `nproc` processes, one member after another
        for i in range(config.members):
            _train_one(_member_config(config, i), out_dir / f"member-{i}", train, val, vocab_size, fixed)
    states: dict[str, torch.Tensor] = {}
    results = []
    for i in range(config.members):
        member_dir = out_dir / f"member-{i}"
        saved = torch.load(member_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        states.update({f"members.{i}.{k}": v for k, v in saved["state_dict"].items()})
        results.append(TrainResult.model_validate_json((member_dir / HISTORY_FILE).read_text()))
        for name in (WEIGHTS_FILE, HISTORY_FILE):
            (member_dir / name).unlink()
        member_dir.rmdir()
    model_config = config.network_config(vocab_size, 0 if train.rules is None else train.rules.shape[1])
    model = build_model(model_config)
    model.load_state_dict(states)
    f1 = _macro_f1(_confusion(model, val, np.arange(len(val.labels)), 512))
    log.info("ensemble of %d: val macro-F1 %.4f", config.members, f1)
    torch.save({"config": model_config.to_dict(), "state_dict": model.state_dict()}, out_dir / WEIGHTS_FILE)
    result = TrainResult(
        best_epoch=max(r.best_epoch for r in results), best_val_macro_f1=f1,
        epochs_run=max(r.epochs_run for r in results), seconds=time.perf_counter() - started,
        history=[{**h, "member": i} for i, r in enumerate(results) for h in r.history], ranks=results[0].ranks)
    (out_dir / HISTORY_FILE).write_text(result.model_dump_json(indent=2))


def train_model(train_texts: list[str], train_labels: np.ndarray, val_texts: list[str],
                val_labels: np.ndarray, *, config: TrainConfig, out_dir: Path,
                calibration_labels: np.ndarray | None = None, train_rules: np.ndarray | None = None,
                calibration_texts: list[str] | None = None) -> TrainResult:
    """Fit the tokenizer and the network, then the temperature; write tokenizer.json, model.pt and
    history.json. The temperature is fitted on `calibration_texts` with `calibration_labels` where
    given, else on the validation texts with `calibration_labels` (their clean labels) or
    `val_labels`. `train_rules` ([n, k] multi-hot: the rules each training text breaks, where the
    data says so) adds an auxiliary task with weight `config.rule_loss_weight`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    spec = config.normaliser_spec()
    prepare = normaliser.for_spec(spec)
    train_texts = [prepare(text) for text in train_texts]
    val_texts = [prepare(text) for text in val_texts]
    pretrained = config.word_vectors != "none"
    if pretrained:
        from specscan.model import word_vectors
    tokenizer = train_tokenizer(train_texts, vocab_size=config.vocab_size, max_len=config.max_len,
                                extra_words=word_vectors.english_words() if pretrained else ())
    fixed = torch.from_numpy(word_vectors.table_for(tokenizer, config.embed_dim)) if pretrained else None
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
    vocab_size = tokenizer.get_vocab_size()
    use_rules = train_rules is not None and config.rule_loss_weight > 0
    train = _encode(tokenizer, train_texts, train_labels, train_rules if use_rules else None)
    val = _encode(tokenizer, val_texts, val_labels)
    if config.members == 1:
        _train_one(config, out_dir, train, val, vocab_size, fixed)
    else:
        _train_ensemble(config, out_dir, train, val, vocab_size, fixed)
    saved = torch.load(out_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model = build_model(ModelConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    if calibration_texts is not None and calibration_labels is not None:
        held = _encode(tokenizer, [prepare(text) for text in calibration_texts], calibration_labels)
    else:
        held = _Encoded(val.ids, calibration_labels if calibration_labels is not None else val.labels)
    order = np.argsort([len(ids) for ids in held.ids], kind="stable")
    batches = [_batch(held, order[i : i + 512])[0] for i in range(0, len(order), 512)]
    temperature = fit_temperature(logits_of(model, batches), held.labels[order].astype(np.int64))
    torch.save({**saved, "normaliser": spec.model_dump(mode="json") if spec else None, "temperature": temperature},
               out_dir / WEIGHTS_FILE)
    result = TrainResult.model_validate(json.loads((out_dir / HISTORY_FILE).read_text()))
    result.temperature = temperature
    (out_dir / HISTORY_FILE).write_text(result.model_dump_json(indent=2))
    log.info("temperature %.3f (fitted on %d rows)", temperature, len(order))
    return result


def load_trained(out_dir: Path) -> Trained:
    """The trained network (eval mode) and what its artifact records, from a training output directory."""
    saved = torch.load(out_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    config = ModelConfig(**saved["config"])
    model = build_model(config)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    spec = saved.get("normaliser")
    return Trained(model, saved["config"], NormaliserSpec.model_validate(spec) if spec else None,
                   float(saved.get("temperature", 1.0)))
