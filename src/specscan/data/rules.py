"""The compliance rules as a function of facts: the only code that encodes the rules document.

`shared/spec/compliance-rules.md` (R1, R2 and the December 2026 Clarifications) is read here and
nowhere else. The generator samples fact records, labels them with `verdict`, and only then
renders them as text; nothing here ever looks at a rendered description.

    Facts(part category, materials [class, statements], approval)  --verdict-->  Verdict

A statement about a substance is its absence, its presence with no figure, or an amount with a
relation (equal, about, at most, less than, at least, more than, a range). Amounts are exact
decimals in ppm (1 % = 10,000 ppm = 10,000 mg/kg = 10 g/kg = 10 mg/g), so a figure exactly at a
limit is decided exactly. A statement the rules leave undecided (an upper bound above a limit, a
lower bound below it, a range across it) raises `Undecided`: the generator never writes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Revision = Literal["R1", "R2"]
REVISIONS: tuple[Revision, ...] = ("R1", "R2")
Substance = Literal["lead", "mercury", "cr6", "cadmium", "asbestos", "pfas"]
SUBSTANCES: tuple[Substance, ...] = ("lead", "mercury", "cr6", "cadmium", "asbestos", "pfas")
MaterialClass = Literal["copper_alloy", "machining_steel", "aluminium_alloy", "other"]
Relation = Literal["eq", "approx", "max", "lt", "min", "gt", "range"]
ApprovalStatus = Literal["silent", "valid", "missing"]

PPM_PER_PERCENT = Decimal(10_000)

# Rule 1: limits by weight in a homogeneous material
LIMIT_PPM: dict[str, Decimal] = {
    "lead": Decimal(1000),
    "mercury": Decimal(1000),
    "cr6": Decimal(1000),
    "cadmium": Decimal(100),
}
# Rule 1 exemptions (lead only), lowered for copper alloys in R2
LEAD_EXEMPTION_PPM: dict[Revision, dict[MaterialClass, Decimal]] = {
    "R1": {"copper_alloy": Decimal(40_000), "machining_steel": Decimal(3_500), "aluminium_alloy": Decimal(4_000)},
    "R2": {"copper_alloy": Decimal(20_000), "machining_steel": Decimal(3_500), "aluminium_alloy": Decimal(4_000)},
}
EXEMPTION_RULE: dict[MaterialClass, str] = {
    "copper_alloy": "lead_exemption_copper",
    "machining_steel": "lead_exemption_steel",
    "aluminium_alloy": "lead_exemption_aluminium",
}
# Rule 3 with Clarification 7: the closed list of safety-critical categories
SAFETY_CRITICAL = frozenset({"brake_friction", "exterior_lamp", "tyre", "seat_belt", "airbag", "glazing"})
NEAR = Decimal("0.3")  # a figure within ±30 % of the limit that applies to it is near the threshold

VIOLATIONS = ("lead", "mercury", "cr6", "cadmium", "asbestos", "pfas", "type_approval")
RESTRICTS_PFAS: dict[Revision, bool] = {"R1": False, "R2": True}  # R2 adds PFAS, any amount
# compliant rows are sliced by the most telling reason they are compliant, in this order
COMPLIANT_REASONS = (
    "lead_exemption_copper",
    "lead_exemption_steel",
    "lead_exemption_aluminium",
    "below_limit",
    "approval_not_required",
    "absent",
    "approval_valid",
    "pfas_not_restricted",
    "distractor",
    "none",
)


class Undecided(ValueError):
    """A statement the rules document does not decide (the generator must not write it)."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """A stated concentration in ppm; `low` is the lower end of a range."""

    ppm: Decimal
    relation: Relation = "eq"
    low: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """What a description says about one substance in one material."""

    substance: Substance
    kind: Literal["absent", "present", "amount"]
    quantity: Quantity | None = None


@dataclass(frozen=True, slots=True)
class Material:
    """One homogeneous material of the component and what is said about its substances."""

    cls: MaterialClass
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    """What a description states, as far as the rules are concerned."""

    category: str
    materials: tuple[Material, ...]
    approval: ApprovalStatus = "silent"
    distractors: int = 0  # false friends such as "lead time" or "Cd 0.29": never a violation


@dataclass(frozen=True, slots=True)
class Verdict:
    non_compliant: bool
    rule: str  # the first violation, or the most telling reason for compliance
    violations: tuple[str, ...] = field(default=())
    near_threshold: bool = False


def limit_ppm(substance: Substance, cls: MaterialClass, revision: Revision) -> Decimal | None:
    """The limit that applies to a substance in a material class; None means any amount violates
    (asbestos; PFAS in R2) or none does (PFAS in R1: see `statement_violates`)."""
    if substance == "lead":
        return LEAD_EXEMPTION_PPM[revision].get(cls, LIMIT_PPM["lead"])
    return LIMIT_PPM.get(substance)


def exceeds(quantity: Quantity, limit: Decimal) -> bool:
    """Whether a stated amount is above `limit` (Clarifications 2 and 3); `Undecided` if unknown."""
    value, relation = quantity.ppm, quantity.relation
    if relation in ("eq", "approx"):
        return value > limit
    if relation in ("max", "lt"):  # an upper bound: compliant when at or below the limit
        if value <= limit:
            return False
    elif relation == "min":  # "at least": non-compliant when the bound is above the limit
        if value > limit:
            return True
    elif relation == "gt":  # "more than" the limit or above it
        if value >= limit:
            return True
    elif relation == "range":
        if quantity.low is None or quantity.low > value:
            raise Undecided(f"a range needs low <= high, got {quantity.low}..{value}")
        if value <= limit:
            return False
        if quantity.low > limit:
            return True
    raise Undecided(f"{relation} {value} ppm against a limit of {limit} ppm")


def statement_violates(statement: Statement, cls: MaterialClass, revision: Revision) -> bool:
    """Whether one statement about a material breaks a rule of `revision`."""
    substance = statement.substance
    if statement.kind == "absent":
        return False
    if substance == "asbestos":
        return True  # rule 2: any amount
    if substance == "pfas":
        return RESTRICTS_PFAS[revision]
    if statement.kind == "present":
        # Clarification 5: an exempt material named as leaded is covered by its exemption;
        # Clarification 6: lead named as present anywhere else violates
        return not (substance == "lead" and cls in EXEMPTION_RULE)
    assert statement.quantity is not None, "an amount statement needs a quantity"
    limit = limit_ppm(substance, cls, revision)
    assert limit is not None
    return exceeds(statement.quantity, limit)


def _compliant_reason(statement: Statement, cls: MaterialClass, revision: Revision) -> str:
    if statement.kind == "absent":
        return "absent"
    if statement.substance == "pfas":
        return "pfas_not_restricted"
    if statement.substance == "lead" and cls in EXEMPTION_RULE:
        quantity = statement.quantity
        if quantity is None or quantity.ppm > LIMIT_PPM["lead"]:
            return EXEMPTION_RULE[cls]
    return "below_limit"


def _near(statement: Statement, cls: MaterialClass, revision: Revision) -> bool:
    quantity = statement.quantity
    if quantity is None or statement.substance in ("asbestos", "pfas"):
        return False
    limit = limit_ppm(statement.substance, cls, revision)
    return limit is not None and abs(quantity.ppm - limit) <= NEAR * limit


def verdict(facts: Facts, revision: Revision) -> Verdict:
    """The label of a fact record under `revision`, with the rule that decides it."""
    violations: list[str] = []
    reasons: set[str] = set()
    near = False
    for material in facts.materials:
        for statement in material.statements:
            near = near or _near(statement, material.cls, revision)
            if statement_violates(statement, material.cls, revision):
                violations.append(statement.substance)
            else:
                reasons.add(_compliant_reason(statement, material.cls, revision))
    if facts.approval == "missing":
        if facts.category in SAFETY_CRITICAL:
            violations.append("type_approval")
        else:
            reasons.add("approval_not_required")
    elif facts.approval == "valid":
        reasons.add("approval_valid")
    if facts.distractors:
        reasons.add("distractor")
    if violations:
        return Verdict(True, violations[0], tuple(dict.fromkeys(violations)), near)
    rule = next((r for r in COMPLIANT_REASONS if r in reasons), "none")
    return Verdict(False, rule, (), near)


def rules_of(revision: Revision) -> tuple[str, ...]:
    """Every rule value a data set of `revision` can carry in its `rule` column."""
    violations = tuple(v for v in VIOLATIONS if v != "pfas" or RESTRICTS_PFAS[revision])
    return violations + COMPLIANT_REASONS


def limits_ppm() -> tuple[float, ...]:
    """Every concentration limit of every revision, in ppm, ascending: where a judgement can change."""
    found = set(LIMIT_PPM.values()) | {v for by_class in LEAD_EXEMPTION_PPM.values() for v in by_class.values()}
    return tuple(float(v) for v in sorted(found))
