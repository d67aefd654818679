"""The behavioural suite judges models by what they must do, and a rules oracle passes it."""

from __future__ import annotations

import pytest

from specscan.evaluation.behaviour import EXAMPLES, NC, run_suite, suite


def test_the_suite_has_every_rules_document_example_and_each_kind_of_test() -> None:
    tests = {t.name: t for t in suite("R1")}
    assert [c.text for c in tests["rules_document_examples"].cases] == [text for text, _, _ in EXAMPLES]
    assert {t.kind for t in tests.values()} == {"examples", "invariance", "limits", "negation", "closed_list"}


@pytest.mark.parametrize("revision", ["R1", "R2"])
def test_a_model_that_always_says_one_label_fails(revision: str) -> None:
    assert not run_suite(lambda texts: [0.0] * len(texts), revision).ok
    assert not run_suite(lambda texts: [1.0] * len(texts), revision).ok


def test_limits_flip_exactly_at_the_rules_limits_and_r2_moves_the_copper_one() -> None:
    def labels(revision: str) -> dict[str, str]:
        return {c.text: c.expected for t in suite(revision) if t.name == "limits" for c in t.cases}

    r1, r2 = labels("R1"), labels("R2")
    assert r1["Brass terminal, CuZn39Pb3, Pb 4 %"] == "compliant" and r1["Brass terminal, CuZn39Pb3, Pb 4.1 %"] == NC
    assert r2["Brass terminal, CuZn39Pb3, Pb 2 %"] == "compliant" and r2["Brass terminal, CuZn39Pb3, Pb 2.1 %"] == NC
    assert r1["Pigmented PP trim, cadmium 100 ppm"] == "compliant" and r1["Pigmented PP trim, cadmium 110 ppm"] == NC


def test_an_invariance_group_fails_together_when_one_of_its_variants_flips() -> None:
    def flips_on_one_lot_number(texts: list[str]) -> list[float]:
        expected = {c.text: c.expected for t in suite("R1") for c in t.cases}
        flipped = "Cable sheathing, lot L48213, flexible PVC, Pb 0.4 %"
        return [1.0 - float(expected[t] == NC) if t == flipped else float(expected[t] == NC) for t in texts]

    report = {t.name: t for t in run_suite(flips_on_one_lot_number, "R1").tests}
    invariance = report["invariance"]
    group = sum(1 for c in suite("R1")[1].cases if c.group == "g0")
    assert group == 10 and invariance.passed == invariance.n - group  # the whole group fails, no other
    assert report["rules_document_examples"].ok and report["limits"].ok


def test_a_perfect_oracle_passes_every_test() -> None:
    expected = {c.text: c.expected for t in suite("R2") for c in t.cases}
    assert run_suite(lambda texts: [float(expected[t] == NC) for t in texts], "R2").ok
