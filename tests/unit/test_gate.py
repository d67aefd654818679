"""Specifications for specscan.pipeline.gate: thresholds, and no regression against the champion."""

import pandas as pd

from specscan.evaluation.metrics import EvaluationReport, evaluate_frame
from specscan.pipeline.config import GateConfig
from specscan.pipeline.gate import decide

GATE = GateConfig(
    min_macro_f1={"test": 0.90}, max_regression=0.01, max_slice_regression=0.03, min_slice_rows=50
)


def report(dataset: str, slices: dict[str, tuple[int, int]]) -> EvaluationReport:
    """Evaluate a hand-made frame; `slices` maps a rule to (rows, rows predicted wrongly).

    Labels alternate 0/1 within each rule; a right row gets probability 0.9 for its own
    class, a wrong one 0.9 for the other class.
    """
    rules, labels, probabilities = [], [], []
    for rule, (rows, wrong) in slices.items():
        for i in range(rows):
            label = i % 2
            right = i >= wrong
            rules.append(rule)
            labels.append(label)
            probabilities.append(0.9 if (label == 1) == right else 0.1)
    frame = pd.DataFrame({"text": [f"row {i}" for i in range(len(labels))], "label": labels, "rule": rules})
    return evaluate_frame(frame, probabilities, dataset=dataset)


def test_a_candidate_above_every_threshold_passes_without_a_champion() -> None:
    decision = decide([report("test", {"lead": (100, 0)})], [], GATE)
    assert decision.passed
    assert decision.reasons == []
    assert "no champion to compare with" in decision.notes


def test_a_candidate_below_an_absolute_threshold_fails_with_dataset_value_and_requirement() -> None:
    candidate = report("test", {"lead": (100, 20)})
    value = candidate.overall.macro_f1
    assert value < 0.90

    decision = decide([candidate], [], GATE)

    assert not decision.passed
    (reason,) = decision.reasons
    assert reason.startswith("test:")
    assert f"{value:.4f}" in reason
    assert "0.9000" in reason


def test_a_threshold_is_reached_at_exactly_the_required_value() -> None:
    candidate = report("test", {"lead": (100, 20)})
    gate = GATE.model_copy(update={"min_macro_f1": {"test": candidate.overall.macro_f1}})
    assert decide([candidate], [], gate).passed


def test_a_gated_dataset_missing_from_the_candidate_is_noted_not_failed() -> None:
    gate = GATE.model_copy(update={"min_macro_f1": {"test": 0.90, "heldout_families": 0.90}})

    decision = decide([report("test", {"lead": (100, 0)})], [], gate)

    assert decision.passed
    assert any(note.startswith("heldout_families:") for note in decision.notes)
    assert not any("heldout_families" in reason for reason in decision.reasons)


def test_an_overall_regression_beyond_tolerance_against_the_champion_fails() -> None:
    champion = report("test", {"lead": (100, 0)})
    candidate = report("test", {"lead": (100, 2)})
    drop = champion.overall.macro_f1 - candidate.overall.macro_f1
    assert GATE.max_regression < drop < GATE.max_slice_regression  # only the overall rule can fire

    decision = decide([candidate], [champion], GATE)

    assert not decision.passed
    (reason,) = decision.reasons
    assert reason.startswith("test:")
    assert "champion" in reason
    assert f"{candidate.overall.macro_f1:.4f}" in reason
    assert "no champion to compare with" not in decision.notes


def test_an_overall_regression_within_tolerance_passes() -> None:
    champion = report("test", {"lead": (200, 0)})
    candidate = report("test", {"lead": (200, 1)})
    assert 0 < champion.overall.macro_f1 - candidate.overall.macro_f1 <= GATE.max_regression

    decision = decide([candidate], [champion], GATE)

    assert decision.passed, decision.reasons


def test_a_slice_whose_accuracy_drops_beyond_tolerance_fails_and_is_named() -> None:
    champion = report("test", {"lead": (50, 0), "R10.2": (450, 0)})
    candidate = report("test", {"lead": (50, 5), "R10.2": (450, 0)})
    gate = GATE.model_copy(update={"max_regression": 0.5})  # isolate the slice rule

    decision = decide([candidate], [champion], gate)

    assert not decision.passed
    (reason,) = decision.reasons
    assert "rule=lead" in reason
    assert "0.9000" in reason  # the candidate's accuracy on the slice (45 of 50)


def test_slices_smaller_than_min_slice_rows_are_not_gated() -> None:
    champion = report("test", {"lead": (50, 0), "R10.2": (450, 0)})
    candidate = report("test", {"lead": (50, 5), "R10.2": (450, 0)})
    lenient = GATE.model_copy(update={"max_regression": 0.5, "min_slice_rows": 51})
    at_size = lenient.model_copy(update={"min_slice_rows": 50})

    assert decide([candidate], [champion], lenient).passed
    assert not decide([candidate], [champion], at_size).passed


def test_the_champion_is_only_compared_on_the_same_dataset() -> None:
    champion = report("heldout_families", {"lead": (100, 0)})
    candidate = report("test", {"lead": (100, 5)})

    decision = decide([candidate], [champion], GATE)

    assert decision.passed, decision.reasons
    assert "no champion to compare with" not in decision.notes


def test_every_reason_is_reported_not_only_the_first() -> None:
    champion = report("test", {"lead": (100, 0)})
    candidate = report("test", {"lead": (100, 20)})

    decision = decide([candidate], [champion], GATE)

    # below the threshold, below the champion overall, and below it on the lead slice: each named with its figures
    assert decision.reasons == [
        "test: macro-F1 0.8000 < required 0.9000",
        "test: macro-F1 0.8000 is 0.2000 below the champion's 1.0000 (tolerance 0.01)",
        "test rule=lead: accuracy 0.8000 is 0.2000 below the champion's 1.0000 (tolerance 0.03)",
    ]
    assert not decision.passed


def test_a_failed_behavioural_test_refuses_the_candidate_and_names_the_test() -> None:
    from specscan.evaluation.behaviour import run_suite

    always_compliant = run_suite(lambda texts: [0.0] * len(texts), "R1")
    decision = decide([report("test", {"lead": (100, 0)})], [], GATE, always_compliant)
    assert not decision.passed
    assert any(reason.startswith("behaviour rules_document_examples:") for reason in decision.reasons)
    lenient = GATE.model_copy(update={"behaviour": False})
    assert decide([report("test", {"lead": (100, 0)})], [], lenient, always_compliant).passed


def test_a_slice_better_than_the_champions_is_no_reason_to_refuse() -> None:
    champion = report("test", {"lead": (100, 20)})
    candidate = report("test", {"lead": (100, 0)})

    decision = decide([candidate], [champion], GATE)

    assert decision.passed and decision.reasons == []


def test_a_dataset_the_champion_lacks_does_not_stop_the_comparison_of_the_next() -> None:
    champion = report("test", {"lead": (100, 0)})
    candidate = [report("heldout_families", {"lead": (100, 0)}), report("test", {"lead": (100, 20)})]
    lenient = GATE.model_copy(update={"min_macro_f1": {"test": 0.0}})

    decision = decide(candidate, [champion], lenient)

    assert decision.reasons == [
        "test: macro-F1 0.8000 is 0.2000 below the champion's 1.0000 (tolerance 0.01)",
        "test rule=lead: accuracy 0.8000 is 0.2000 below the champion's 1.0000 (tolerance 0.03)",
    ]


def test_a_slice_skipped_as_new_or_small_does_not_stop_the_comparison_of_the_next() -> None:
    champion = report("test", {"a-small": (20, 0), "lead": (100, 0)})
    candidate = report("test", {"a-new": (100, 0), "a-small": (20, 10), "lead": (100, 20)})
    lenient = GATE.model_copy(update={"min_macro_f1": {"test": 0.0}, "max_regression": 0.5})

    decision = decide([candidate], [champion], lenient)

    assert list(candidate.slices["rule"]) == ["a-new", "a-small", "lead"]  # the skipped slices come first
    assert decision.reasons == [
        "test rule=lead: accuracy 0.8000 is 0.2000 below the champion's 1.0000 (tolerance 0.03)"]


def test_a_slice_drop_of_exactly_the_tolerance_is_allowed() -> None:
    champion = report("test", {"lead": (100, 0)})
    candidate = report("test", {"lead": (100, 20)})
    drop = champion.slices["rule"]["lead"].accuracy - candidate.slices["rule"]["lead"].accuracy
    at_tolerance = GATE.model_copy(update={"min_macro_f1": {"test": 0.0}, "max_regression": 0.5,
                                           "max_slice_regression": drop})

    assert decide([candidate], [champion], at_tolerance).passed
    assert not decide([candidate], [champion], at_tolerance.model_copy(
        update={"max_slice_regression": drop - 0.001})).passed


def test_an_overall_drop_of_exactly_the_tolerance_is_allowed() -> None:
    champion = report("test", {"lead": (100, 0)})
    candidate = report("test", {"lead": (100, 20)})
    drop = champion.overall.macro_f1 - candidate.overall.macro_f1
    at_tolerance = GATE.model_copy(update={"min_macro_f1": {"test": 0.0}, "max_regression": drop,
                                           "max_slice_regression": 1.0})

    assert decide([candidate], [champion], at_tolerance).passed
    assert not decide([candidate], [champion], at_tolerance.model_copy(
        update={"max_regression": drop - 0.001})).passed
