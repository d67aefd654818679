"""Every network exports to ONNX with dynamic axes, matches PyTorch, and scores a text the same
whatever batch it is in."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from specscan.artifact.bundle import ONNX_FILE, TOKENIZER_FILE, write_manifest
from specscan.artifact.predictor import Predictor
from specscan.artifact.tokenizer import train_tokenizer
from specscan.model.export import check_parity, export_onnx
from specscan.model.network import ModelConfig, build_model

TEXTS = [
    "Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)",
    "M8 hex flange bolt, zinc-nickel coating with trivalent passivation, torque 25 Nm",
    "Tyre 205/55 R16 91V, homologation withdrawn",
    "Battery tray, PP-T20, cadmium 85 ppm in pigment",
    "lead",
    "Free-cutting steel shaft for machining, 0,30 % Pb, lead-in chamfer, cable lead length 300 mm",
]


@pytest.mark.parametrize("arch", ["cnn", "bigru", "transformer"])
def test_onnx_export_matches_pytorch_and_is_batch_independent(arch: str, tmp_path: Path) -> None:
    tokenizer = train_tokenizer(TEXTS * 5, vocab_size=200, max_len=64)
    model = build_model(ModelConfig(arch=arch, vocab_size=tokenizer.get_vocab_size(), embed_dim=16,
                                    channels=16, hidden=16, layers=2, heads=2, max_len=64)).eval()
    tokenizer.save(str(tmp_path / TOKENIZER_FILE))
    export_onnx(model, tmp_path / ONNX_FILE)
    write_manifest(tmp_path, max_len=64, network=model.config.to_dict())

    report = check_parity(model, tmp_path, TEXTS, tolerance=1e-5)
    predictor = Predictor(tmp_path)
    together = predictor.predict_proba(TEXTS)
    one_by_one = np.concatenate([predictor.predict_proba([t]) for t in TEXTS])

    assert report.max_abs_diff <= 1e-5 and report.label_agreement == 1.0
    np.testing.assert_allclose(together, one_by_one, atol=1e-6, rtol=0)
    shutil.rmtree(tmp_path)


def test_a_mixed_ensemble_exports_to_one_graph_with_the_same_probabilities(tmp_path: Path) -> None:
    import onnxruntime as ort

    from specscan.model.network import WithProbabilities

    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=60, hidden=8, embed_dim=16, members=2, word_vectors="mixed")).eval()
    model.members[0].embedding.fixed.copy_(torch.randn(60, 16))
    export_onnx(model, tmp_path / "model.onnx", temperature=0.8)
    ids = torch.randint(1, 60, (5, 17))
    ids[2, 9:] = 0
    (onnx,) = ort.InferenceSession(str(tmp_path / "model.onnx")).run(None, {"input_ids": ids.numpy()})
    with torch.no_grad():
        expected = WithProbabilities(model, 0.8)(ids).numpy()
    assert abs(onnx - expected).max() < 1e-5


def test_the_any_position_bigru_with_a_rule_head_exports_to_the_same_probabilities(tmp_path: Path) -> None:
    import onnxruntime as ort

    from specscan.model.network import WithProbabilities

    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=60, hidden=8, embed_dim=16, pooling="any", num_rules=7)).eval()
    export_onnx(model, tmp_path / "model.onnx", temperature=1.3)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    ids = torch.randint(1, 60, (5, 17))
    ids[2, 9:] = 0
    (onnx,) = session.run(None, {"input_ids": ids.numpy()})
    with torch.no_grad():
        expected = WithProbabilities(model, 1.3)(ids).numpy()
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    assert abs(onnx - expected).max() < 1e-5
