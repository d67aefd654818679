"""Markdown model card in the spirit of Mitchell et al. (2019) and Hugging Face model cards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from specscan import LABELS
from specscan.evaluation.behaviour import BehaviourReport
from specscan.evaluation.metrics import ClassificationMetrics, EvaluationReport

DEFAULT_INTENDED_USE = (
    "Classifies free-text vehicle component descriptions as `compliant` or `non_compliant` "
    "under the stated rules revision, to assist technicians in triaging components. It is "
    "not a substitute for a legal compliance assessment: low-confidence predictions (and any "
    "decision with legal consequences) need human review."
)

# Caveats true of every model; what holds of its training data is measured (`_data_facts`), said first.
CAVEATS = (
    "Rules with numeric thresholds are hard: values close to a threshold are the most "
    "error-prone (see the `near_threshold` evaluation, if present).",
    "Phrasing outside the training template families may be misclassified (see the "
    "`heldout_families` evaluation, if present).",
    "English only; valid only for the rules revision named under Training data.",
)

# (label, attribute) for the overall table; roc_auc may be None.
OVERALL_ROWS = (
    ("accuracy", "accuracy"),
    ("precision (non_compliant)", "precision_non_compliant"),
    ("recall (non_compliant)", "recall_non_compliant"),
    ("F1 (non_compliant)", "f1_non_compliant"),
    ("macro F1", "macro_f1"),
    ("ROC AUC", "roc_auc"),
    ("ECE (10 bins)", "ece"),
)

# Lineage keys shown under Training data: those naming the data, its digest, rows, rules or labels.
_TRAINING_KEY_HINTS = ("data", "digest", "rows", "rules", "label")


def _data_facts(lineage: Mapping[str, str]) -> list[str]:
    """What the pipeline measured about the training data (`data.origin`): where it came from and its label
    noise; "unknown" where it was not recorded, never a figure assumed."""
    origin = lineage.get("data_origin", "unknown")
    if origin.startswith("generated"):
        where = f"Trained on generated (synthetic) descriptions, not on real technician text: {origin}."
    elif origin == "web app export":
        where = ("Trained on the web app's labelled export: descriptions entered by technicians, labelled by "
                 "people (technicians and reviewers), not generated.")
    else:
        where = f"Where the training data came from was not recorded: {origin}."
    noise = lineage.get("label_noise", "unknown")
    try:
        share = float(noise)
    except ValueError:
        flipped = ("The training labels' noise is unknown: the data has no clean label (`label_clean`) to "
                   "measure it against.")
    else:
        flipped = (f"{share:.1%} of the training labels differ from their clean label (measured on the "
                   "training split); expect an error floor near that level and read smaller metric differences "
                   "as noise." if share > 0 else
                   "None of the training labels differ from their clean label (0.0%, measured on the training "
                   "split).")
    return [where, flipped]


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _overall_table(model: ClassificationMetrics, base: ClassificationMetrics | None) -> list[str]:
    header = ["metric", "model"] + (["baseline", "Δ (model - baseline)"] if base else [])
    rows: list[list[object]] = [["n (non_compliant)", f"{model.n} ({model.n_non_compliant})"]]
    if base:
        rows[0] += [f"{base.n} ({base.n_non_compliant})", ""]
    for label, attr in OVERALL_ROWS:
        value = getattr(model, attr)
        row: list[object] = [label, _fmt(value)]
        if base:
            other = getattr(base, attr)
            delta = None if value is None or other is None else value - other
            row += [_fmt(other), "n/a" if delta is None else f"{delta:+.3f}"]
        rows.append(row)
    return _table(header, rows)


def _slice_table(
    column: str,
    model: Mapping[str, ClassificationMetrics],
    base: Mapping[str, ClassificationMetrics] | None,
) -> list[str]:
    header = [column, "n", "non_compliant", "F1 (non_compliant)", "macro F1", "accuracy"]
    if base is not None:
        header += ["baseline F1 (non_compliant)", "baseline accuracy"]
    rows = []
    for value, m in sorted(model.items()):
        row: list[object] = [value, m.n, m.n_non_compliant]
        row += [_fmt(m.f1_non_compliant), _fmt(m.macro_f1), _fmt(m.accuracy)]
        if base is not None:
            b = base.get(value)
            row += [_fmt(b.f1_non_compliant), _fmt(b.accuracy)] if b else ["n/a", "n/a"]
        rows.append(row)
    return _table(header, rows)


def _evaluation(
    reports: Sequence[EvaluationReport], baseline_reports: Sequence[EvaluationReport] | None
) -> list[str]:
    baselines = {r.dataset: r for r in baseline_reports or ()}
    lines = ["## Evaluation", ""]
    if baselines:
        lines += ["Deep model compared with the baseline on the same data.", ""]
    for report in reports:
        base = baselines.get(report.dataset)
        lines += [f"### Dataset `{report.dataset}`", ""]
        lines += _overall_table(report.overall, base.overall if base else None)
        for column, by_value in sorted(report.slices.items()):
            base_slices = base.slices.get(column, {}) if base else None
            lines += [f"#### By {column}", ""] + _slice_table(column, by_value, base_slices)
    return lines


def render_model_card(
    *,
    model_name: str,
    version: str | None,
    reports: Sequence[EvaluationReport],
    baseline_reports: Sequence[EvaluationReport] | None,
    lineage: Mapping[str, str],
    params: Mapping[str, object],
    intended_use: str | None = None,
    behaviour: BehaviourReport | None = None,
) -> str:
    """Render a deterministic Markdown model card from evaluation reports and lineage."""
    hints = _TRAINING_KEY_HINTS
    training = {k: v for k, v in lineage.items() if any(h in k.lower() for h in hints)}
    lines = [f"# Model card: {model_name}", "", "## Model details", ""]
    lines += [
        f"- **Name:** {model_name}",
        f"- **Version:** {version or 'unregistered'}",
        "- **Task:** binary text classification of component descriptions",
        f"- **Labels:** {', '.join(f'{i} = `{n}`' for i, n in enumerate(LABELS))} "
        f"(positive class: `{LABELS[1]}`)",
        "",
    ]
    if params:
        lines += ["### Parameters", ""] + _table(["parameter", "value"], sorted(params.items()))
    lines += ["## Intended use", "", intended_use or DEFAULT_INTENDED_USE, ""]
    lines += ["## Training data", ""] + [f"- {fact}" for fact in _data_facts(lineage)] + [""]
    if training:
        lines += _table(["item", "value"], sorted(training.items()))
    else:
        lines += ["No training data lineage was recorded.", ""]
    lines += _evaluation(reports, baseline_reports)
    if behaviour is not None:
        lines += [f"## Behavioural suite ({behaviour.revision})", ""]
        lines += _table(["test", "right", "required", "result"],
                        [[t.name, f"{t.passed}/{t.n}", f"{t.min_pass:.0%}", "pass" if t.ok else "FAIL"]
                         for t in behaviour.tests])
        lines += [f"- {t.name}: {failure}" for t in behaviour.tests for failure in t.failures[:3]] + [""]
    lines += ["## Caveats and limitations", ""] + [f"- {c}" for c in CAVEATS] + [""]
    lines += ["## Lineage", ""]
    if lineage:
        lines += _table(["key", "value"], sorted(lineage.items()))
    else:
        lines += ["None recorded.", ""]
    return "\n".join(lines).rstrip() + "\n"
