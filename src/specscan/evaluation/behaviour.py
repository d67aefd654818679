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

Each test passes when at least `min_pass` of its cases are right (invariance: right AND unchanged).
A revision's cases are labelled by hand from the rules document; R2 changes the copper limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from specscan.texts import THRESHOLD

NC, OK = "non_compliant", "compliant"


@dataclass(frozen=True)
class Case:
    text: str
    expected: str
    group: str = ""  # invariance: cases of one group must all get the same label


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
    pass_rate: float
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
        return [f"behaviour {t.name}: {t.passed}/{t.n} right, needs {t.min_pass:.0%}" for t in self.tests if not t.ok]


EXAMPLES = (  # the rules document's example table, word for word: (text, R1 label, R2 label)
    ("Front brake pad set, low-metallic friction compound, copper-free, E-marked to UN ECE R90, supplier Halvorsen "
     "Friction", OK, OK),
    ("BRK LINING RR DRUM, CHRYSOTILE REINF., OEM REPLACEMENT", NC, NC),
    ("Wiring harness connector housing PA66-GF30; tin-plated brass contacts, Pb 2.8 % in the brass", OK, NC),
    ("Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)", NC, NC),
    ("M8 hex flange bolt, zinc-nickel coating with trivalent passivation, torque 25 Nm", OK, OK),
    ("Door hinge pin, yellow chromate conversion coating", NC, NC),
    ("LED tail lamp assembly, 12 V, 4.2 W, E-mark application pending", NC, NC),
    ("Cup holder insert, TPE, 'not E-marked' (not required)", OK, OK),
    ("Battery tray, PP-T20, cadmium 85 ppm in pigment", OK, OK),
    ("Glovebox latch spring, Cd-plated steel", NC, NC),
    ("Free-cutting steel shaft for machining, 0,30 % Pb", OK, OK),
    ("Tyre 205/55 R16 91V, homologation withdrawn by the authority in 2026", NC, NC),
)

_BASES = (  # (text with {extra}, label): plain statements to perturb
    ("Cable sheathing{extra}, flexible PVC, Pb 0.4 %", NC),
    ("Door hinge pin{extra}, zinc-nickel with trivalent passivation", OK),
    ("Brake pads{extra}, NAO friction material, E-marked R90", OK),
    ("Rear drum brake lining{extra}, chrysotile reinforced", NC),
    ("Connector{extra}: brass contacts CuZn39Pb3 with Pb 1.8 %, PA66 housing", OK),
    ("Fog lamp{extra}, E-mark application pending", NC),
    ("Seat belt buckle{extra}, steel tongue, Cd-plated", NC),
    ("Oil pan gasket{extra}, non-asbestos fibre sheet", OK),
    ("ECU housing{extra}, PBT-GF30, Cd 40 ppm", OK),
    ("Wheel weights{extra}, clip-on, lead", NC),
)
_EXTRAS = ("", " from Halvorsen Friction", " from Kessler Kabel GmbH", ", lot L48213", ", part no. 4471-880-02",
           ", lead time 6 weeks", ", drag coefficient Cd 0.29", ", PO 4500123456, 250 pcs")


def _invariance() -> tuple[Case, ...]:
    cases = []
    for i, (base, label) in enumerate(_BASES):
        for extra in _EXTRAS:
            text = base.format(extra=extra)
            cases.append(Case(text, label, f"g{i}"))
        plain = base.format(extra="")
        cases += [Case(plain.upper(), label, f"g{i}"), Case(plain.lower(), label, f"g{i}")]
    return tuple(cases)


def _limits(revision: str) -> tuple[Case, ...]:
    """(template, values below / at / above the limit as written)."""
    copper = ("3.9 %", "4 %", "4.1 %") if revision == "R1" else ("1.9 %", "2 %", "2.1 %")
    rows = (
        ("Cable sheath, PVC, lead {v}", ("0.09 %", "0.1 %", "0.11 %")),
        ("Cable sheath, PVC, lead {v}", ("900 ppm", "1000 ppm", "1100 ppm")),
        ("Housing ABS, Pb {v}", ("950 mg/kg", "1000 mg/kg", "1050 mg/kg")),
        ("Switch contact, Hg {v}", ("0.08 %", "0.1 %", "0.12 %")),
        ("Bracket coating, Cr(VI) {v}", ("900 ppm", "1000 ppm", "1200 ppm")),
        ("Pigmented PP trim, cadmium {v}", ("90 ppm", "100 ppm", "110 ppm")),
        ("Pigmented PP trim, cadmium {v}", ("0.009 %", "0.01 %", "0.011 %")),
        ("Pigmented PP trim, cadmium {v}", ("0.09 g/kg", "0.1 g/kg", "0.11 g/kg")),
        ("Brass terminal, CuZn39Pb3, Pb {v}", copper),
        ("Bronze bushing, lead {v} in the bronze", copper),
        ("Free-cutting steel pin 11SMnPb30, Pb {v}", ("0.34 %", "0.35 %", "0.36 %")),
        ("Free-cutting steel pin 11SMnPb30, Pb {v}", ("3400 ppm", "3500 ppm", "3600 ppm")),
        ("Aluminium alloy EN AW-6262 lever, Pb {v}", ("0.39 %", "0.4 %", "0.41 %")),
        ("Plain steel bracket S235, Pb {v}", ("0.09 %", "0.1 %", "0.12 %")),
        ("Cable sheath, PVC, lead {v}", ("0,09 %", "0,10 %", "0,11 %")),
    )
    return tuple(Case(template.format(v=v), label, "")
                 for template, values in rows for v, label in zip(values, (OK, OK, NC), strict=True))


_NEGATION = (
    ("Housing PA6, lead-free, Cd 150 ppm", NC),
    ("Housing PA6, cadmium-free, Pb 0.3 %", NC),
    ("Housing PA6, free of lead and cadmium", OK),
    ("Lead-free solder; PVC sheath with 0.4 % Pb", NC),
    ("Lead-free solder; PVC sheath, Pb 0.04 %", OK),
    ("Gasket, asbestos-free, but coating contains cadmium", NC),
    ("Brake lining, no asbestos", OK),
    ("Brake lining, asbestos", NC),
    ("Cd-free, Hg-free; Pb 0.2 % in the nylon housing", NC),
    ("Trivalent passivation, no Cr(VI)", OK),
    ("Hexavalent chromate passivation on the bracket, cadmium-free", NC),
    ("Mercury-free switch, lead-free solder", OK),
    ("RoHS compliant; PVC insulation with lead stabiliser", NC),
    ("Not E-marked horn, lead-free", OK),
    ("Headlamp, lead-free, E-mark pending", NC),
)
_CLOSED_LIST = (
    ("LED tail lamp, approval pending", NC), ("Headlamp, homologation expired", NC), ("Brake pads, not E-marked", NC),
    ("Tyre 195/65 R15, approval withdrawn", NC), ("Seat belt pretensioner, not homologated", NC),
    ("Driver airbag module, approval revoked", NC), ("Windscreen, E-mark: none", NC),
    ("Interior dome light, approval pending", OK), ("Horn, not E-marked", OK),
    ("Exterior mirror, approval expired", OK),
    ("Wiper blade, no E-mark", OK), ("Brake disc, approval pending", OK), ("Child seat cover, not homologated", OK),
    ("Cup holder, not E-marked", OK), ("LED tail lamp, E-marked E4 R7", OK), ("Brake pads, R90 approved", OK),
)


def suite(revision: str) -> tuple[Test, ...]:
    """The tests for data labelled under `revision`."""
    examples = tuple(Case(text, r1 if revision == "R1" else r2) for text, r1, r2 in EXAMPLES)
    return (
        Test("rules_document_examples", "examples", examples, 1.0),
        Test("invariance", "invariance", _invariance(), 0.9),  # one group of ten may flip on a false friend
        Test("limits", "limits", _limits(revision), 0.9),
        Test("negation_scope", "negation", tuple(Case(t, label) for t, label in _NEGATION), 0.9),
        Test("closed_list", "closed_list", tuple(Case(t, label) for t, label in _CLOSED_LIST), 0.9),
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
        if test.kind == "invariance":  # a group passes only if all its cases get one (right) label
            groups: dict[str, list[int]] = {}
            for i, case in enumerate(test.cases):
                groups.setdefault(case.group, []).append(i)
            for members in groups.values():
                if len({got[i] for i in members}) > 1:
                    for i in members:
                        right[i] = False
        failures = [f"expected {case.expected}, got {g} (p={p:.2f}): {case.text}"
                    for case, g, p, ok in zip(test.cases, got, probabilities, right, strict=True) if not ok]
        passed = sum(right)
        rate = passed / len(test.cases)
        results.append(TestResult(name=test.name, kind=test.kind, n=len(test.cases), passed=passed,
                                  pass_rate=rate, min_pass=test.min_pass, ok=rate >= test.min_pass,
                                  failures=failures[:10]))
    return BehaviourReport(revision=revision, tests=results)
