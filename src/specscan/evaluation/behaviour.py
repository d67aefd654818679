"""The behavioural suite: what any acceptable model must do, checked as a pipeline gate.

In the manner of CheckList (Ribeiro et al., 2020), hand-written cases, not generated data:

- examples: the example table of the rules document, every row (minimum functionality);
- invariance: a supplier name, lot or part number, the casing of the whole text, or a false
  friend ("lead time", "Cd 0.29 drag coefficient") must not change a label;
- limits: the same description just below, exactly at and just above every limit and exemption
  limit, in several units: the label must change exactly where the rules say;
- negation: an absence statement covers only its own substance ("lead-free, Cd 150 ppm"),
  and a stated violation is not undone by an unrelated "-free";
- closed list: a missing approval matters only on the safety-critical categories.

Each test passes when at least `min_pass` of its cases are right. Invariance is judged per perturbation, as
CheckList reports failure rates: under each extra (and each casing) on its own, at least `min_pass` of the bases
must stay right, a perturbed case counting only if its base is right too; so one unlucky base costs a few per
cent, while a false friend that moves many bases fails the test. The cases (`behaviour_cases`) are labelled
by hand from the rules document; R2 changes the copper limit and adds PFAS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from pydantic import BaseModel

from specscan.evaluation.behaviour_cases import (
    CLOSED_LIST,
    EXAMPLES,
    INVARIANCE_BASES,
    INVARIANCE_EXTRAS,
    LIMITS,
    NC,
    NEGATION,
    OK,
)
from specscan.texts import THRESHOLD

T = TypeVar("T")


@dataclass(frozen=True)
class Case:
    text: str
    expected: str
    group: str = ""  # invariance: the perturbation ("" for the base it perturbs, which comes first)


@dataclass(frozen=True)
class Test:
    name: str
    kind: str  # examples | invariance | limits | negation | closed_list
    cases: tuple[Case, ...]
    min_pass: float


class TestResult(BaseModel):
    name: str
    kind: str
    n: int
    passed: int
    pass_rate: float  # invariance: the rate under its worst perturbation
    worst: str | None = None  # invariance: that perturbation
    min_pass: float
    ok: bool
    failures: list[str]  # "expected X, got Y (p=0.83): text", the first few


class BehaviourReport(BaseModel):
    revision: str
    tests: list[TestResult]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tests)

    def failed(self) -> list[str]:
        return [f"behaviour {t.name}: {t.passed}/{t.n} right"
                + (f", {t.pass_rate:.0%} under {t.worst!r}" if t.worst is not None else "")
                + f", needs {t.min_pass:.0%}" for t in self.tests if not t.ok]


def _invariance(revision: str) -> tuple[Case, ...]:
    """Every base alone, with every extra after its part name, and in upper and lower case; `group` names the
    perturbation, so that each is judged on its own across all bases."""
    cases = []
    for base, r1, r2 in INVARIANCE_BASES:
        label = _of(revision, r1, r2)
        plain = base.format(extra="")
        cases.append(Case(plain, label, ""))
        cases += [Case(base.format(extra=extra), label, extra.strip(" ,")) for extra in INVARIANCE_EXTRAS]
        cases += [Case(plain.upper(), label, "upper case"), Case(plain.lower(), label, "lower case")]
    return tuple(cases)


def _limits(revision: str) -> tuple[Case, ...]:
    return tuple(Case(template.format(v=v), label)
                 for template, r1, r2 in LIMITS
                 for v, label in zip(_of(revision, r1, r2), (OK, OK, NC), strict=True))


def _labelled(rows: tuple[tuple[str, str, str], ...], revision: str) -> tuple[Case, ...]:
    return tuple(Case(text, _of(revision, r1, r2)) for text, r1, r2 in rows)


def _of(revision: str, r1: T, r2: T) -> T:
    """The case's value under `revision`: its R1 one or its R2 one."""
    return r1 if revision == "R1" else r2


def suite(revision: str) -> tuple[Test, ...]:
    """The tests for data labelled under `revision`."""
    return (
        Test("rules_document_examples", "examples", _labelled(EXAMPLES, revision), 1.0),
        Test("invariance", "invariance", _invariance(revision), 0.9),  # under every perturbation on its own
        Test("limits", "limits", _limits(revision), 0.9),
        Test("negation_scope", "negation", _labelled(NEGATION, revision), 0.9),
        Test("closed_list", "closed_list", _labelled(CLOSED_LIST, revision), 0.9),
    )


def run_suite(predict: Callable[[Sequence[str]], np.ndarray], revision: str, *,
              threshold: float = THRESHOLD) -> BehaviourReport:
    """Score every case with `predict` (texts -> probability of non_compliant) and judge each test."""
    results = []
    for test in suite(revision):
        texts = [case.text for case in test.cases]
        probabilities = np.asarray(predict(texts), dtype=float)
        got = [NC if p >= threshold else OK for p in probabilities]
        right = [g == case.expected for g, case in zip(got, test.cases, strict=True)]
        rate, worst = sum(right) / len(test.cases), None
        if test.kind == "invariance":  # a perturbed case counts only if its base is right too; every
            base_right = False          # perturbation must keep min_pass of the bases right on its own
            by_perturbation: dict[str, list[bool]] = {}
            for i, case in enumerate(test.cases):
                if not case.group:
                    base_right = right[i]
                right[i] = right[i] and base_right
                by_perturbation.setdefault(case.group, []).append(right[i])
            worst, rate = min(((g or "the bases alone", sum(r) / len(r)) for g, r in by_perturbation.items()),
                              key=lambda item: item[1])
        failures = [f"expected {case.expected}, got {g} (p={p:.2f}): {case.text}"
                    for case, g, p, ok in zip(test.cases, got, probabilities, right, strict=True) if not ok]
        results.append(TestResult(name=test.name, kind=test.kind, n=len(test.cases), passed=sum(right),
                                  pass_rate=rate, min_pass=test.min_pass, ok=rate >= test.min_pass,
                                  failures=failures[:10], worst=worst))
    return BehaviourReport(revision=revision, tests=results)
