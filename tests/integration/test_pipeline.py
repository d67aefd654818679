"""The whole pipeline against a real MLflow SQLite store in a temporary SPECSCAN_HOME."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from specscan import LABELS
from specscan.artifact.predictor import Predictor
from specscan.cli.main import app
from specscan.registry import Registry
from specscan.settings import Settings

pytestmark = pytest.mark.slow
runner = CliRunner()


def specscan(home: Path, *args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], env={"SPECSCAN_HOME": str(home)})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, small_csv: Path, tiny_config: Path) -> Path:
    """A SPECSCAN_HOME in which the pipeline ran once with --bootstrap."""
    home = tmp_path_factory.mktemp("home")
    result = specscan(home, "pipeline", "run", "--data", small_csv, "--config", tiny_config, "--bootstrap")
    assert result.exit_code == 0, result.output
    return home


def registry(home: Path) -> Registry:
    return Registry(Settings(home=home))


def champion(home: Path) -> Predictor:
    """The registered champion's bundle, loaded in-process: the numbers every other path must give."""
    return Predictor(registry(home).bundle_path("models:/compliance-classifier@champion"))


def test_first_run_registers_version_1_as_challenger_and_bootstrap_champion(home: Path) -> None:
    versions = registry(home).versions()

    assert [v.version for v in versions] == [1]
    assert sorted(versions[0].aliases) == ["challenger", "champion"]


def test_every_version_carries_its_lineage(home: Path, small_csv: Path) -> None:
    tags = registry(home).version(1).tags

    for key in ("git_commit", "git_dirty", "data_digest", "code_digest", "rows_train", "rows_test",
                "rules_revision", "pipeline_run_id", "specscan_version", "sha256.onnx",
                "sha256.tokenizer", "champion.promoted_by", "champion.promoted_reason", "label_noise",
                "data_origin"):
        assert tags.get(key), f"version 1 lacks tag {key}"
    assert tags["rules_revision"] == "R1"
    assert int(tags["rows_train"]) > 1000
    assert tags["git_dirty"] in ("true", "false", "unknown")
    # small_csv: generated with 2 % noise by generate() itself, so with no generator note beside it
    assert 0.005 < float(tags["label_noise"]) < 0.04
    assert tags["data_origin"] == "unknown (no generator note and not the web app's export)"


def test_model_card_is_the_version_description_and_states_the_measured_label_noise(home: Path) -> None:
    reg = registry(home)
    description = reg.client.get_model_version(reg.name, "1").description
    measured = float(reg.version(1).tags["label_noise"])

    assert "Intended use" in description
    assert "heldout_families" in description
    assert f"{measured:.1%} of the training labels differ from their clean label" in description


def test_the_logged_model_loads_as_an_mlflow_pyfunc(home: Path) -> None:
    import mlflow

    registry(home)  # points MLflow at this home
    model = mlflow.pyfunc.load_model("models:/compliance-classifier@champion")
    texts = ["Brake lining, chrysotile reinforced", "M8 bolt, zinc flake"]
    out = model.predict(pd.DataFrame({"text": texts}))

    assert list(out.columns) == ["label", "probability"]
    expected = champion(home).predict(texts)
    assert out["label"].tolist() == [p.label for p in expected]
    assert out["probability"].tolist() == pytest.approx([p.probability for p in expected], abs=1e-6)


def test_scoring_works_with_onnxruntime_alone_where_torch_cannot_be_imported(home: Path) -> None:
    bundle = registry(home).bundle_path("models:/compliance-classifier@champion")
    script = f"""
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'mlflow', 'sklearn'):
            raise ImportError(f'{{name}} is blocked in this test')
sys.meta_path.insert(0, NoTorch())
from specscan.artifact.predictor import Predictor
p = Predictor(__import__('pathlib').Path({str(bundle)!r}))
print([x.label for x in p.predict(['Cable sheathing, PVC with lead stabiliser 0.4 wt.% Pb'])])
assert 'torch' not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    expected = champion(home).predict(["Cable sheathing, PVC with lead stabiliser 0.4 wt.% Pb"])
    assert done.stdout.strip() == str([p.label for p in expected])


def test_unchanged_rerun_skips_training_and_registers_nothing(
        home: Path, small_csv: Path, tiny_config: Path) -> None:
    result = specscan(home, "pipeline", "run", "--data", small_csv, "--config", tiny_config)

    assert result.exit_code == 0, result.output
    assert "train: unchanged inputs, config and code" in result.output
    assert "already version 1" in result.output
    assert [v.version for v in registry(home).versions()] == [1]


def test_evaluate_prints_json_metrics_for_any_labelled_csv(home: Path, tmp_path: Path, small_csv: Path) -> None:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    data = tmp_path / "hand.csv"
    rows = pd.read_csv(small_csv).iloc[:300]
    hand = pd.DataFrame({"text": ["Brake lining, chrysotile reinforced", "Door handle, PP, lead free",
                                  "Headlamp, approval pending", "Seat cover fabric, PET"],
                         "label": ["non_compliant", "compliant", "non_compliant", "compliant"]})
    frame = pd.concat([hand, pd.DataFrame({"text": rows["text"], "label": rows["label_clean"]})], ignore_index=True)
    frame.to_csv(data, index=False)

    result = specscan(home, "evaluate", "--model", "models:/compliance-classifier/1",
                      "--data", data, "--json")

    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    predicted = champion(home).predict(frame["text"].tolist())  # the champion is version 1
    truth = (frame["label"] == "non_compliant").astype(int).tolist()
    chosen = [int(p.label == "non_compliant") for p in predicted]
    probabilities = [p.probability for p in predicted]
    assert metrics["n"] == len(frame) == 304
    printed = {key: metrics[key] for key in ("accuracy", "macro_f1", "f1_non_compliant", "roc_auc")}
    assert printed == pytest.approx({
        "accuracy": accuracy_score(truth, chosen), "macro_f1": f1_score(truth, chosen, average="macro"),
        "f1_non_compliant": f1_score(truth, chosen), "roc_auc": roc_auc_score(truth, probabilities)}, abs=1e-6)


def test_predict_prints_label_and_probability(home: Path) -> None:
    result = specscan(home, "predict", "Tyre 205/55 R16, homologation withdrawn", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    [expected] = champion(home).predict(["Tyre 205/55 R16, homologation withdrawn"])
    assert answer["label"] == expected.label in LABELS
    assert answer["probability"] == pytest.approx(expected.probability, abs=1e-6)


def test_a_candidate_below_the_thresholds_is_not_registered_and_exits_3(
        home: Path, small_csv: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
                      "train: {arch: cnn, vocab_size: 1500, embed_dim: 32, channels: 48, max_epochs: 1,"
                      " seed: 99}\ngate: {min_macro_f1: {test: 0.9999}}\nparity_texts: 200\n")

    result = specscan(home, "pipeline", "run", "--data", small_csv, "--config", strict)

    assert result.exit_code == 3, result.output
    assert "NOT PROMOTED" in result.output
    assert "test: macro-F1" in result.output
    assert [v.version for v in registry(home).versions()] == [1]


def test_promote_records_who_and_why_and_rollback_restores_the_previous_champion(
        home: Path, small_csv: Path, tiny_config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(tiny_config.read_text().replace("patience: 2", "patience: 2\n  seed: 5"))
    assert specscan(home, "pipeline", "run", "--data", small_csv, "--config", other).exit_code == 0
    reg = registry(home)
    assert reg.alias_version("challenger") == 2
    assert reg.alias_version("champion") == 1

    promoted = specscan(home, "registry", "promote", "--version", "2", "--alias", "champion",
                        "--reason", "better on held-out phrasing", "--by", "alice")
    assert promoted.exit_code == 0, promoted.output
    tags = reg.version(2).tags
    assert (tags["champion.promoted_by"], tags["champion.promoted_reason"]) == (
        "alice", "better on held-out phrasing")
    assert reg.alias_version("champion") == 2

    rolled = specscan(home, "registry", "rollback", "--alias", "champion", "--reason", "canary failed")
    assert rolled.exit_code == 0, rolled.output
    assert reg.alias_version("champion") == 1
    listing = specscan(home, "registry", "list")
    assert "@champion" in listing.output and "@challenger" in listing.output


def test_invalid_data_stops_the_pipeline_before_training_with_exit_4(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"text,label\nBrake pad,compliant\nHinge pin,maybe\n")

    result = specscan(tmp_path / "home", "pipeline", "run", "--data", bad)

    assert result.exit_code == 4
    assert "bad.csv" in result.output and "row 2" in result.output and "maybe" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_tracking_server_fails_fast_with_exit_5(small_csv: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = runner.invoke(app, ["pipeline", "run", "--data", str(small_csv)],
                           env={"SPECSCAN_HOME": str(tmp_path), "SPECSCAN_TRACKING_URI": "http://127.0.0.1:9"})

    assert result.exit_code == 5, result.output
    assert "http://127.0.0.1:9" in result.output
    assert time.monotonic() - started < 60
    assert not (tmp_path / "steps").exists()


def test_each_step_is_a_nested_run_in_the_pipeline_experiment(home: Path) -> None:
    reg = registry(home)
    experiment = reg.experiment_id()
    parents = reg.client.search_runs([experiment], "tags.pipeline = 'specscan'", order_by=["start_time ASC"])
    first = parents[0].info.run_id
    children = reg.client.search_runs([experiment], f"tags.mlflow.parentRunId = '{first}'")

    steps = {run.data.tags["mlflow.runName"] for run in children}
    assert steps == {"validate", "prepare", "train", "export", "evaluate", "register"}
    assert parents[0].data.tags["data_digest"] and parents[0].data.tags["git_commit"]
    register = next(r for r in children if r.data.tags["mlflow.runName"] == "register")
    artifacts = {a.path for a in reg.client.list_artifacts(register.info.run_id)}
    assert {"model_card.md", "gate.json", "plots"} <= artifacts


def test_a_missing_data_file_is_named_with_exit_4(tmp_path: Path) -> None:
    result = specscan(tmp_path / "home", "pipeline", "run", "--data", tmp_path / "nope.csv")

    assert result.exit_code == 4
    assert "nope.csv: no such file" in result.output


def test_model_uris_that_resolve_to_nothing_are_named_in_the_error(home: Path) -> None:
    for uri, message in (("models:/compliance-classifier@nobody", "alias 'nobody' is not set"),
                         ("models:/compliance-classifier/99", "has no version 99"),
                         ("champion", "is not a model URI")):
        result = specscan(home, "predict", "Brake pad", "--model", uri)
        assert result.exit_code == 1, result.output
        assert message in result.output
