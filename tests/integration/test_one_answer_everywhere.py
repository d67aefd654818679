"""One text, one answer: the scoring service, batch (local and Spark), `predict` and the bundle give
the same label and probability (within 1e-6), for texts that lean on the normaliser and for odd
ones; what the text rule refuses is refused by every path with a clear per-item error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from scoring_support import Keys, Server, copy_home, create_keys, start_server
from typer.testing import CliRunner

from specscan.artifact.predictor import Predictor
from specscan.batch.local import BatchJob, score_local
from specscan.cli.main import app
from specscan.registry import Registry
from specscan.settings import Settings
from specscan.texts import character_problem

pytestmark = pytest.mark.slow
MODEL = "models:/compliance-classifier@champion"
SCORED = [  # every one of these is scored by every path
    "Cable sheath, PVC, Pb 0,40 wt.-%",
    "Cable sheath, PVC, Pb 4 000 mg/kg",
    "Cable sheath, PVC, Pb 4 g/kg",
    "Brass contacts CuZn39Pb3, Pb max. 3.9 %",
    "PB_PPM=850; CD_MGKG=<5; HG=ND",
    "Lead 0.05–0.08 %, between 200 and 400 ppm Cd",
    "0000000",
    "9" * 900,
    "%%%% ≤≥ ~",
    "Bremsbelag тормоз 刹车片 Pb 0.2 %",
    "😀 brake pad, E-mark 🚫",
    "a\tb\nc 0.3 %",
    "Ｐｂ ０.３ ％ in PVC",
]
REFUSED = ["", "   ", "x" * 1001, "lead\x00 0.3 %", "lead\x1b 0.3 %"]
NOT_UNICODE = "\ud800 lead"  # a lone surrogate: JSON can carry it, a file cannot


@pytest.fixture(scope="module")
def home(registered_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(registered_home, tmp_path_factory.mktemp("everywhere") / "home")


@pytest.fixture(scope="module")
def keys(home: Path) -> Keys:
    return create_keys(home)


@pytest.fixture(scope="module")
def server(home: Path, keys: Keys) -> Iterator[Server]:
    running = start_server(home)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bundle(home: Path) -> Path:
    return Registry(Settings(home=home)).bundle_path(MODEL)


def test_the_champion_reads_texts_through_its_normaliser(bundle: Path) -> None:
    predictor = Predictor(bundle)
    assert predictor.manifest.normaliser is not None and predictor.manifest.normaliser.version == "2"
    same = predictor.predict_proba(SCORED[:3])
    assert np.ptp(same) == 0.0  # 0,40 wt.-% = 4 000 mg/kg = 4 g/kg


def test_every_path_gives_the_same_label_and_probability(home: Path, server: Server, keys: Keys, bundle: Path,
                                                         tmp_path: Path) -> None:
    direct = Predictor(bundle).predict(SCORED)

    response = httpx.post(f"{server.url}/score", json={"data": SCORED},
                          headers={"Authorization": f"Bearer {keys.scorer}"}, timeout=30)
    assert response.status_code == 200, response.text
    served = response.json()["results"]

    result = CliRunner().invoke(app, ["predict", "--json", "--model", MODEL, *SCORED],
                                env={"SPECSCAN_HOME": str(home)})
    assert result.exit_code == 0, result.output
    predicted = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]

    source, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    pd.DataFrame({"id": range(len(SCORED)), "text": SCORED}).to_csv(source, index=False)
    score_local(BatchJob(input=source, output=out, bundle_dir=bundle, model_name="m", max_text_chars=1000),
                progress=False)
    batch = pd.read_parquet(out).set_index("id")  # ids come back as text

    for i, expected in enumerate(direct):
        for label, probability in ((served[i]["label"], served[i]["probability"]),
                                   (predicted[i]["label"], predicted[i]["probability"]),
                                   (batch.at[str(i), "label"], batch.at[str(i), "probability"])):
            assert label == expected.label, SCORED[i]
            assert abs(probability - expected.probability) <= 1e-6, SCORED[i]


@pytest.mark.parametrize("text", REFUSED)
def test_what_the_text_rule_refuses_every_path_refuses_per_item(home: Path, server: Server, keys: Keys,
                                                                bundle: Path, tmp_path: Path, text: str) -> None:
    response = httpx.post(f"{server.url}/score", json={"data": ["fine text", text]},
                          headers={"Authorization": f"Bearer {keys.scorer}"}, timeout=30)
    assert response.status_code == 422 and "item 1" in response.json()["error"], response.text

    result = CliRunner().invoke(app, ["predict", "--model", MODEL, "fine text", text], env={"SPECSCAN_HOME": str(home)})
    assert result.exit_code == 1 and "description 2" in result.output and "Traceback" not in result.output

    if character_problem(text) is not None:
        return  # Parquet cannot hold it; bytes that are not UTF-8 in a CSV: the next test
    source, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pd.DataFrame({"id": ["a", "b"], "text": ["fine text", text]}).to_parquet(source)
    outcome = score_local(BatchJob(input=source, output=out, bundle_dir=bundle, model_name="m", max_text_chars=1000),
                          progress=False)
    assert (outcome.rows_scored, outcome.rows_rejected) == (1, 1)
    assert outcome.errors_file is not None and "b" in outcome.errors_file.read_text()


def test_a_lone_surrogate_is_refused_by_the_service_and_the_cli(home: Path, server: Server, keys: Keys) -> None:
    body = json.dumps({"data": ["fine text", NOT_UNICODE]})  # ASCII escapes: it travels as \\ud800
    response = httpx.post(f"{server.url}/score", content=body, timeout=30,
                          headers={"Authorization": f"Bearer {keys.scorer}", "Content-Type": "application/json"})
    assert response.status_code == 422 and "item 1 is not valid Unicode" in response.json()["error"], response.text

    result = CliRunner().invoke(app, ["predict", "--model", MODEL, "fine text", NOT_UNICODE],
                                env={"SPECSCAN_HOME": str(home)})
    assert result.exit_code == 1 and "description 2" in result.output and "Traceback" not in result.output


def test_batch_reads_bytes_that_are_not_utf8_as_replacement_characters(bundle: Path, tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    source.write_bytes(b"id,text\na,fine text\nb,\xed\xa0\x80 lead 0.3 % in PVC\nc,Pb \xff\xfe 0.3 %\n")

    outcome = score_local(BatchJob(input=source, output=out, bundle_dir=bundle, model_name="m", max_text_chars=1000),
                          progress=False)

    assert (outcome.rows_scored, outcome.rows_rejected) == (3, 0)
    replaced = ["fine text", "\ufffd\ufffd\ufffd lead 0.3 % in PVC", "Pb \ufffd\ufffd 0.3 %"]
    expected = Predictor(bundle).predict_proba(replaced)
    np.testing.assert_allclose(pd.read_parquet(out)["probability"].to_numpy(), expected, rtol=0, atol=1e-6)
