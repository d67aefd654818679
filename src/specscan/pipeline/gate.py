"""The quality gate: absolute thresholds, and no regression against the champion, slice by slice."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from specscan.evaluation.behaviour import BehaviourReport
from specscan.evaluation.metrics import EvaluationReport
from specscan.pipeline.config import GateConfig


class GateDecision(BaseModel):
    """Whether a candidate may be registered, with every reason it may not."""

    passed: bool
    reasons: list[str]
    notes: list[str]


def decide(candidate: Sequence[EvaluationReport], champion: Sequence[EvaluationReport],
           gate: GateConfig, behaviour: BehaviourReport | None = None) -> GateDecision:
    """Judge `candidate` against the thresholds, the behavioural suite, and `champion` on the same data."""
    reasons: list[str] = []
    notes: list[str] = []
    if behaviour is None:
        notes.append("behavioural suite: not run")
    elif gate.behaviour:
        reasons += behaviour.failed()
    ours = {r.dataset: r for r in candidate}
    theirs = {r.dataset: r for r in champion}
    for dataset, minimum in gate.min_macro_f1.items():
        report = ours.get(dataset)
        if report is None:
            notes.append(f"{dataset}: not in this data, so not gated")
        elif report.overall.macro_f1 < minimum:
            reasons.append(f"{dataset}: macro-F1 {report.overall.macro_f1:.4f} < required {minimum:.4f}")
    for dataset, report in ours.items():
        incumbent = theirs.get(dataset)
        if incumbent is None:
            continue
        drop = incumbent.overall.macro_f1 - report.overall.macro_f1
        if drop > gate.max_regression:
            reasons.append(f"{dataset}: macro-F1 {report.overall.macro_f1:.4f} is {drop:.4f} below the "
                           f"champion's {incumbent.overall.macro_f1:.4f} (tolerance {gate.max_regression})")
        for column, values in report.slices.items():
            for value, metrics in values.items():
                old = incumbent.slices.get(column, {}).get(value)
                if old is None or min(old.n, metrics.n) < gate.min_slice_rows:
                    continue
                drop = old.accuracy - metrics.accuracy
                if drop > gate.max_slice_regression:
                    reasons.append(
                        f"{dataset} {column}={value}: accuracy {metrics.accuracy:.4f} is {drop:.4f} below "
                        f"the champion's {old.accuracy:.4f} (tolerance {gate.max_slice_regression})")
    if not theirs:
        notes.append("no champion to compare with")
    return GateDecision(passed=not reasons, reasons=reasons, notes=notes)
