"""Specifications for specscan.evaluation.model_card."""

import numpy as np
import pandas as pd

from specscan.evaluation.metrics import EvaluationReport, evaluate_frame
from specscan.evaluation.model_card import DEFAULT_INTENDED_USE, render_model_card

LINEAGE = {
    "data_digest": "sha256:abc123",
    "train_rows": "8000",
    "rules_revision": "2024-03",
    "git_commit": "deadbeef",
}
PARAMS = {"epochs": 3, "lr": 0.001}


def report(dataset: str, probs: list[float]) -> EvaluationReport:
    f = pd.DataFrame(
        {
            "label": [0, 0, 1, 1],
            "rule": ["lead", "lead", "R10", "R10"],
            "category": ["brake", "tyre", "brake", "tyre"],
        }
    )
    return evaluate_frame(f, np.array(probs), dataset=dataset)


MODEL = [report("test", [0.1, 0.2, 0.9, 0.8]), report("heldout_families", [0.1, 0.6, 0.9, 0.4])]
BASELINE = [report("test", [0.3, 0.6, 0.7, 0.4])]


def card(**overrides: object) -> str:
    kwargs: dict = dict(
        model_name="specscan-clf",
        version="7",
        reports=MODEL,
        baseline_reports=None,
        lineage=LINEAGE,
        params=PARAMS,
    )
    return render_model_card(**(kwargs | overrides))


def test_card_has_the_model_card_sections_in_order() -> None:
    text = card()
    sections = [
        "# Model card: specscan-clf",
        "## Model details",
        "## Intended use",
        "## Training data",
        "## Evaluation",
        "## Caveats and limitations",
        "## Lineage",
    ]
    positions = [text.index(s) for s in sections]
    assert positions == sorted(positions)


def test_card_names_every_dataset_and_formats_metrics() -> None:
    text = card()
    assert "### Dataset `test`" in text and "### Dataset `heldout_families`" in text
    assert "| macro F1 | 1.000 |" in text
    assert f"| accuracy | {MODEL[1].overall.accuracy:.3f} |" in text
    assert "#### By rule" in text and "#### By category" in text
    assert "| lead | 2 | 0 |" in text
    assert "baseline" not in text


def test_card_compares_with_the_baseline_when_given() -> None:
    text = card(baseline_reports=BASELINE)
    base, model = BASELINE[0].overall, MODEL[0].overall
    delta = model.accuracy - base.accuracy
    assert f"| accuracy | 1.000 | {base.accuracy:.3f} | {delta:+.3f} |" in text
    assert "| n (non_compliant) | 4 (2) | 4 (2) |  |" in text
    assert "baseline F1 (non_compliant)" in text
    # heldout_families has no baseline report: its table has no baseline column.
    heldout = text[text.index("### Dataset `heldout_families`") :]
    assert "| metric | model |\n" in heldout


def test_card_reports_training_data_lineage_and_default_intended_use() -> None:
    text = card(version=None)
    training = text[text.index("## Training data") : text.index("## Evaluation")]
    assert "sha256:abc123" in training and "8000" in training and "2024-03" in training
    assert "deadbeef" not in training
    assert "| git_commit | deadbeef |" in text
    assert DEFAULT_INTENDED_USE in text
    assert "**Version:** unregistered" in text
    assert "English only" in text
    assert "Where the training data came from was not recorded: unknown." in text  # this lineage names neither
    assert "The training labels' noise is unknown" in text


def training_data(text: str) -> str:
    return text[text.index("## Training data"):text.index("## Evaluation")]


def test_the_card_states_the_label_noise_measured_and_never_a_figure_it_did_not_measure() -> None:
    clean = training_data(card(lineage={**LINEAGE, "label_noise": "0.0000"}))
    noisy = training_data(card(lineage={**LINEAGE, "label_noise": "0.0193"}))
    unknown = training_data(card(lineage={**LINEAGE, "label_noise": "unknown"}))

    assert "None of the training labels differ from their clean label (0.0%, measured" in clean
    assert "2 %" not in clean and "2.0%" not in clean and "noisy" not in clean
    assert "1.9% of the training labels differ from their clean label (measured on the training split)" in noisy
    [said] = [line for line in unknown.splitlines() if "training labels" in line]
    assert "noise is unknown: the data has no clean label" in said and "%" not in said


def test_the_card_says_where_the_training_data_came_from() -> None:
    generated = "generated (specscan data generate, generator 3, seed 7, revision R1, 300 rows, noise asked 0.0)"
    by_generator = training_data(card(lineage={**LINEAGE, "data_origin": generated}))
    by_people = training_data(card(lineage={**LINEAGE, "data_origin": "web app export"}))

    assert f"Trained on generated (synthetic) descriptions, not on real technician text: {generated}." \
        in by_generator
    assert "Trained on the web app's labelled export" in by_people and "synthetic" not in by_people
    training = training_data(card(lineage={**LINEAGE, "data_origin": "web app export", "label_noise": "unknown"}))
    assert "| data_origin | web app export |" in training and "| label_noise | unknown |" in training


def test_card_is_deterministic_and_uses_custom_intended_use() -> None:
    shuffled = dict(reversed(list(LINEAGE.items())))
    assert card() == card(lineage=shuffled, params=dict(reversed(list(PARAMS.items()))))
    assert "Internal demo only." in card(intended_use="Internal demo only.")


def test_table_cells_escape_pipes() -> None:
    text = card(lineage={"note": "a|b"})
    assert "| note | a\\|b |" in text
