"""Specifications for specscan.artifact.bundle and .predictor, on a tiny real ONNX bundle."""

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from specscan import LABELS
from specscan.artifact.bundle import (
    MANIFEST_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    read_manifest,
    sha256_file,
    write_manifest,
)
from specscan.artifact.predictor import PIPELINE_ABOVE, SUB_BATCH, Predictor
from specscan.artifact.tokenizer import train_tokenizer
from specscan.batch.local import BatchJob, label_names, score_local
from specscan.errors import ModelLoadError, ParityError
from specscan.model.export import check_parity, export_onnx
from specscan.model.network import ModelConfig, build_model
from specscan.scoring.served_model import ServedModel

MAX_LEN = 32
TEXTS = [
    f"Lead content {i % 10}.{(3 * i) % 10}5 % in brake pad {i} exceeds the R10.2 limit"
    for i in range(25)
] + [f"Cadmium below 0,0{i % 10} % by weight in tyre compound {i}" for i in range(25)]


@dataclass(frozen=True)
class Bundle:
    path: Path
    model: nn.Module
    config: ModelConfig


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """A bundle written the way the pipeline writes one, with an untrained tiny CNN."""
    path = tmp_path_factory.mktemp("bundle")
    tokenizer = train_tokenizer(TEXTS, vocab_size=200, max_len=MAX_LEN)
    tokenizer.save(str(path / TOKENIZER_FILE))
    torch.manual_seed(0)
    config = ModelConfig(arch="cnn", vocab_size=tokenizer.get_vocab_size(), embed_dim=16,
                         channels=16, max_len=MAX_LEN, dropout=0.0)
    model = build_model(config).eval()
    export_onnx(model, path / ONNX_FILE)
    write_manifest(path, max_len=MAX_LEN, network=config.to_dict(), lineage={"run_id": "r1"})
    return Bundle(path, model, config)


@pytest.fixture()
def copy(bundle: Bundle, tmp_path: Path) -> Path:
    """A private copy of the bundle that a test may damage."""
    return Path(shutil.copytree(bundle.path, tmp_path / "bundle"))


def flip_last_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[-1] ^= 0x01
    file.write_bytes(bytes(data))


def edit_manifest(bundle_dir: Path, **changes: object) -> None:
    """Change bundle.json's fields (None: remove the field); the manifest is not among the hashed files."""
    path = bundle_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    for name, value in changes.items():
        if value is None:
            manifest.pop(name, None)
        else:
            manifest[name] = value
    path.write_text(json.dumps(manifest))


class Fixed(Predictor):
    """The bundle's predictor, answering fixed probabilities (one per text, in order)."""

    probabilities = np.array([0.0, 0.4999, 0.5, 0.6, 0.93], dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.probabilities[: len(texts)]


# bundle


def test_the_manifest_describes_the_bundle(bundle: Bundle) -> None:
    manifest = read_manifest(bundle.path)
    assert manifest.labels == LABELS
    assert manifest.max_len == MAX_LEN
    assert manifest.network == bundle.config.to_dict()
    assert manifest.lineage == {"run_id": "r1"}
    assert manifest.threshold == 0.5
    assert manifest.sha256 == {name: sha256_file(bundle.path / name) for name in (ONNX_FILE, TOKENIZER_FILE)}


@pytest.mark.parametrize("name", [ONNX_FILE, TOKENIZER_FILE])
def test_a_file_altered_by_one_byte_is_refused_and_named(copy: Path, name: str) -> None:
    flip_last_byte(copy / name)
    with pytest.raises(ModelLoadError, match=name):
        read_manifest(copy)
    with pytest.raises(ModelLoadError, match=name):
        Predictor(copy)


@pytest.mark.parametrize("name", [ONNX_FILE, TOKENIZER_FILE])
def test_a_missing_file_is_refused_and_named(copy: Path, name: str) -> None:
    (copy / name).unlink()
    with pytest.raises(ModelLoadError, match=name):
        read_manifest(copy)


def test_a_manifest_written_before_the_threshold_was_recorded_means_one_half(copy: Path) -> None:
    edit_manifest(copy, threshold=None)

    assert read_manifest(copy).threshold == 0.5
    assert [p.label for p in Fixed(copy).predict(["a"] * 5)] == [
        "compliant", "compliant", "non_compliant", "non_compliant", "non_compliant"]


def test_write_manifest_records_the_threshold(copy: Path) -> None:
    network = read_manifest(copy).network
    write_manifest(copy, max_len=MAX_LEN, network=network, threshold=0.9)

    assert json.loads((copy / MANIFEST_FILE).read_text())["threshold"] == 0.9
    assert read_manifest(copy).threshold == 0.9


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, "high"])
def test_a_threshold_outside_zero_to_one_is_refused_and_named(copy: Path, threshold: object) -> None:
    edit_manifest(copy, threshold=threshold)

    with pytest.raises(ModelLoadError, match="invalid manifest at threshold"):
        read_manifest(copy)


def test_verify_false_skips_the_checksums(copy: Path) -> None:
    flip_last_byte(copy / TOKENIZER_FILE)
    assert read_manifest(copy, verify=False).max_len == MAX_LEN


def test_a_directory_without_a_manifest_is_not_a_bundle(copy: Path) -> None:
    (copy / MANIFEST_FILE).unlink()
    with pytest.raises(ModelLoadError, match=MANIFEST_FILE):
        read_manifest(copy)


# predictor


def test_predict_proba_returns_one_probability_per_text(bundle: Bundle) -> None:
    probabilities = Predictor(bundle.path).predict_proba(TEXTS[:7])
    assert probabilities.shape == (7,)
    assert np.issubdtype(probabilities.dtype, np.floating)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_predict_proba_of_no_texts_is_empty(bundle: Bundle) -> None:
    assert Predictor(bundle.path).predict_proba([]).shape == (0,)
    assert Predictor(bundle.path).predict([]) == []


@pytest.mark.parametrize("copies", [1, 4])  # 51 texts: groups encoded on the other thread; 204: more of them
def test_a_texts_probability_does_not_depend_on_the_texts_scored_with_it(bundle: Bundle, copies: int) -> None:
    predictor = Predictor(bundle.path)
    texts = ["lead", *TEXTS] * copies
    assert len(texts) > PIPELINE_ABOVE
    one_by_one = np.concatenate([predictor.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(predictor.predict_proba(texts), one_by_one, atol=1e-6)


def test_a_few_groups_are_encoded_at_once_with_the_same_scores(bundle: Bundle) -> None:
    predictor = Predictor(bundle.path)
    texts = [text * (1 + i % 3) for i, text in enumerate(TEXTS)][:SUB_BATCH + 5]  # two groups, one encoding
    assert SUB_BATCH < len(texts) <= PIPELINE_ABOVE
    one_by_one = np.concatenate([predictor.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(predictor.predict_proba(texts), one_by_one, atol=1e-6)


def test_rows_of_a_batch_run_in_length_groups_with_the_same_scores_as_one_by_one(bundle: Bundle) -> None:
    predictor = Predictor(bundle.path)
    texts = [text * (1 + i % 4) for i, text in enumerate(TEXTS * 10)][:3 * SUB_BATCH + 5]  # varied lengths
    ids = predictor.encode(texts)

    grouped = predictor.predict_ids(ids)

    one_by_one = np.concatenate([predictor.predict_ids(predictor.encode([text])) for text in texts])
    np.testing.assert_allclose(grouped, one_by_one, atol=1e-6)


def test_predict_labels_non_compliant_exactly_when_probability_is_at_least_one_half(bundle: Bundle) -> None:
    predictions = Fixed(bundle.path).predict(["a", "b", "c", "d", "e"])

    assert [p.label for p in predictions] == ["compliant", "compliant", "non_compliant", "non_compliant",
                                              "non_compliant"]
    assert [p.probability for p in predictions] == pytest.approx([0.0, 0.4999, 0.5, 0.6, 0.93])


def test_every_labelling_path_reads_the_threshold_from_the_bundle(copy: Path, tmp_path: Path) -> None:
    edit_manifest(copy, threshold=0.9)  # p = 0.6 is compliant, 0.93 non_compliant
    expected = ["compliant", "compliant", "compliant", "compliant", "non_compliant"]
    predictor = Fixed(copy)
    (tmp_path / "in.csv").write_text("id,text\n" + "".join(f"{i},text {i}\n" for i in range(5)))

    score_local(BatchJob(input=tmp_path / "in.csv", output=tmp_path / "out.parquet", bundle_dir=copy,
                         model_name="m", max_text_chars=100), predictor=predictor, progress=False)

    assert [p.label for p in predictor.predict(["a"] * 5)] == expected  # the CLI, evaluation
    assert ServedModel("m", 1, predictor).labels_for(Fixed.probabilities) == expected  # the service
    assert label_names(Fixed.probabilities, predictor.manifest).tolist() == expected  # the batch engines
    assert pq.read_table(tmp_path / "out.parquet").column("label").to_pylist() == expected


def test_at_a_threshold_float32_cannot_hold_the_paths_still_agree(copy: Path) -> None:
    edit_manifest(copy, threshold=0.9)
    predictor = Predictor(copy)
    at = np.array([0.9], dtype=np.float32)  # 0.899999976: below the threshold 0.9

    assert ServedModel("m", 1, predictor).labels_for(at) == ["compliant"]
    assert label_names(at, predictor.manifest).tolist() == ["compliant"]


def test_predict_agrees_with_predict_proba(bundle: Bundle) -> None:
    predictor = Predictor(bundle.path)
    probabilities = predictor.predict_proba(TEXTS)
    predictions = predictor.predict(TEXTS)
    assert [p.probability for p in predictions] == pytest.approx(probabilities.tolist())
    assert [p.label for p in predictions] == [LABELS[int(p >= 0.5)] for p in probabilities]


# parity (specscan.model.export)


def test_parity_holds_between_the_model_and_its_export(bundle: Bundle) -> None:
    report = check_parity(bundle.model, bundle.path, TEXTS, batch_size=16)
    assert report.ok
    assert report.n_texts == len(TEXTS)
    assert report.max_abs_diff <= 1e-4
    assert report.label_agreement == 1.0


def test_parity_fails_against_a_different_model(bundle: Bundle) -> None:
    torch.manual_seed(1)
    other = build_model(bundle.config).eval()
    with pytest.raises(ParityError, match="differs from PyTorch"):
        check_parity(other, bundle.path, TEXTS, tolerance=1e-6)


def test_a_bundle_names_its_normaliser_and_every_text_goes_through_it(bundle: Bundle, copy: Path) -> None:
    from specscan.artifact.normaliser import NormaliserSpec, normalise

    spec = NormaliserSpec(version="2", edges_ppm=(100, 1000))
    write_manifest(copy, max_len=MAX_LEN, network=bundle.config.to_dict(), normaliser=spec)
    predictor = Predictor(copy)
    assert predictor.manifest.normaliser == spec
    text = "Lead content 0,35 wt.-% in brake pad 3"
    np.testing.assert_array_equal(predictor.encode([text]), Predictor(bundle.path).encode([normalise(text, spec)]))
    # the same amount written two ways is the same input to the model
    np.testing.assert_array_equal(predictor.encode(["Pb 3500 mg/kg"]), predictor.encode(["Pb 0.35 %"]))


def test_a_bundle_without_a_normaliser_scores_text_as_written(bundle: Bundle) -> None:
    predictor = Predictor(bundle.path)
    assert predictor.manifest.normaliser is None
    assert not np.array_equal(predictor.encode(["Pb 3500 mg/kg"]), predictor.encode(["Pb 0.35 %"]))


def test_a_normaliser_this_code_does_not_know_is_refused_at_load(bundle: Bundle, copy: Path) -> None:
    edit_manifest(copy, normaliser={"version": "99"})
    with pytest.raises(ModelLoadError, match="normaliser"):
        Predictor(copy)


def test_the_temperature_is_inside_the_graph_and_recorded_in_the_manifest(bundle: Bundle, tmp_path: Path) -> None:
    shutil.copy(bundle.path / TOKENIZER_FILE, tmp_path / TOKENIZER_FILE)
    export_onnx(bundle.model, tmp_path / ONNX_FILE, temperature=4.0)
    write_manifest(tmp_path, max_len=MAX_LEN, network=bundle.config.to_dict(), temperature=4.0)
    hot, cold = Predictor(tmp_path), Predictor(bundle.path)
    ids = cold.encode(TEXTS[:8])
    with torch.no_grad():
        logits = bundle.model(torch.from_numpy(ids))
    np.testing.assert_allclose(hot.predict_ids(ids), torch.softmax(logits / 4.0, dim=-1)[:, 1].numpy(), atol=1e-5)
    assert hot.manifest.temperature == 4.0
    assert check_parity(bundle.model, tmp_path, TEXTS[:20]).max_abs_diff < 1e-5
