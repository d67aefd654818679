"""Fact records: what one description will state, drawn at random, before any wording is chosen.

A record names a part (and so its category), the materials it is made of with what is stated about
the substances in each, its approval status and some false friends. `Record.facts()` is what the
rules read. Figures are drawn as a person would write them (a unit, a few significant digits,
sometimes exactly a limit, sometimes a bound or a range), and always on a side of every limit they
may be judged against, in R1 and in R2, so that one record has a label under each revision.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from specscan.data import materials as M
from specscan.data import rules
from specscan.data.rules import ApprovalStatus, MaterialClass, Relation, Statement, Substance, Undecided

# ppm per unit of a written figure
UNIT_PPM: dict[str, Decimal] = {
    "%": Decimal(10_000),
    "ppm": Decimal(1),
    "mg/kg": Decimal(1),
    "µg/g": Decimal(1),
    "g/kg": Decimal(1000),
    "mg/g": Decimal(1000),
    "ppb": Decimal("0.001"),
    "µg/kg": Decimal("0.001"),
}
METALS: tuple[Substance, ...] = ("lead", "cadmium", "mercury", "cr6")
EXEMPT_CLASSES = ("copper_alloy", "machining_steel", "aluminium_alloy")
# how often a harmless material or part is named like a hazardous one ("{m} with AgSnO2 contacts",
# "aramid exhaust manifold gasket"): see `materials.echo`
ECHO_SHARE = 0.2
ECHO_PART_SHARE = 0.15
# how often the component a statement is about is a part or role that is usually of other materials
# ("aluminium swivel bracket", "door seal, PVC extrusion"): the noun must not stand in for the material
# and so for its limit; the reader has to read the material
UNUSUAL_PLACE_SHARE = 0.25


@dataclass(frozen=True)
class Figure:
    """A concentration as written: `value` (and `low` for a range) in `unit`, with its relation."""

    value: Decimal
    unit: str
    relation: Relation = "eq"
    low: Decimal | None = None

    def quantity(self) -> rules.Quantity:
        factor = UNIT_PPM[self.unit]
        low = None if self.low is None else self.low * factor
        return rules.Quantity(self.value * factor, self.relation, low)


@dataclass
class Claim:
    """One statement about a substance in a component, with the figure as written."""

    substance: Substance
    kind: str  # absent | present | amount
    figure: Figure | None = None

    def statement(self) -> Statement:
        return Statement(
            self.substance,
            self.kind,  # type: ignore[arg-type]
            None if self.figure is None else self.figure.quantity(),
        )


@dataclass
class Component:
    """One homogeneous material of the part: the part's own body (role "") or a named sub-part."""

    role: str
    kind: str
    name: str
    claims: list[Claim] = field(default_factory=list)
    said_by_part: str = ""  # a substance whose presence the part's name already states

    @property
    def cls(self) -> MaterialClass:
        return M.KINDS[self.kind].cls


@dataclass
class Record:
    """Everything one description will say."""

    category: str
    part: M.Part
    components: list[Component]
    approval: ApprovalStatus = "silent"
    approval_how: str = ""  # pending | expired | withdrawn | none | ... (missing); mark | regulation (valid)
    distractors: list[str] = field(default_factory=list)
    declared_absent: list[Substance] = field(default_factory=list)  # "contains no lead, cadmium or mercury"
    focus: str = ""

    def facts(self) -> rules.Facts:
        materials = [rules.Material(c.cls, tuple(k.statement() for k in c.claims)) for c in self.components]
        if self.declared_absent:  # said of the whole part: an absence in every material
            materials.append(rules.Material("other", tuple(Statement(s, "absent") for s in self.declared_absent)))
        return rules.Facts(
            category=self.category,
            materials=tuple(materials),
            approval=self.approval,
            distractors=len(self.distractors),
        )


# --- figures ------------------------------------------------------------------------------------


def limits_for(substance: Substance, cls: MaterialClass) -> tuple[Decimal, ...]:
    """Every limit a figure for `substance` in `cls` may be judged against, in any revision."""
    found = {rules.limit_ppm(substance, cls, revision) for revision in rules.REVISIONS}
    return tuple(sorted(x for x in found if x is not None))


def _unit_for(r: random.Random, ppm: float) -> str:
    if ppm < 1:
        return r.choice(("ppb", "ppb", "µg/kg", "ppm"))
    if ppm >= 10_000:
        return r.choices(("%", "g/kg", "mg/g", "ppm", "mg/kg"), (80, 6, 3, 6, 5))[0]
    if ppm < 50:
        return r.choices(("ppm", "mg/kg", "µg/g", "%"), (55, 30, 8, 7))[0]
    return r.choices(("%", "ppm", "mg/kg", "g/kg", "mg/g", "µg/g"), (45, 26, 18, 5, 3, 3))[0]


def _round(x: float, digits: int) -> Decimal:
    """`x` to `digits` significant digits, as a decimal with no exponent."""
    exponent = math.floor(math.log10(x)) - digits + 1
    step = Decimal(1).scaleb(exponent)
    value = (Decimal(repr(x)) / step).quantize(Decimal(1)) * step
    return value.quantize(step) if exponent < 0 else value.quantize(Decimal(1))


def _written(r: random.Random, ppm: float, digits: int | None = None) -> tuple[Decimal, str]:
    unit = _unit_for(r, ppm)
    value = _round(ppm / float(UNIT_PPM[unit]), digits or r.choice((1, 2, 2, 2, 3)))
    return (value if value > 0 else Decimal(1).scaleb(value.as_tuple().exponent)), unit  # type: ignore[arg-type]


def _near(r: random.Random, anchor: Decimal, side: str) -> tuple[float, int | None]:
    """A concentration relative to `anchor` in ppm, often close to it, with the digits to write it."""
    u, above = r.random(), side in ("over", "exempt_over")
    if u < 0.25:  # within 5 %: "0.104 %", "1 020 ppm", "0.37 %"
        factor = r.uniform(1.002, 1.05) if above else r.uniform(0.95, 0.998)
        return float(anchor) * factor, r.choice((3, 3, 4))
    if u < 0.55:
        return float(anchor) * (r.uniform(1.05, 1.35) if above else r.uniform(0.65, 0.95)), None
    return float(anchor) * (
        math.exp(r.uniform(math.log(1.35), math.log(25)))
        if above
        else math.exp(r.uniform(math.log(0.002), math.log(0.65)))
    ), None


def _at(r: random.Random, limit: Decimal) -> tuple[Decimal, str]:
    unit = r.choice(("%", "%", "%", "ppm", "mg/kg")) if limit >= 100 else r.choice(("ppm", "mg/kg", "%"))
    value = limit / UNIT_PPM[unit]
    if unit == "%" and r.random() < 0.35:
        value = value.quantize(Decimal("0.01") if value < 1 else Decimal("0.1"))  # "0.10 %", "4.0 %"
    return value.normalize() if value == value.to_integral() else value, unit


def decided(figure: Figure, limits: tuple[Decimal, ...]) -> bool:
    """Whether the rules decide `figure` against every limit in `limits`."""
    try:
        for limit in limits:
            rules.exceeds(figure.quantity(), limit)
    except Undecided:
        return False
    return True


def _relation(r: random.Random, value: Decimal, unit: str, limits: tuple[Decimal, ...]) -> Figure:
    """Qualify a written figure in a way the rules still decide against every limit."""
    options: list[tuple[str, float]] = [
        ("eq", 10),
        ("approx", 1.5),
        ("max", 2.5),
        ("lt", 2.5),
        ("min", 1),
        ("gt", 1.5),
        ("range", 2),
    ]
    while options:
        relation = r.choices([o for o, _ in options], [w for _, w in options])[0]
        options = [o for o in options if o[0] != relation]
        low = None
        if relation == "range":
            exponent = min(0, value.as_tuple().exponent)  # type: ignore[operator]
            low = (value * Decimal(repr(r.uniform(0.3, 0.85)))).quantize(Decimal(1).scaleb(exponent))
            if low <= 0:
                continue
        figure = Figure(value, unit, relation, low)  # type: ignore[arg-type]
        if relation == "approx" and any(figure.quantity().ppm == limit for limit in limits):
            continue  # "ca. 0.1 %" is not a statement about the limit anyone would label
        if decided(figure, limits):
            return figure
    return Figure(value, unit)


def figure_for(r: random.Random, substance: Substance, cls: MaterialClass, side: str) -> Figure:
    """A figure for `substance` in `cls`: `over` or `under` the limit that `side` names.

    side: over | under | at (the general limits), exempt_ok (lead above 0.1 % within an
    exemption, or exactly at one), exempt_over (lead above the exemption).
    """
    limits = limits_for(substance, cls)
    if substance == "asbestos":
        return Figure(_round(math.exp(r.uniform(math.log(0.2), math.log(60))), r.choice((1, 2))), "%")
    if substance == "pfas":
        value, unit = _written(r, math.exp(r.uniform(math.log(0.01), math.log(500))))
        return Figure(value, unit, r.choice(("eq", "eq", "approx")))  # type: ignore[arg-type]
    general = rules.LIMIT_PPM[substance]
    exempt = [x for x in limits if x > general]
    for _ in range(50):
        u = r.random()
        if side == "at" or (side in ("under", "exempt_ok") and u < 0.15):  # exactly at a limit is compliant
            anchor = general if side in ("at", "under") else r.choice(exempt)
            value, unit = _at(r, anchor)
            figure = Figure(value, unit, r.choice(("eq", "eq", "eq", "max", "lt")))  # type: ignore[arg-type]
            if decided(figure, limits):
                return figure
            continue
        if side == "over":
            ppm, digits = _near(r, limits[0] if cls == "other" else general, side)
        elif side == "exempt_over":
            ppm, digits = _near(r, max(limits), side)
            ppm = min(ppm, 400_000)
        elif side == "exempt_ok":
            if u < 0.6:
                ppm, digits = _near(r, r.choice(exempt), "under")
                ppm = max(ppm, float(general) * 1.05)
            else:
                ppm, digits = math.exp(r.uniform(math.log(float(general) * 1.05), math.log(float(max(limits))))), None
        else:  # under
            ppm, digits = _near(r, general, side)
        value, unit = _written(r, ppm, digits)
        figure = _relation(r, value, unit, limits)
        q = figure.quantity()
        sides = {
            "over": rules.exceeds(q, general) if decided(figure, (general,)) else None,
            "under": (not rules.exceeds(q, general)) if decided(figure, (general,)) else None,
            "exempt_over": all(rules.exceeds(q, x) for x in limits) if decided(figure, limits) else None,
            "exempt_ok": (rules.exceeds(q, general) or q.ppm == max(limits)) and not rules.exceeds(q, max(limits))
            if decided(figure, limits + (general,))
            else None,
        }
        if sides.get(side) and decided(figure, limits):
            return figure
    raise RuntimeError(f"no figure for {substance} {side} in {cls}")  # pragma: no cover


# --- records ------------------------------------------------------------------------------------

# focus -> weight: what a record is mainly about; the label is still computed from all its facts
FOCI: dict[str, float] = {
    "lead_over": 10,
    "lead_present": 5,
    "lead_exempt_over": 7.5,
    "cadmium_over": 4,
    "cadmium_present": 3.5,
    "mercury_over": 1.5,
    "mercury_present": 2.5,
    "cr6_over": 2,
    "cr6_present": 4,
    "asbestos_present": 4.5,
    "approval_missing": 7.5,
    "pfas_present": 4,
    "lead_exempt_ok": 10,
    "below_limit": 10,
    "absent": 6.5,
    "approval_valid": 4,
    "approval_not_required": 7,
    "distractor": 5,
    "none": 8,
    "benign_rich": 7,
    "mixed_lead": 6,
}
# mixed_lead: what the other material says beside the exempt one; a figure under or over the general
# limit, or lead, cadmium or Cr(VI) named present with no figure (a leaded solder joint, Cd-plated pins)
_MIXED_LEAD_PRIMARY = {"below_limit_lead": 9, "lead_over": 4, "lead_present": 4, "cadmium_present": 1.5,
                       "cr6_present": 1.5}
_FOCUS_NAMES = tuple(FOCI)
_FOCUS_WEIGHTS = tuple(FOCI.values())
DISTRACTORS: dict[str, tuple[str, ...]] = {
    # false friend -> categories where it occurs (empty: any)
    "lead_time": (),
    "rohs": (),
    "reach": (),
    "ppm_quality": (),
    "drawing_rev": (),
    "chrome_look": ("trim", "body", "wheel", "mirror"),
    "flying_lead": ("wiring", "electronics", "exterior_lamp", "interior_lamp", "horn", "seat", "battery"),
    "lead_wire": ("wiring", "electronics", "exterior_lamp", "interior_lamp", "horn"),
    "lead_in": ("fastener", "engine", "chassis", "body", "brake_hardware"),
    "cd_drag": ("body", "trim", "mirror", "accessory", "exterior_lamp", "wheel", "general"),
    "cd_drive": ("electronics", "general", "accessory"),
    "cd_media": (),
    "unleaded_fuel": ("fluid_line", "engine"),
    "lead_screw": ("seat", "body", "mirror", "exterior_lamp"),
    "ptfe_tape": ("fluid_line", "hvac", "engine", "brake_hardware"),
    "percent_other": (),
    "history": (),
}


def _pick(r: random.Random, options: tuple[str, ...] | list[str]) -> str:
    return options[r.randrange(len(options))]


def _kinds_carrying(substance: Substance, claim: str, classes: tuple[str, ...] | None = None) -> list[str]:
    """Material kinds (of `classes`) of which a `claim` about `substance` can be made."""

    def can(kind: M.MaterialKind) -> bool:
        if claim == "amount":
            return substance in kind.amounts
        if claim == "present":
            return substance in kind.present
        return substance in kind.absent or substance in kind.amounts or substance in kind.present

    return [key for key, kind in M.KINDS.items() if (classes is None or kind.cls in classes) and can(kind)]


def _placements(kinds: list[str]) -> list[tuple[str, str, str]]:
    """(category, role, kind) where a component of one of `kinds` occurs ("" role: the part's body)."""
    wanted = set(kinds)
    out = []
    for category, parts in M.PARTS.items():
        if any(wanted & set(p.body) for p in parts):
            out.extend((category, "", k) for k in sorted(wanted & {b for p in parts for b in p.body}))
        for role, role_kinds in M.ROLE_KINDS[category]:
            out.extend((category, role, k) for k in role_kinds if k in wanted)
    return out


def _name(r: random.Random, kind: str, leaded: bool) -> str:
    spec = M.KINDS[kind]
    leaded = leaded and bool(spec.leaded)
    if (kind, leaded) in M.DESIGNATIONS and r.random() < M.DESIGNATION_SHARE:
        return M.designation(r, kind, leaded)
    return _pick(r, spec.leaded) if leaded else _pick(r, spec.names)


def _benign(r: random.Random, kind: str, share: float = 0.3) -> Claim | None:
    """With probability about `share`, a statement that never makes a component non-compliant."""
    spec = M.KINDS[kind]
    u = r.random() * 0.3 / share
    if u < 0.2:
        options = [s for s in rules.SUBSTANCES if s in spec.absent or s in spec.amounts or s in spec.present]
        options = [s for s in options if s != "pfas" or s in spec.absent]
        if options:
            return Claim(_pick(r, options), "absent")
    elif u < 0.3:
        options = [s for s in spec.amounts if s in METALS]
        if options:
            substance = _pick(r, options)
            if substance == "lead" and spec.cls != "other" and r.random() < 0.6:  # "brass, Pb 2.9 %": exempt
                return Claim("lead", "amount", figure_for(r, "lead", spec.cls, "exempt_ok"))
            return Claim(substance, "amount", figure_for(r, substance, spec.cls, "under"))
    return None


_EXEMPT_ROLES = {
    "brass": ("contacts", "terminals", "insert", "fitting"),
    "bronze": ("bushing", "bearing shell"),
    "machining_steel": ("pin", "shaft", "spindle"),
    "aluminium_alloy": ("bracket", "housing", "heat sink"),
}


def _exempt_lead(r: random.Random, category: str, taken: set[str]) -> Component:
    """A component of an exempt material with lead within its exemption (or named as leaded)."""
    fitting = [
        (role, k) for role, kinds in M.ROLE_KINDS[category] for k in kinds if k in _EXEMPT_ROLES and role not in taken
    ]
    if fitting:
        role, kind = fitting[r.randrange(len(fitting))]
    else:
        kind = _pick(r, tuple(_EXEMPT_ROLES))
        role = _pick(r, _EXEMPT_ROLES[kind])
    unusual = [other for other, _ in M.ROLE_KINDS[category] if other not in taken]
    if unusual and r.random() < UNUSUAL_PLACE_SHARE:
        role = _pick(r, unusual)
    if r.random() < 0.25:
        return Component(role, kind, _name(r, kind, True), [Claim("lead", "present")])
    figure = figure_for(r, "lead", M.KINDS[kind].cls, "exempt_ok")
    return Component(role, kind, _name(r, kind, r.random() < 0.5), [Claim("lead", "amount", figure)])


def _violation(r: random.Random, kind: str) -> Claim | None:
    spec = M.KINDS[kind]
    options = [(s, "amount") for s in spec.amounts if s in METALS] + [
        (s, "present") for s in spec.present if s != "pfas"
    ]
    if spec.cls != "other":
        options = [(s, k) for s, k in options if not (s == "lead" and k == "present")]
    if not options:
        return None
    substance, how = options[r.randrange(len(options))]
    if how == "present":
        return Claim(substance, "present")
    side = "exempt_over" if substance == "lead" and spec.cls != "other" else "over"
    return Claim(substance, "amount", figure_for(r, substance, spec.cls, side))


def _primary(r: random.Random, focus: str) -> tuple[str, str, str, Claim, bool]:
    """(category, role, kind, claim, leaded name) for a focus about a substance."""
    substance_of = {
        "lead": "lead",
        "cadmium": "cadmium",
        "mercury": "mercury",
        "cr6": "cr6",
        "asbestos": "asbestos",
        "pfas": "pfas",
    }
    head = focus.split("_")[0]
    forced: Substance | None = None
    if focus == "below_limit_lead":  # lead under 0.1 % in a material without an exemption
        focus, forced = "below_limit", "lead"
    if focus in ("below_limit", "absent"):
        substance: Substance = forced or r.choices(METALS, (40, 25, 12, 23))[0]
        if focus == "absent" and r.random() < 0.25:
            substance = r.choice(("asbestos", "pfas"))
    else:
        substance = substance_of[head]  # type: ignore[assignment]
    leaded = False
    if focus.endswith("_present"):
        kinds = _kinds_carrying(substance, "present", ("other",) if substance == "lead" else None)
        claim = Claim(substance, "present")
        if substance in ("asbestos", "pfas") and r.random() < 0.25:  # "chrysotile 5 %": any amount
            claim = Claim(substance, "amount", figure_for(r, substance, "other", "over"))
    elif focus == "absent":
        kinds = _kinds_carrying(substance, "absent")
        claim = Claim(substance, "absent")
    elif focus in ("lead_exempt_ok", "lead_exempt_over"):
        cls = r.choices(("copper_alloy", "machining_steel", "aluminium_alloy"), (45, 30, 25))[0]
        kinds = _kinds_carrying("lead", "amount", (cls,))
        side = "exempt_ok" if focus == "lead_exempt_ok" else "exempt_over"
        kind = _pick(r, kinds)
        leaded = r.random() < 0.55
        if focus == "lead_exempt_ok" and r.random() < 0.2:  # "leaded brass", no figure: its exemption covers it
            claim, leaded = Claim("lead", "present"), True
        else:
            claim = Claim("lead", "amount", figure_for(r, "lead", M.KINDS[kind].cls, side))
        category, role, kind = _pick_place(r, [kind])
        return category, role, kind, claim, leaded
    else:
        side = "over" if focus.endswith("_over") else "under"
        classes: tuple[str, ...] | None = ("other",) if substance == "lead" else None
        kinds = _kinds_carrying(substance, "amount", classes)
        if focus == "below_limit" and substance == "lead" and forced is None and r.random() < 0.3:
            kinds = _kinds_carrying(substance, "amount")  # lead under 0.1 % in an exempt material too
        if focus == "lead_over" and r.random() < 0.4:
            kinds = [k for k in kinds if k in ("steel", "zinc", "coating", "solder")]  # metals that look exempt
        claim = Claim(substance, "amount")
        category, role, kind = _pick_place(r, kinds)
        cls = M.KINDS[kind].cls
        claim.figure = figure_for(r, substance, cls, side)
        if focus == "lead_over" and r.random() < 0.35:
            # a figure an exempt material could have (0.3 %, 0.38 %, 3 %) in one that has no exemption
            looks_exempt = r.choice(("copper_alloy", "machining_steel", "aluminium_alloy"))
            tempting = figure_for(r, "lead", looks_exempt, "exempt_ok")  # type: ignore[arg-type]
            if decided(tempting, limits_for("lead", cls)):
                claim.figure = tempting
        return category, role, kind, claim, False
    category, role, kind = _pick_place(r, kinds)
    return category, role, kind, claim, leaded


def _named_present(r: random.Random, focus: str) -> tuple[str, M.Part, str, Substance] | None:
    """(category, part, body kind, substance) for a part whose name states the focus substance."""
    wanted = {
        "lead_present": ("lead", False),
        "lead_exempt_ok": ("lead", True),
        "cadmium_present": ("cadmium", False),
        "mercury_present": ("mercury", False),
        "cr6_present": ("cr6", False),
        "asbestos_present": ("asbestos", False),
        "pfas_present": ("pfas", False),
    }.get(focus)
    if wanted is None:
        return None
    substance, exempt = wanted
    options = [
        (category, noun, caps, kind)
        for category, rows in M.NAMED_PRESENT.items()
        for noun, caps, kind, named in rows
        if named == substance and (M.KINDS[kind].cls != "other") == exempt
    ]
    if not options:
        return None
    category, noun, caps, kind = options[r.randrange(len(options))]
    return category, M.Part(noun, caps, (kind,), substance), kind, substance  # type: ignore[return-value]


COMMON_KINDS = ("plastic", "pvc", "steel", "rubber", "coating", "paint")


def _pick_place(r: random.Random, kinds: list[str]) -> tuple[str, str, str]:
    """A kind of material drawn evenly from `kinds`, then a place for it: (category, role, kind).

    Drawing the kind first keeps every material equally common, however many parts use it, so
    that every (substance, material, amount) combination is seen often enough."""
    weighted = kinds + [k for k in kinds if k in COMMON_KINDS]  # the materials most parts are made of, twice
    places = _placements([weighted[r.randrange(len(weighted))]]) if kinds else []
    if not places:
        raise RuntimeError(f"no part is made of {kinds}")  # pragma: no cover
    category, role, kind = places[r.randrange(len(places))]
    if role and r.random() < UNUSUAL_PLACE_SHARE:
        role = _pick(r, [other for other, _ in M.ROLE_KINDS[category]])
    return category, role, kind


def sample_record(r: random.Random) -> Record:
    """Draw one fact record from the focus mixture."""
    focus = r.choices(_FOCUS_NAMES, _FOCUS_WEIGHTS)[0]
    primary: Component | None = None
    if focus in ("approval_missing", "approval_valid"):
        category = _pick(r, sorted(rules.SAFETY_CRITICAL))
    elif focus == "approval_not_required":
        category = _pick(r, [c for c in M.CATEGORIES if c not in rules.SAFETY_CRITICAL])
    elif focus in ("distractor", "none", "benign_rich"):
        category = _pick(r, M.CATEGORIES)
    elif focus == "mixed_lead":  # brass contacts with Pb 2.8 % (exempt) beside another material's statement
        category, role, kind, claim, leaded = _primary(r, r.choices(tuple(_MIXED_LEAD_PRIMARY),
                                                                      tuple(_MIXED_LEAD_PRIMARY.values()))[0])
        primary = Component(role, kind, _name(r, kind, leaded), [claim])
    else:
        category, role, kind, claim, leaded = _primary(r, focus)
        primary = Component(role, kind, _name(r, kind, leaded), [claim])
        if r.random() < 0.25:  # a second statement about the same material, often an absence
            extra = _benign(r, kind)
            if extra is not None and extra.substance != claim.substance:
                primary.claims.insert(r.randrange(2), extra)

    named = _named_present(r, focus) if r.random() < 0.25 else None
    if named is not None:  # "lead-acid starter battery": the part's name states the substance
        category, part, kind, substance = named
        primary = Component("", kind, _name(r, kind, False), [Claim(substance, "present")], said_by_part=substance)
    else:
        parts = M.PARTS[category]
        if primary is not None and not primary.role:
            usual = [p for p in parts if primary.kind in p.body]
            part = _pick(r, [p for p in parts if p.body] if r.random() < UNUSUAL_PLACE_SHARE else usual)
        elif M.ECHO_PARTS.get(category) and r.random() < ECHO_PART_SHARE:
            part = _pick(r, M.ECHO_PARTS[category])  # "relay with AgSnO2 contacts": a hazard part's harmless twin
        else:
            part = _pick(r, parts)
    components: list[Component] = []
    rich = focus == "benign_rich"  # several statements, all of them harmless
    share = 0.9 if rich else 0.3
    short = not rich and r.random() < 0.3
    if primary is not None and not primary.role:
        components.append(primary)
    elif part.body and (primary is None or r.random() < 0.5):
        kind = _pick(r, part.body)
        components.append(
            Component(
                "",
                kind,
                _name(r, kind, r.random() < 0.15),
                [c for c in [_benign(r, kind, share)] if c and focus != "none"],
            )
        )
    roles = [(role, kinds) for role, kinds in M.ROLE_KINDS[category] if primary is None or role != primary.role]
    n_extra = 0 if short else r.choice((2, 3, 3, 4) if rich else (0, 1, 1, 2, 2, 3))
    if primary is None and not components:
        n_extra = max(1, n_extra)
    extras = []
    for role, kinds in r.sample(roles, min(n_extra, len(roles))):
        kind = _pick(r, kinds)
        claims = [c for c in [_benign(r, kind, share)] if c and focus != "none"]
        if focus not in ("none", "distractor", "benign_rich") and not claims and r.random() < 0.04:
            claims = [c for c in [_violation(r, kind)] if c]
        extras.append(Component(role, kind, _name(r, kind, r.random() < 0.15), claims))
    if primary is not None and primary.role:
        extras.insert(r.randrange(len(extras) + 1), primary)
    if focus == "mixed_lead":
        extras.insert(r.randrange(len(extras) + 1), _exempt_lead(r, category, {c.role for c in extras}))
    components.extend(extras)
    for component in components:
        if M.ECHOES[component.kind] and not any(c.kind == "present" for c in component.claims) \
                and r.random() < ECHO_SHARE:
            component.name = _pick(r, M.ECHOES[component.kind]).format(m=_name(r, component.kind, False))

    record = Record(category, part, components, focus=focus)
    safety = category in rules.SAFETY_CRITICAL
    if focus == "approval_missing" or focus == "approval_not_required":
        record.approval = "missing"
    elif focus == "approval_valid":
        record.approval = "valid"
    elif safety:
        u = r.random()
        record.approval = "valid" if u < 0.3 else ("missing" if u < 0.33 else "silent")
    elif r.random() < 0.07:
        record.approval = r.choice(("missing", "valid"))
    if record.approval == "missing":
        record.approval_how = r.choices(
            (
                "pending",
                "not_marked",
                "expired",
                "withdrawn",
                "revoked",
                "not_homologated",
                "none_kv",
                "suspended",
                "lapsed",
                "awaiting",
                "refused",
            ),
            (16, 14, 14, 10, 6, 8, 7, 4, 5, 10, 3),
        )[0]
    elif record.approval == "valid":
        record.approval_how = r.choice(("mark", "regulation", "certificate", "renewed"))
    claimed = {k.substance for c in components for k in c.claims if k.kind != "absent"}
    if r.random() < (0.35 if rich else 0.1):
        free = [x for x in ("lead", "cadmium", "mercury", "cr6", "asbestos") if x not in claimed]
        record.declared_absent = r.sample(free, min(len(free), r.randint(2, 4)))
    fits = [d for d, cats in DISTRACTORS.items() if not cats or category in cats]
    n_distractors = (1 + (r.random() < 0.4)) if focus == "distractor" else (r.random() < 0.25) + (r.random() < 0.1)
    record.distractors = r.sample(fits, min(n_distractors, len(fits)))
    return record


# --- counterfactual twins ---------------------------------------------------------------------------

# a safety-critical category and one outside the closed list whose parts read alike
_LOOKALIKE = {
    "brake_friction": "brake_hardware",
    "exterior_lamp": "interior_lamp",
    "glazing": "mirror",
    "tyre": "wheel",
    "seat_belt": "seat",
    "airbag": "electronics",
}
_LOOKALIKE.update({v: k for k, v in list(_LOOKALIKE.items())})


def twin(record: Record, r: random.Random) -> Record | None:
    """The same record with one decisive fact changed: a minimal pair for the network.

    One of: the material holding a lead figure swapped for one of another class (brass for PVC,
    plain steel for free-cutting steel), a figure moved to the other side of its limit, a part swapped
    for a look-alike across the closed list, or a substance's presence turned into its absence (or back).
    Everything else, wording included when rendered with the same random state, stays the same.
    """
    copy = deepcopy(record)
    options: list[Callable[[], bool]] = []
    for component in copy.components:
        for i, claim in enumerate(component.claims):
            if claim.kind == "amount" and claim.substance == "lead" and not component.said_by_part:
                options.append(partial(_swap_material, r, component, claim))
            if claim.kind == "amount" and claim.substance in METALS:
                options.append(partial(_move_figure, r, component, claim))
            if claim.kind in ("present", "absent") and not component.said_by_part and claim.substance != "pfas":
                options.append(partial(_flip_presence, component, i))
    if copy.approval != "silent":
        options.append(partial(_swap_category, r, copy))
    r.shuffle(options)
    if not any(change() for change in options[:3]):
        return None
    claimed = {k.substance for c in copy.components for k in c.claims if k.kind != "absent"}
    copy.declared_absent = [s for s in copy.declared_absent if s not in claimed]
    return copy


def _swap_material(r: random.Random, component: Component, claim: Claim) -> bool:
    assert claim.figure is not None
    exempt = component.cls != "other"
    classes = ("other",) if exempt else EXEMPT_CLASSES
    kinds = [
        k
        for k in _kinds_carrying("lead", "amount", classes)
        if decided(claim.figure, limits_for("lead", M.KINDS[k].cls))
    ]
    if not kinds:
        return False
    component.kind = kinds[r.randrange(len(kinds))]
    component.name = _name(r, component.kind, False)
    return True


def _move_figure(r: random.Random, component: Component, claim: Claim) -> bool:
    limit = rules.limit_ppm(claim.substance, component.cls, "R1")
    if limit is None or claim.figure is None or not decided(claim.figure, (limit,)):
        return False
    over = rules.exceeds(claim.figure.quantity(), limit)
    if component.cls != "other" and claim.substance == "lead":
        side = "exempt_ok" if over else "exempt_over"
    else:
        side = "under" if over else "over"
    claim.figure = figure_for(r, claim.substance, component.cls, side)
    return True


def _flip_presence(component: Component, index: int) -> bool:
    claim = component.claims[index]
    if claim.kind == "present" and claim.substance == "lead" and component.cls != "other":
        return False  # "leaded brass" has no absent twin worth teaching
    component.claims[index] = Claim(claim.substance, "absent" if claim.kind == "present" else "present")
    return True


def _swap_category(r: random.Random, record: Record) -> bool:
    """The part moved across the closed list: to its look-alike when it has one (half the time), else to
    any category on the other side, so that a horn or a wiper "not E-marked" is seen beside a lamp."""
    safety = record.category in rules.SAFETY_CRITICAL
    if record.category in _LOOKALIKE and r.random() < 0.5:
        category = _LOOKALIKE[record.category]
    else:
        category = _pick(r, [c for c in M.CATEGORIES if (c in rules.SAFETY_CRITICAL) != safety])
    record.category = category
    record.part = _pick(r, M.PARTS[category])
    return True
