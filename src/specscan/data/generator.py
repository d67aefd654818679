"""Synthetic, labelled vehicle component descriptions for training the compliance classifier.

Every row starts as a structured fact record (category, components with their host materials,
one stated substance fact per component, approval status, distractors). The label is computed
from the facts with the rules of revision R1 or R2 (shared/spec/compliance-rules.md), and
only then are the facts rendered to free text by one of many phrasing families. Facts do
not depend on the revision: the same seed gives the same texts under R1 and R2, and only the
labels of rows touched by the R2 changes (PFAS, copper-alloy lead between 2 % and 4 %) differ.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import Literal

import numpy as np
import pandas as pd

from specscan.data import vocabulary as V
from specscan.texts import MAX_CHARS, duplicate_key, text_problem

Revision = Literal["R1", "R2"]

COLUMNS = ("id", "text", "label", "label_clean", "category", "rule", "family", "near_threshold", "revision")
CATEGORIES: tuple[str, ...] = tuple(V.PARTS)
VIOLATION_RULES = ("lead", "mercury", "cr6", "cadmium", "asbestos", "type_approval", "pfas")
COMPLIANT_RULES = (
    "lead_exemption_copper",
    "lead_exemption_steel",
    "lead_exemption_aluminium",
    "substance_below_limit",
    "substance_absent",
    "asbestos_free",
    "approval_stated",
    "approval_not_required",
    "pfas_free",
    "pfas_not_restricted",
    "false_friend",
    "none",
)
RULES: dict[str, tuple[str, ...]] = {
    "R1": tuple(r for r in VIOLATION_RULES + COMPLIANT_RULES if r != "pfas"),
    "R2": tuple(r for r in VIOLATION_RULES + COMPLIANT_RULES if r != "pfas_not_restricted"),
}
"""Every rule a data set of that revision exercises."""

# ----------------------------------------------------------------------------- the regulation

LIMIT_PPM = {"lead": 1000, "mercury": 1000, "cr6": 1000, "cadmium": 100}
LEAD_EXEMPTION_PPM: dict[str, dict[str, int]] = {
    "R1": {"copper_alloy": 40_000, "machining_steel": 3_500, "aluminium_alloy": 4_000},
    "R2": {"copper_alloy": 20_000, "machining_steel": 3_500, "aluminium_alloy": 4_000},
}
_EXEMPTION_RULE = {
    "copper_alloy": "lead_exemption_copper",
    "machining_steel": "lead_exemption_steel",
    "aluminium_alloy": "lead_exemption_aluminium",
}


def limit_ppm(substance: str, host_cls: str, revision: Revision) -> int | None:
    """Concentration limit in ppm for a substance in a host material class, None if any amount."""
    if substance == "lead":
        return LEAD_EXEMPTION_PPM[revision].get(host_cls, LIMIT_PPM["lead"])
    return LIMIT_PPM.get(substance)


# ppb per unit, so that every comparison below is exact integer arithmetic
_PPB = {"%": 10_000_000, "ppm": 1_000, "ppb": 1}


@dataclass(frozen=True, slots=True)
class Amount:
    """A stated concentration: value / 10**decimals in unit, with how it was qualified."""

    value: int
    decimals: int
    unit: str  # "%", "ppm" or "ppb"
    qualifier: str = "eq"  # eq | approx | max | lt | gt | range
    low: int | None = None  # lower end of a range, same scale as value

    def compare(self, limit: int) -> int:
        """Sign of (stated value - limit in ppm)."""
        lhs = self.value * _PPB[self.unit]
        rhs = limit * 1000 * 10**self.decimals
        return (lhs > rhs) - (lhs < rhs)

    def near(self, limit: int) -> bool:
        """True when the stated value is within ±30 % (relative) of the limit."""
        lhs = self.value * _PPB[self.unit] * 10
        rhs = limit * 1000 * 10**self.decimals
        return 7 * rhs <= lhs <= 13 * rhs


@dataclass(frozen=True, slots=True)
class Mention:
    """One statement about a substance: a concentration, its presence or its absence."""

    substance: str
    mode: str  # conc | present | absent
    amount: Amount | None = None


@dataclass(slots=True)
class Component:
    """A part of the component made of one homogeneous host material."""

    role: str  # "" when the material is the whole part
    host: str
    material: str
    short: str
    mention: Mention | None = None
    bind: bool = False  # the text must tie the stated amount to this material unmistakably


@dataclass(slots=True)
class Facts:
    """Everything a description says; the label is a function of these and the revision."""

    category: str
    part: str
    part_caps: str
    components: list[Component]
    approval: str = "silent"  # silent | named | missing
    primary: int | str = "none"  # component index, or "approval" | "false_friend" | "none"
    specs: list[str] = field(default_factory=list)
    false_friend: str | None = None
    supplier: str = ""
    part_no: str = ""
    qty: int = 1


def judge(mention: Mention, host_cls: str, revision: Revision) -> tuple[bool, str]:
    """(violates, rule) for one substance statement in a host material class."""
    sub = mention.substance
    if sub == "asbestos":
        return (False, "asbestos_free") if mention.mode == "absent" else (True, "asbestos")
    if sub == "pfas":
        if mention.mode == "absent":
            return False, "pfas_free"
        return (True, "pfas") if revision == "R2" else (False, "pfas_not_restricted")
    if mention.mode == "absent":
        return False, "substance_absent"
    if mention.mode == "present":
        return True, sub
    amount = mention.amount
    assert amount is not None
    limit = limit_ppm(sub, host_cls, revision)
    assert limit is not None
    sign = amount.compare(limit)
    if sign > 0 or (sign == 0 and amount.qualifier == "gt"):
        return True, sub
    if sub == "lead" and host_cls in _EXEMPTION_RULE and amount.compare(LIMIT_PPM["lead"]) > 0:
        return False, _EXEMPTION_RULE[host_cls]
    return False, "substance_below_limit"


def label_facts(facts: Facts, revision: Revision) -> tuple[bool, str, bool]:
    """(non_compliant, rule, near_threshold) of a fact record under a revision."""
    violations: list[tuple[int | str, str]] = []
    primary_rule = "false_friend" if facts.primary == "false_friend" else "none"
    near = False
    for i, comp in enumerate(facts.components):
        m = comp.mention
        if m is None:
            continue
        cls = V.HOSTS[comp.host].cls
        bad, rule = judge(m, cls, revision)
        if m.amount is not None:
            limit = limit_ppm(m.substance, cls, revision)
            near = near or (limit is not None and m.amount.near(limit))
        if bad:
            violations.append((i, rule))
        elif facts.primary == i:
            primary_rule = rule
    safety = facts.category in V.SAFETY_CATEGORIES
    if facts.approval == "missing" and safety:
        violations.append(("approval", "type_approval"))
    elif facts.primary == "approval":
        primary_rule = "approval_stated" if facts.approval == "named" else "approval_not_required"
    if violations:
        for where, rule in violations:
            if where == facts.primary:
                return True, rule, near
        return True, violations[0][1], near
    return False, primary_rule, near


# ----------------------------------------------------------------------------- sampling facts

# scenario -> weight; the scenario only steers sampling, the label is recomputed from the facts
_SCENARIOS: tuple[tuple[str, float], ...] = (
    ("lead_over", 8.5),
    ("lead_present", 3.5),
    ("lead_over_exempt", 3.0),
    ("mercury_over", 1.5),
    ("mercury_present", 3.5),
    ("cr6_over", 2.0),
    ("cr6_present", 4.5),
    ("cadmium_over", 3.0),
    ("cadmium_present", 4.0),
    ("asbestos_present", 6.5),
    ("approval_missing", 9.0),
    ("lead_exempt_copper", 4.5),
    ("lead_exempt_steel", 3.5),
    ("lead_exempt_aluminium", 3.0),
    ("below_limit", 8.5),
    ("absent", 7.5),
    ("asbestos_free", 4.0),
    ("approval_named", 5.0),
    ("approval_not_required", 3.5),
    ("pfas_free", 2.0),
    ("pfas_present", 4.0),
    ("false_friend", 4.0),
    ("none", 4.0),
)
_SCEN_NAMES = [s for s, _ in _SCENARIOS]
_SCEN_CUM = list(accumulate(w for _, w in _SCENARIOS))
_METALS = ("lead", "cadmium", "mercury", "cr6")
_MODE_CODE = {"conc": "c", "present": "p", "absent": "a"}
_MISSING_NOTE_CATEGORIES = (
    "interior",
    "trim",
    "fastener",
    "wiring",
    "electronics",
    "body",
    "fluid_line",
    "seal_gasket",
    "battery",
    "hvac",
    "accessory",
    "service",
    "engine",
)


@cache
def _candidates(sub: str, mode: str, cls: str | None) -> dict[str, list[tuple[int, str, str]]]:
    """category -> [(part index or -1, role, host)] able to carry (substance, mode)."""
    code = _MODE_CODE[mode]
    out: dict[str, list[tuple[int, str, str]]] = {}

    def ok(host: str) -> bool:
        h = V.HOSTS[host]
        if cls == "other_only":
            return code in h.supports.get(sub, "") and h.cls == "other"
        if cls == "exempt_only":
            return code in h.supports.get(sub, "") and h.cls != "other"
        return code in h.supports.get(sub, "") and (cls is None or h.cls == cls)

    for cat, parts in V.PARTS.items():
        for i, (_, _, host) in enumerate(parts):
            if host is not None and ok(host):
                out.setdefault(cat, []).append((i, "", host))
        for role, host in V.SLOTS[cat]:
            if ok(host):
                out.setdefault(cat, []).append((-1, role, host))
    return out


_ALT = re.compile(r"\{([^{}]*\|[^{}]*)\}")


def _fill(template: str, r: random.Random) -> str:
    """Resolve "{a|b|c}" alternatives."""
    if "{" not in template:
        return template
    return _ALT.sub(lambda m: r.choice(m.group(1).split("|")), template)


def _quantize(x: float, sig: int) -> tuple[int, int]:
    exp = math.floor(math.log10(x))
    dec = sig - 1 - exp
    if dec >= 0:
        return max(1, round(x * 10**dec)), dec
    step = 10 ** (-dec)
    return max(step, round(x / step) * step), 0


def _amount(r: random.Random, ppm: float, limits: tuple[int, ...], sub: str, at: bool = False) -> Amount:
    """Quantize a concentration to how a person would write it, then pick a qualifier that
    keeps the statement on one side of every limit it may be judged against."""
    if sub == "pfas":
        unit = "ppb" if ppm < 1 else ("%" if ppm >= 10 and r.random() < 0.2 else "ppm")
    elif sub == "asbestos":
        unit = "%"
    elif ppm >= 10_000:
        unit = "%" if r.random() < 0.92 else "ppm"
    elif ppm < 20:
        unit = "ppm"
    else:
        unit = "%" if r.random() < (0.6 if sub != "cadmium" else 0.4) else "ppm"
    scale = {"%": 1e-4, "ppm": 1.0, "ppb": 1000.0}[unit]
    if at:
        x = ppm * scale
        dec = 0 if x >= 1 else -math.floor(math.log10(x))
        if unit == "%" and r.random() < 0.3:
            dec += 1  # "0.10 %", "4.0 %"
        value = round(x * 10**dec)
    else:
        value, dec = _quantize(ppm * scale, r.choice((1, 2, 2, 2, 3)))
    base = Amount(value, dec, unit)
    if sub in ("pfas", "asbestos"):
        return Amount(value, dec, unit, r.choice(("eq", "eq", "approx")))
    signs = [base.compare(lim) for lim in limits]
    pool = ["eq"] * 6 + ["approx"] * 2
    if all(s <= 0 for s in signs):
        pool += ["max"] * 2 + ["lt"] * 3
    if all(s >= 0 for s in signs):
        pool += ["gt"] * 2
    qual = r.choice(pool + ["range"] * 2)
    if qual == "range":
        low = int(value * r.uniform(0.4, 0.85))
        lo_amount = Amount(low, dec, unit)
        if low < 1 or any(
            (lo_amount.compare(lim) > 0) != (s > 0) for lim, s in zip(limits, signs, strict=True)
        ):
            qual = "eq"
        else:
            return Amount(value, dec, unit, "range", low)
    return Amount(value, dec, unit, qual)


def _loguniform(r: random.Random, lo: float, hi: float) -> float:
    return math.exp(r.uniform(math.log(lo), math.log(hi)))


def _conc(r: random.Random, sub: str, host_cls: str, target: str) -> Amount:
    """A concentration on the requested side of the substance's limit in this host."""
    limits = tuple(sorted({limit_ppm(sub, host_cls, rev) or 0 for rev in ("R1", "R2")}))
    if sub == "pfas":
        return _amount(r, _loguniform(r, 0.005, 50), (), sub)
    if sub == "asbestos":
        return _amount(r, _loguniform(r, 5_000, 400_000), (), sub)
    if target == "exempt_ok":  # lead above 0.1 % but within the exemption (R1)
        lim = limits[-1]
        u = r.random()
        if host_cls == "copper_alloy" and u < 0.3:
            ppm = r.uniform(14_000, 26_000)
        elif u < 0.4:
            ppm = r.uniform(0.7 * lim, lim)
        elif u < 0.5:
            return _amount(r, float(r.choice(limits)), limits, sub, at=True)
        else:
            ppm = _loguniform(r, 1_200, 0.7 * lim)
        return _amount(r, ppm, limits, sub)
    lim = limits[-1] if target in ("over", "exempt_over") else limits[0]
    u = r.random()
    if target in ("over", "exempt_over"):
        if u < 0.35:
            ppm = r.uniform(1.02 * lim, 1.3 * lim)
        elif u < 0.88 or sub != "lead":
            ppm = _loguniform(r, 1.3 * lim, 12 * lim)
        else:  # gross violations: "5 %", "12 %" lead in any host
            ppm = _loguniform(r, max(1.3 * lim, 20_000), 150_000)
        if target == "exempt_over":
            ppm = min(ppm, 120_000)
    else:  # below
        if u < 0.12:
            return _amount(r, float(lim), limits, sub, at=True)
        ppm = r.uniform(0.7 * lim, lim) if u < 0.4 else _loguniform(r, 0.002 * lim, 0.7 * lim)
    return _amount(r, ppm, limits, sub)


def _material(r: random.Random, host: str, lead_stated: bool) -> tuple[str, str]:
    h = V.HOSTS[host]
    if lead_stated and h.lead_names and r.random() < 0.4:
        return r.choice(h.lead_names)
    return r.choice(h.names)


def _component(r: random.Random, role: str, host: str, mention: Mention | None) -> Component:
    lead_stated = mention is not None and mention.substance == "lead" and mention.mode == "conc"
    name, short = _material(r, host, lead_stated)
    return Component(role, host, name, short, mention)


def _benign(r: random.Random, host: str) -> Mention | None:
    """An optional statement that keeps the component compliant under both revisions."""
    supports = V.HOSTS[host].supports
    u = r.random()
    if u < 0.22:
        subs = [s for s, modes in supports.items() if "a" in modes]
        if subs:
            return Mention(r.choice(subs), "absent")
    elif u < 0.30:
        subs = [s for s, modes in supports.items() if "c" in modes and s in LIMIT_PPM]
        if subs:
            sub = r.choice(subs)
            return Mention(sub, "conc", _conc(r, sub, V.HOSTS[host].cls, "below"))
    return None


def _violation(r: random.Random, host: str) -> Mention | None:
    supports = V.HOSTS[host].supports
    options = [(s, m) for s, modes in supports.items() for m in modes if s != "pfas" and m != "a"]
    if not options:
        return None
    sub, code = r.choice(options)
    if code == "p":
        return Mention(sub, "present")
    return Mention(sub, "conc", _conc(r, sub, V.HOSTS[host].cls, "over"))


_SCENARIO_SPEC: dict[str, tuple[str, str, str | None, str]] = {
    # scenario: (substance, mode, host class filter, concentration target)
    "lead_over": ("lead", "conc", "other_only", "over"),
    "lead_present": ("lead", "present", None, ""),
    "lead_over_exempt": ("lead", "conc", "exempt_only", "exempt_over"),
    "lead_exempt_copper": ("lead", "conc", "copper_alloy", "exempt_ok"),
    "lead_exempt_steel": ("lead", "conc", "machining_steel", "exempt_ok"),
    "lead_exempt_aluminium": ("lead", "conc", "aluminium_alloy", "exempt_ok"),
    "mercury_over": ("mercury", "conc", None, "over"),
    "mercury_present": ("mercury", "present", None, ""),
    "cr6_over": ("cr6", "conc", None, "over"),
    "cr6_present": ("cr6", "present", None, ""),
    "cadmium_over": ("cadmium", "conc", None, "over"),
    "cadmium_present": ("cadmium", "present", None, ""),
    "asbestos_present": ("asbestos", "present", None, ""),
    "asbestos_free": ("asbestos", "absent", None, ""),
    "pfas_free": ("pfas", "absent", None, ""),
    "pfas_present": ("pfas", "present", None, ""),
}


def _pick_scenario(r: random.Random) -> str:
    x = r.random() * _SCEN_CUM[-1]
    for name, cum in zip(_SCEN_NAMES, _SCEN_CUM, strict=True):
        if x < cum:
            return name
    return _SCEN_NAMES[-1]


def _part_no(r: random.Random) -> str:
    k = r.randrange(5)
    if k == 0:
        return f"{r.randrange(1000, 9999)}-{r.randrange(100, 999)}-{r.randrange(10, 99):02d}"
    if k == 1:
        return f"A{r.randrange(1_000_000, 9_999_999)}"
    if k == 2:
        return f"{r.randrange(10**9, 10**10)}"
    if k == 3:
        return f"{r.choice('KLMNPRSTW')}{r.choice('ABCDEFGH')}-{r.randrange(10000, 99999)}"
    head = f"{r.randrange(1, 9)}{r.choice('KGHJ')}{r.randrange(0, 9)}"
    return f"{head} {r.randrange(100, 999)} {r.randrange(100, 999)} {r.choice('ABCDE')}"


def sample_facts(r: random.Random) -> Facts:
    """Draw one fact record from the scenario mixture."""
    scen = _pick_scenario(r)
    primary_comp: Component | None = None
    if scen.startswith("approval_") or scen in ("false_friend", "none"):
        if scen in ("approval_missing", "approval_named"):
            cat = r.choice(sorted(V.SAFETY_CATEGORIES))
        elif scen == "approval_not_required":
            cat = r.choice(_MISSING_NOTE_CATEGORIES)
        else:
            cat = r.choice(CATEGORIES)
        part_idx, role, host = -1, "", ""
    else:
        if scen in ("below_limit", "absent"):
            sub = r.choices(_METALS, (40, 30, 12, 18))[0]
            mode, cls, target = ("conc", None, "below") if scen == "below_limit" else ("absent", None, "")
        else:
            sub, mode, cls, target = _SCENARIO_SPEC[scen]
        if sub == "asbestos" and mode == "present" and r.random() < 0.25:
            mode = "conc"
        if sub == "pfas" and mode == "present" and r.random() < 0.2:
            mode = "conc"
            cands = _candidates(sub, "present", cls)
        else:
            cands = _candidates(sub, mode, cls)
        cat = r.choice(sorted(cands))
        part_idx, role, host = r.choice(cands[cat])
        if mode == "conc":
            mention = Mention(sub, mode, _conc(r, sub, V.HOSTS[host].cls, target))
        else:
            mention = Mention(sub, mode)
        primary_comp = _component(r, role, host, mention)

    parts = V.PARTS[cat]
    part, part_caps, main_host = parts[part_idx] if part_idx >= 0 else r.choice(parts)
    # hand-written descriptions are often terse: one material, one fact, at most one spec
    terse = r.random() < 0.3
    comps: list[Component] = []
    if primary_comp is not None and not primary_comp.role:
        comps.append(primary_comp)
    elif main_host is not None and (primary_comp is None or (not terse and r.random() < 0.45)):
        comps.append(_component(r, "", main_host, _benign(r, main_host) if scen != "none" else None))
    used = {c.role for c in comps} | ({primary_comp.role} if primary_comp else set())
    by_role: dict[str, list[str]] = {}
    for role_, host_ in V.SLOTS[cat]:
        if role_ not in used and host_ != "lead_metal":
            by_role.setdefault(role_, []).append(host_)
    slots = [(role_, r.choice(hosts)) for role_, hosts in by_role.items()]
    n_extra = r.choice((0, 0, 0, 1, 1, 2)) if primary_comp else r.choice((0, 1, 1, 2))
    if terse:
        n_extra = 0 if primary_comp or comps else 1
    extras: list[Component] = []
    for role_, host_ in r.sample(slots, min(n_extra, len(slots))):
        mention_ = None if scen == "none" else _benign(r, host_)
        extras.append(_component(r, role_, host_, mention_))
    if primary_comp is not None and primary_comp.role:
        extras.insert(r.randrange(len(extras) + 1), primary_comp)
    if extras and scen not in ("none", "false_friend") and r.random() < 0.03:
        victim = r.choice(extras)
        if victim is not primary_comp and victim.mention is None:
            victim.mention = _violation(r, victim.host)
    comps.extend(extras)
    if len({V.HOSTS[c.host].cls for c in comps}) > 1:
        for c in comps:
            c.bind = c.mention is not None and c.mention.substance == "lead" and c.mention.mode == "conc"
    if not comps and main_host is None and (primary_comp is not None or r.random() < 0.6):
        role_, host_ = r.choice([s for s in V.SLOTS[cat] if s[1] != "lead_metal"])
        comps.append(_component(r, role_, host_, None))

    facts = Facts(cat, part, part_caps, comps)
    if primary_comp is not None:
        facts.primary = next(i for i, c in enumerate(comps) if c is primary_comp)
    else:
        facts.primary = scen
    if scen == "approval_missing" or scen == "approval_not_required":
        facts.approval, facts.primary = "missing", "approval"
    elif scen == "approval_named":
        facts.approval, facts.primary = "named", "approval"
    elif cat in V.SAFETY_CATEGORIES:
        u = r.random()
        facts.approval = "named" if u < 0.25 else ("missing" if u < 0.27 else "silent")
    elif r.random() < 0.06:
        facts.approval = r.choice(("missing", "named"))
    if scen == "none":
        facts.primary = "none"
    specs = list(V.SPECS[cat])
    n_specs = r.choice((0, 0, 1)) if terse else r.choice((0, 0, 1, 1, 2, 2, 3))
    facts.specs = [_fill(s, r) for s in r.sample(specs, min(n_specs, len(specs)))]
    if r.random() < (0.1 if terse else 0.3):
        facts.specs.append(_fill(r.choice(V.SPECS_ANY), r))
    if scen == "false_friend" or r.random() < 0.06:
        fits = [p for p, cats in V.FALSE_FRIENDS.items() if not cats or cat in cats]
        facts.false_friend = _fill(r.choice(fits), r)
    facts.supplier = r.choice(V.SUPPLIERS)
    facts.part_no = _part_no(r)
    facts.qty = r.choice((1, 2, 4, 4, 10, 25, 50, 100, 250, 500, 1000))
    return facts


# ----------------------------------------------------------------------------- rendering


@dataclass(slots=True)
class _Style:
    comma: bool = False  # decimal comma
    sym: float = 0.6  # probability of writing "Pb" rather than "lead"
    german: bool = False


_LT = ("< ", "<", "below ", "less than ", "under ", "< ", "<", "lower than ")
_GT = ("> ", ">", "above ", "more than ", "over ", "exceeding ", "in excess of ")
_MAX = ("max. ", "max ", "≤ ", "up to ", "not more than ", "max. ", "≤", "<= ", "not exceeding ", "maximum ")
_MAX_AFTER = ("{q} max", "{q} max.", "{q} or less", "not exceeding {q}", "{q} or below", "at most {q}", "{q} maximum")
_APPROX = ("approx. ", "ca. ", "~", "about ", "approximately ", "approx ", "~ ", "around ", "roughly ")
_RANGE = ("-", "–", " - ", " to ", "…")


def _num(value: int, dec: int, st: _Style) -> str:
    text = f"{value / 10**dec:.{dec}f}" if dec else str(value)
    return text.replace(".", ",") if st.comma else text


def _unit(unit: str, r: random.Random) -> str:
    if unit == "%":
        return r.choice(V.PCT_UNITS)
    if unit == "ppm":
        return r.choice(V.PPM_UNITS)
    return r.choice((" ppb", " µg/kg", "ppb"))


def _q(a: Amount, r: random.Random, st: _Style) -> str:
    """The quantity with its qualifier and unit, e.g. "max. 0.3 wt%", "< 100 ppm"."""
    u = _unit(a.unit, r)
    v = _num(a.value, a.decimals, st)
    if a.qualifier == "range":
        assert a.low is not None
        return f"{_num(a.low, a.decimals, st)}{r.choice(_RANGE)}{v}{u}"
    if a.qualifier == "max" and r.random() < 0.4:
        return r.choice(_MAX_AFTER).format(q=f"{v}{u}")
    if a.qualifier == "lt" and a.unit == "ppm" and a.value <= 50 * 10**a.decimals and r.random() < 0.3:
        return f"traces <{r.choice(('', ' '))}{v}{u}"
    if a.qualifier == "eq" and r.random() < 0.03:
        return f"exactly {v}{u}"
    pre = {"eq": ("",), "approx": _APPROX, "max": _MAX, "lt": _LT, "gt": _GT}[a.qualifier]
    return f"{r.choice(pre)}{v}{u}"


def _sym(sub: str, r: random.Random, st: _Style) -> str:
    symbols, words = V.NAMES[sub]
    return r.choice(symbols) if r.random() < st.sym else r.choice(words)


_CONC_GENERIC = (
    ("", ", {s} {q}"),
    ("", " ({s} {q})"),
    ("", " with {q} {s}"),
    ("", ", {s} content {q}"),
    ("", ", {s} {q} in the {short}"),
    ("", ", {q} {s}"),
    ("", ", {s}: {q}"),
    ("", " - {s} = {q}"),
    ("", "; {s} {q} in the {short}"),
    ("", ", {s} content of {q}"),
    ("", " ({q} {s})"),
    ("", ", {s} {q}"),
    ("", " ({s} {q})"),
)
# where materials with different lead limits meet, the amount is written into its material
_CONC_BOUND = (
    ("", " ({s} {q})"),
    ("", ", {s} {q} in the {short}"),
    ("", "; {s} {q} in the {short}"),
    ("", " with {q} {s}"),
    ("", " ({q} {s})"),
)
_CONC_GERMAN = (("", ", {s}-content {q}"), ("", ", content of {s} {q}"), ("", " with {s}-content of {q}"))
_CONC_HOST: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("lead", "pvc"): (
        ("", " with lead stabiliser ({q} {s})"),
        ("lead-stabilised ", " ({s} {q})"),
        ("", ", lead stabiliser {q} {s}"),
    ),
    ("cadmium", "plastic"): (
        ("", ", {s} {q} in pigment"),
        ("", ", pigment {s} {q}"),
        ("", ", {s} {q} in the colour masterbatch"),
    ),
    ("cadmium", "pvc"): (("", ", {s} {q} in pigment"),),
    ("cr6", "steel"): (("", ", passivation layer {s} {q}"),),
    ("cr6", "zinc"): (("", ", passivation layer {s} {q}"),),
    ("cr6", "leather"): (("", ", {s} {q} (tanning residue)"),),
}


def _split(template: str, material: str) -> tuple[str, str]:
    if "{m}" not in template:
        return template, ""
    pre, post = template.split("{m}", 1)
    return pre + material, post


def _mention_parts(c: Component, r: random.Random, st: _Style, prefix_ok: bool) -> tuple[str, str]:
    """(core, suffix): the material with its substance statement woven in."""
    m = c.mention
    if m is None:
        return c.material, ""
    if m.mode == "present":
        core, suffix = _split(r.choice(V.PRESENT[(m.substance, c.host)]), c.material)
        if prefix_ok and suffix.startswith(", ") and r.random() < 0.25:
            return "", suffix[2:]  # "Door hinge pin, yellow chromate conversion coating"
        return core, suffix
    if m.mode == "absent":
        specific = V.ABSENT_HOST.get((m.substance, c.host))
        if specific and r.random() < 0.6:
            core, suffix = _split(r.choice(specific), c.material)
            if prefix_ok and suffix.startswith(", ") and r.random() < 0.25:
                return "", suffix[2:]
            return core, suffix
        a = r.choice(V.ABSENT_GENERIC[m.substance])
        if a.endswith("free") and " " not in a and r.random() < 0.5:
            return f"{a} {c.material}", ""
        return c.material, r.choice((", {a}", " ({a})", " - {a}", ", {a}", "; {a}")).format(a=a)
    assert m.amount is not None
    pool: tuple[tuple[str, str], ...] = _CONC_GENERIC
    specific_conc = _CONC_HOST.get((m.substance, c.host))
    if specific_conc and r.random() < 0.4:
        pool = specific_conc
    elif st.german and r.random() < 0.5:
        pool = _CONC_GERMAN
    elif prefix_ok and r.random() < 0.08:
        pool = (("{s} {q} in ", ""),)
    if c.bind:
        pool = _CONC_BOUND
    pre, post = r.choice(pool)
    if m.amount.qualifier != "eq":
        post = post.replace(" = ", " ")
    fill = {"s": _sym(m.substance, r, st), "q": _q(m.amount, r, st), "short": c.short}
    return pre.format(**fill) + c.material, post.format(**fill)


def _comp_text(c: Component, r: random.Random, st: _Style) -> str:
    core, suffix = _mention_parts(c, r, st, prefix_ok=not c.role)
    if not c.role:
        return core + suffix if core else suffix
    k = r.randrange(7)
    if k <= 1:
        return f"{core} {c.role}{suffix}"
    if k == 2:
        return f"{c.role}, {core}{suffix}"
    if k == 3:
        return f"{c.role}: {core}{suffix}"
    if k == 4:
        return f"{c.role} ({core}{suffix})"
    if k == 5:
        return f"{c.role} made of {core}{suffix}"
    return f"{c.role} {core}{suffix}"


def _approval_text(f: Facts, r: random.Random) -> str | None:
    if f.approval == "silent":
        return None
    safety = f.category in V.SAFETY_CATEGORIES
    if f.approval == "named":
        if not safety:
            template = r.choice(V.EMC_NAMED)
        elif r.random() < 0.3:
            template = r.choice(V.APPROVAL_NAMED_CATEGORY[f.category])
        else:
            template = r.choice(V.APPROVAL_NAMED)
    else:
        template = r.choice(V.APPROVAL_MISSING)
    reg = r.choice(V.REGULATIONS.get(f.category, ("R10",)))
    text = template.format(
        reg=reg,
        reg_no=reg[1:],
        k=r.randrange(1, 9),
        n=r.choice((1, 2, 3, 4, 5, 6, 9, 11, 13, 24)),
        year=r.randrange(2019, 2027),
        mm=f"{r.randrange(1, 13):02d}",
        num=f"{reg[1:]}R-0{r.randrange(1, 9)} {r.randrange(1000, 99999)}",
        num4=f"{r.randrange(1000, 9999)}",
    )
    if f.approval == "missing" and not safety and r.random() < 0.5:
        text = r.choice(("'{t}'", '"{t}"', "{t}")).format(t=text) + r.choice(V.NOT_REQUIRED_NOTE)
    return text


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _tail(f: Facts, r: random.Random) -> list[str]:
    """Specs and false friends in random order."""
    items = list(f.specs)
    if f.false_friend:
        items.insert(r.randrange(len(items) + 1), f.false_friend)
    return items


def _prose(f: Facts, r: random.Random, st: _Style) -> str:
    comps = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    rest = ([appr] if appr else []) + _tail(f, r)
    if r.random() < 0.25:
        rest.append(r.choice(("supplier {s}", "from {s}", "by {s}", "supplier: {s}")).format(s=f.supplier))
    r.shuffle(rest)
    items = comps + rest
    if r.random() < 0.3:
        r.shuffle(items)
    head = _cap(f.part)
    if items and f.components and f.components[0].role and items[0] == comps[0] and r.random() < 0.5:
        return f"{head} {', '.join(items)}"
    if f.components and not f.components[0].role and r.random() < 0.25:
        # material first: "Free-cutting steel shaft for machining, 0,30 % Pb"
        core, suffix = _mention_parts(f.components[0], r, st, prefix_ok=False)
        head = f"{_cap(core)} {f.part}{suffix}" if core else f"{head}{suffix}"
        items = [i for i in items if i != comps[0]]
    return ", ".join([head, *items])


_ABBR = re.compile(r"\b(" + "|".join(V.ABBREVIATIONS) + r")\b")


def _catalogue(f: Facts, r: random.Random, st: _Style) -> str:
    items = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if appr:
        items.append(appr)
    items += _tail(f, r)
    if r.random() < 0.4:
        items.append(
            r.choice(
                ("OEM replacement", "OE quality", "new", f"PN {f.part_no}", "aftermarket", f"qty {f.qty}")
            )
        )
    text = ", ".join([f.part_caps, *(i.upper() for i in items)])
    if r.random() < 0.8:
        text = _ABBR.sub(lambda m: V.ABBREVIATIONS[m.group(1)], text)
    return text


def _semicolon(f: Facts, r: random.Random, st: _Style) -> str:
    comps = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    head = _cap(f.part)
    if comps and f.components[0].role and r.random() < 0.6:
        head, comps = f"{head} {comps[0]}", comps[1:]
    items = [head, *comps] + ([appr] if appr else []) + _tail(f, r)
    return r.choice(("; ", "; ", " ; ", ";")).join(items) + r.choice(("", "", ";", "."))


def _datasheet(f: Facts, r: random.Random, st: _Style) -> str:
    fields = [f"{r.choice(('Part', 'Description', 'Item', 'Component', 'Designation'))}: {_cap(f.part)}"]
    if r.random() < 0.3:
        fields.append(f"{r.choice(('P/N', 'Part no.', 'Article'))}: {f.part_no}")
    for c in f.components:
        key = _cap(c.role) if c.role else r.choice(("Material", "Base material", "Material of construction"))
        m = c.mention
        if m is not None and m.mode == "conc" and m.amount is not None and r.random() < 0.5:
            fields.append(f"{key}: {c.material}")
            where = f" ({c.role})" if c.role else (f" ({c.short})" if c.bind else "")
            fields.append(
                f"{r.choice(('Composition', 'Content', 'Restricted substances'))}{where}: "
                f"{_sym(m.substance, r, st)} {_q(m.amount, r, st)}"
            )
        else:
            core, suffix = _mention_parts(c, r, st, prefix_ok=False)
            fields.append(f"{key}: {core}{suffix}")
    appr = _approval_text(f, r)
    if appr:
        fields.append(f"{r.choice(('Approval', 'Homologation', 'Type approval', 'Certification'))}: {appr}")
    tail = _tail(f, r)
    if tail:
        fields.append(f"{r.choice(('Notes', 'Remarks', 'Spec', 'Other'))}: {', '.join(tail)}")
    if r.random() < 0.4:
        fields.append(f"Supplier: {f.supplier}")
    return r.choice((" | ", "; ", "  ", " / ", " | ")).join(fields)


def _technician(f: Facts, r: random.Random, st: _Style) -> str:
    p = f.part
    opener = r.choice(
        (
            f"replaced the old {p}, new one is",
            f"fitted new {p},",
            f"swapped {p} -",
            f"checked {p}:",
            f"{p} changed,",
            f"new {p} installed,",
            f"installed {p};",
            f"customer car in for service, {p} replaced,",
            f"removed and refitted {p},",
            f"{p} fitted today,",
            f"had a look at the {p}:",
        )
    )
    body = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if appr:
        body.append(
            r.choice(("label says {a}", "box says {a}", "{a} per the box", "{a}", "paperwork: {a}")).format(
                a=appr
            )
        )
    body += _tail(f, r)
    text = f"{opener} {r.choice((', ', ' and ', ', ')).join(body)}" if body else opener.rstrip(",;:- ")
    if r.random() < 0.4:
        text += r.choice((", see photo", ". pics attached", " - logged", ", for the record", ". tbc by QA"))
    return text.lower() if r.random() < 0.6 else text


def _bom(f: Facts, r: random.Random, st: _Style) -> str:
    fields = []
    if r.random() < 0.6:
        fields.append(f"{r.choice(('', 'Pos. ', 'BOM '))}{r.randrange(1, 99) * 10:04d}")
    fields.append(f.part_no)
    fields.append(_cap(f.part))
    fields.append(", ".join(_comp_text(c, r, st) for c in f.components))
    appr = _approval_text(f, r)
    if appr:
        fields.append(appr)
    fields.append(r.choice(("qty {q}", "Qty: {q}", "{q} pcs", "x{q}", "{q} EA")).format(q=f.qty))
    fields += _tail(f, r)[:1]
    if r.random() < 0.5:
        fields.append(f.supplier)
    return r.choice((" | ", "; ", " ; ", " - ", "\t")).join(x for x in fields if x)


def _declaration(f: Facts, r: random.Random, st: _Style) -> str:
    subject = r.choice((f.supplier, "Supplier", "The supplier", f"Supplier {f.supplier}", "Vendor"))
    verb = r.choice(("declares", "confirms", "states", "certifies", "has declared"))
    sentences = []
    for c in f.components:
        where = f"{c.material} {c.role}".strip() if c.role else c.material
        m = c.mention
        if m is not None and m.mode == "conc" and m.amount is not None and r.random() < 0.7:
            sentences.append(
                r.choice(
                    (
                        "{S} {v} {n} content of {q} in the {w} of the {p}.",
                        "{S} {v} that the {w} of the {p} contains {q} {n}.",
                        "Per supplier declaration, {n} in the {w}: {q} ({p}).",
                        "{S} {v} a {n} content of {q} for the {w} ({p}).",
                    )
                ).format(
                    S=subject, v=verb, n=_sym(m.substance, r, st), q=_q(m.amount, r, st), w=where, p=f.part
                )
            )
        else:
            whole = Component("", c.host, c.material, c.short, m)
            sentences.append(f"{_cap(c.role or 'material')}: {_comp_text(whole, r, st)}.")
    if not any(s.startswith(subject) or s.startswith("Per") for s in sentences):
        sentences.insert(0, f"{subject} {verb} the following for the {f.part}:")
    appr = _approval_text(f, r)
    if appr:
        sentences.append(
            r.choice(
                ("Approval status: {a}.", "Type approval: {a}.", "Status: {a}.", "Homologation: {a}.")
            ).format(a=appr)
        )
    tail = _tail(f, r)
    if tail:
        sentences.append(_cap(", ".join(tail)) + ".")
    return " ".join(sentences)


def _german(f: Facts, r: random.Random, st: _Style) -> str:
    comps = [_comp_text(c, r, st) for c in f.components]
    head = _cap(f.part)
    if comps and not f.components[0].role:
        head = f"{head} {r.choice(('out of', 'from', 'made out of', 'of'))} {comps[0]}"
        comps = comps[1:]
    items = [head, *comps]
    appr = _approval_text(f, r)
    if appr:
        items.append(
            r.choice(("approval: {a}", "homologation status: {a}", "{a}", "{a} (acc. to supplier)")).format(
                a=appr
            )
        )
    items += _tail(f, r)
    if r.random() < 0.4:
        items.append(
            r.choice(
                (
                    "acc. to supplier",
                    "acc. to drawing",
                    "see attachment",
                    "according supplier",
                    "acc. DIN EN 10087",
                    "please check",
                )
            )
        )
    text = ", ".join(items)
    if "free-cutting steel" in text and r.random() < 0.5:
        text = text.replace("free-cutting steel", "Automatenstahl")
    return text


_METHODS = {
    "lead": ("XRF", "ICP-OES", "ICP-MS", "XRF screening"),
    "cadmium": ("XRF", "ICP-OES", "ICP-MS"),
    "mercury": ("ICP-MS", "CV-AAS", "XRF"),
    "cr6": ("IEC 62321-7-2", "spot test", "UV-Vis"),
    "asbestos": ("PLM", "XRD", "microscopy"),
    "pfas": ("LC-MS/MS", "GC-MS", "TOP assay"),
}


def _test_report(f: Facts, r: random.Random, st: _Style) -> str:
    header = r.choice(
        (
            "Test report {n}",
            "Lab report {n}",
            "Analysis {n}",
            "Material test {n}",
            "Incoming inspection {n}",
            "Screening {n}",
        )
    ).format(n=r.randrange(100, 9999))
    parts = [f"{header}: {f.part}" + (f" ({f.supplier})" if r.random() < 0.3 else "")]
    for c in f.components:
        m = c.mention
        label = f"{c.role}, {c.material}" if c.role else c.material
        if m is None or (m.mode == "absent" and (m.substance, c.host) in V.ABSENT_HOST and r.random() < 0.5):
            parts.append(f"{r.choice(('Material', 'Sample', 'Tested'))}: {_comp_text(c, r, st)}")
            continue
        method = r.choice(_METHODS[m.substance])
        s = "PFAS" if m.substance == "pfas" and m.mode == "absent" else _sym(m.substance, r, st)
        if m.mode == "conc" and m.amount is not None:
            result = r.choice(("{M} result: {s} {q}", "{M}: {s} = {q}", "{s} {q} ({M})", "{M} {s}: {q}"))
            parts.append(f"Sample: {label}. " + result.format(M=method, s=s, q=_q(m.amount, r, st)))
        elif m.mode == "absent":
            parts.append(
                f"Sample: {label}. "
                + r.choice(
                    ("{M}: {s} not detected", "{s} < LOD ({M})", "{M}: {s} n.d.", "{s} not detected")
                ).format(M=method, s=s)
            )
        else:
            parts.append(
                r.choice(
                    (
                        f"Sample: {label}. {method}: {s} detected",
                        f"{_cap(_comp_text(c, r, st))}, confirmed by {method}",
                    )
                )
            )
    appr = _approval_text(f, r)
    if appr:
        parts.append(f"Approval: {appr}")
    parts += _tail(f, r)
    return r.choice((". ", "; ", ". ")).join(parts)


def _customs(f: Facts, r: random.Random, st: _Style) -> str:
    comps = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if r.random() < 0.5:
        fields = [
            f"HS {V.HS_CODES[f.category]}",
            f.part,
            *comps,
            f"origin {r.choice(('DE', 'CN', 'CZ', 'MX', 'IN', 'TR', 'PL', 'JP', 'US'))}",
            f"{f.qty} pcs",
            f"net {r.choice(('0.4', '1.2', '3.8', '12', '0.08'))} kg",
        ]
    else:
        fields = [
            f"Stock item {f.part_no}",
            f.part,
            *comps,
            f"bin {r.choice('ABCDEF')}-{r.randrange(1, 40)}-{r.randrange(1, 6)}",
            f"on hand {f.qty}",
        ]
    if appr:
        fields.insert(2 + len(comps), appr)
    fields += _tail(f, r)[:1]
    return r.choice((" | ", " - ", "; ", ", ")).join(fields)


def _marketing(f: Facts, r: random.Random, st: _Style) -> str:
    adj = r.choice(
        (
            "Premium",
            "High-quality",
            "OE-quality",
            "Heavy-duty",
            "Professional-grade",
            "Genuine",
            "Durable",
            "Classic-style",
        )
    )
    benefit = V.BENEFITS.get(f.category) if r.random() < 0.6 else None
    benefit = benefit or r.choice(V.BENEFITS_ANY)
    sentences = [f"{adj} {f.part} {benefit}."]
    comps = [_comp_text(c, r, st) for c in f.components]
    if comps:
        sentences.append(_cap(r.choice(("features: ", "made with ", "", "with ")) + ", ".join(comps)) + ".")
    appr = _approval_text(f, r)
    if appr:
        sentences.append(_cap(appr) + r.choice((".", "!", ".")))
    if f.false_friend:
        sentences.append(_cap(f.false_friend) + ".")
    if f.specs and r.random() < 0.5:
        sentences.append(_cap(f.specs[0]) + ".")
    return " ".join(sentences)


def _imds(f: Facts, r: random.Random, st: _Style) -> str:
    head = f"IMDS {r.randrange(10**8, 10**9)}/{r.randrange(1, 9)}: {f.part}"
    nodes = []
    for c in f.components:
        core, suffix = _mention_parts(c, r, st, prefix_ok=False)
        node = f"{c.role or 'material'}: {core}{suffix}"
        if r.random() < 0.3:
            node += f", {r.choice((4, 12, 45, 120, 340))} g"
        nodes.append(node)
    appr = _approval_text(f, r)
    if appr:
        nodes.append(f"remark: {appr}")
    nodes += _tail(f, r)[:1]
    return r.choice((" > ", " / ", "; ", " | ")).join([head, *nodes])


def _erp(f: Facts, r: random.Random, st: _Style) -> str:
    kv = [("CAT", f.category.upper()), ("DESC", f.part_caps if r.random() < 0.5 else f.part)]
    for i, c in enumerate(f.components):
        kv.append((f"MAT{i + 1}" if i else "MAT", _comp_text(c, r, st)))
    appr = _approval_text(f, r)
    if appr:
        kv.append(("APPR", appr))
    tail = _tail(f, r)
    if tail:
        kv.append(("NOTE", ", ".join(tail)))
    if r.random() < 0.5:
        kv.append(("PN", f.part_no))
    fmt, sep = r.choice((("{k}={v}", ";"), ("{k}: {v}", " | "), ("{k}={v}", " | "), ("[{k}] {v}", " ")))
    text = sep.join(fmt.format(k=k, v=v) for k, v in kv)
    return text.upper() if r.random() < 0.3 else text


def _qa_ticket(f: Facts, r: random.Random, st: _Style) -> str:
    prefix = r.choice(("QA note", "NCR", "8D", "Incoming inspection", "Audit", "QN", "Ticket"))
    text = f"{prefix} {r.randrange(100, 99999)}: {f.part}"
    if r.random() < 0.5:
        text += f" from {f.supplier}"
    body = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if appr:
        body.append(appr)
    body += _tail(f, r)
    if body:
        text += f". {r.choice(('Observation', 'Checked', 'Result', 'Noted', 'Details'))}: {', '.join(body)}"
    if r.random() < 0.5:
        text += f". Status: {r.choice(('open', 'closed', 'info only', 'for review', 'logged'))}"
    return text


def _email(f: Facts, r: random.Random, st: _Style) -> str:
    hello = r.choice(("Hi {n},", "Hello {n},", "Dear {n},", "{n} -", "Hi,")).format(n=r.choice(V.PEOPLE))
    intro = r.choice(
        (
            "quick update on the {p}:",
            "regarding the {p}:",
            "re the {p} from {s}:",
            "FYI the {p}:",
            "info on the new {p} -",
        )
    ).format(p=f.part, s=f.supplier)
    body = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if appr:
        body.append(r.choice(("note: {a}", "{a}", "and it is {a}")).format(a=appr))
    body += _tail(f, r)
    sign = r.choice(("Thanks, {n}", "Regards, {n}", "BR {n}", "Cheers", "")).format(n=r.choice(V.PEOPLE))
    return f"{hello} {intro} {', '.join(body)}. {sign}".strip()


def _short(f: Facts, r: random.Random, st: _Style) -> str:
    idx = f.primary if isinstance(f.primary, int) else 0
    items = []
    if f.components:
        c = f.components[idx]
        core, suffix = _mention_parts(c, r, st, prefix_ok=False)
        role = f"{c.role} " if c.role else ""
        k = r.randrange(6)
        if not c.role and k <= 1:
            items.append(f"{_cap(core)} {f.part}{suffix}")  # "Brass fitting, lead 4.6 %"
        elif not c.role and k == 2:
            items.append(f"{_cap(f.part)} {core}{suffix}")  # "Door seal EPDM, Pb 800 ppm"
        elif k == 3:
            items.append(f"{_cap(f.part)}: {role}{core}{suffix}")
        else:
            items.append(f"{_cap(f.part)}, {role}{core}{suffix}")
        # the label may rest on any stated fact, so those are never dropped
        items += [_comp_text(o, r, st) for i, o in enumerate(f.components) if i != idx and o.mention]
    else:
        items.append(_cap(f.part))
    if f.specs and r.random() < 0.4:
        items.append(f.specs[0])  # "Horn, 12 V, not E-marked"
    appr = _approval_text(f, r)
    if appr:
        items.append(appr)
    if f.false_friend:
        items.append(f.false_friend)
    return r.choice((", ", ", ", "; ", " - ")).join(items)


def _rfq(f: Facts, r: random.Random, st: _Style) -> str:
    text = r.choice(
        (
            "RFQ {n}: please quote {q} pcs {p}",
            "Request for quotation {n} - {q} x {p}",
            "Quote request: {q} pcs {p} ({pn})",
            "PO {n}: {q} pcs {p}",
        )
    ).format(n=r.randrange(1000, 99999), q=f.qty, p=f.part, pn=f.part_no)
    body = [_comp_text(c, r, st) for c in f.components]
    appr = _approval_text(f, r)
    if appr:
        body.append(appr)
    body += _tail(f, r)
    if r.random() < 0.5:
        body.append(
            r.choice(("delivery KW {w}", "delivery week {w}", "deliver to plant {w}")).format(
                w=r.randrange(1, 52)
            )
        )
    return text + (", " + ", ".join(body) if body else "")


def _slashes(f: Facts, r: random.Random, st: _Style) -> str:
    items = [_cap(f.part), *(_comp_text(c, r, st) for c in f.components)]
    appr = _approval_text(f, r)
    if appr:
        items.append(appr)
    items += _tail(f, r)
    return r.choice((" / ", " // ", " - ")).join(items)


_Renderer = Callable[[Facts, random.Random, _Style], str]
_FAMILY_TABLE: tuple[tuple[str, _Renderer, float, float], ...] = (
    # family id, renderer, weight, typo rate
    ("prose_list", _prose, 3.0, 0.15),
    ("catalogue_caps", _catalogue, 1.2, 0.05),
    ("spec_semicolon", _semicolon, 1.2, 0.12),
    ("datasheet_fields", _datasheet, 1.0, 0.08),
    ("technician_note", _technician, 1.2, 0.45),
    ("bom_line", _bom, 1.0, 0.08),
    ("supplier_declaration", _declaration, 1.0, 0.1),
    ("german_english", _german, 1.0, 0.15),
    ("test_report", _test_report, 1.0, 0.08),
    ("customs_inventory", _customs, 0.8, 0.1),
    ("marketing_copy", _marketing, 0.8, 0.1),
    ("imds_tree", _imds, 0.8, 0.05),
    ("erp_keyvalue", _erp, 0.8, 0.05),
    ("qa_ticket", _qa_ticket, 1.0, 0.25),
    ("email_snippet", _email, 0.9, 0.35),
    ("short_label", _short, 2.0, 0.12),
    ("rfq_request", _rfq, 0.8, 0.15),
    ("slash_compact", _slashes, 0.8, 0.1),
)
FAMILIES: tuple[str, ...] = tuple(name for name, *_ in _FAMILY_TABLE)
"""Every phrasing family id, in a fixed order."""

_FAM_CUM = list(accumulate(w for _, _, w, _ in _FAMILY_TABLE))

# ----------------------------------------------------------------------------- surface noise

_AMERICAN = re.compile(r"\b(" + "|".join(V.AMERICAN) + r")\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]{5,}")


def _americanize(text: str) -> str:
    def swap(m: re.Match[str]) -> str:
        word = m.group(1)
        us = V.AMERICAN[word.lower()]
        return us.upper() if word.isupper() else (_cap(us) if word[0].isupper() else us)

    return _AMERICAN.sub(swap, text)


def _typo(word: str, r: random.Random) -> str:
    i = r.randrange(1, len(word) - 2)
    k = r.randrange(3)
    if k == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if k == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _add_typos(text: str, r: random.Random) -> str:
    words = [m for m in _WORD.finditer(text) if not any(ch.isdigit() for ch in m.group(0))]
    if not words:
        return text
    for m in sorted(r.sample(words, min(len(words), r.choice((1, 1, 2)))), key=lambda m: -m.start()):
        text = text[: m.start()] + _typo(m.group(0), r) + text[m.end() :]
    return text


def _surface(text: str, family: str, typo_rate: float, r: random.Random) -> str:
    if family != "german_english" and r.random() < 0.35:
        text = _americanize(text)
    if r.random() < typo_rate:
        text = _add_typos(text, r)
    if family not in ("catalogue_caps", "technician_note") and r.random() < 0.06:
        text = text.lower() if r.random() < 0.7 else text.upper()
    if r.random() < 0.04:
        spaces = [i for i, ch in enumerate(text) if ch == " "]
        if spaces:
            i = r.choice(spaces)
            text = text[:i] + "  " + text[i:]
    text = text.replace("..", ".").strip()
    return text if text_problem(text, max_chars=MAX_CHARS) is None else ""  # e.g. too long: new facts are drawn


def _render(f: Facts, r: random.Random) -> tuple[str, str]:
    x = r.random() * _FAM_CUM[-1]
    k = next(i for i, cum in enumerate(_FAM_CUM) if x < cum)
    family, renderer, _, typo_rate = _FAMILY_TABLE[k]
    st = _Style(
        comma=family == "german_english" or r.random() < 0.05,
        sym=r.choice((0.3, 0.6, 0.8)),
        german=family == "german_english",
    )
    return family, _surface(renderer(f, r, st), family, typo_rate, r)


# ----------------------------------------------------------------------------- public API


def generate(*, revision: Revision = "R1", rows: int, noise: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Generate labelled component descriptions; deterministic for (revision, rows, noise, seed)."""
    if revision not in ("R1", "R2"):
        raise ValueError(f"unknown revision {revision!r}")
    if rows < 0 or not 0.0 <= noise <= 1.0:
        raise ValueError("rows must be >= 0 and noise within [0, 1]")
    r = random.Random(seed * 7_919 + 104_729)
    seen: set[str] = set()
    texts, clean, categories, rules, families, nears = [], [], [], [], [], []
    while len(texts) < rows:
        facts = sample_facts(r)
        family, text = _render(facts, r)
        key = duplicate_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        bad, rule, near = label_facts(facts, revision)
        texts.append(text)
        clean.append(bad)
        categories.append(facts.category)
        rules.append(rule)
        families.append(family)
        nears.append(near)
    clean_arr = np.array(clean, dtype=bool)
    flips = np.random.default_rng([seed, 2_000_053]).random(rows) < noise
    names = np.array(["compliant", "non_compliant"], dtype=object)
    return pd.DataFrame(
        {
            "id": [f"C{i + 1:07d}" for i in range(rows)],
            "text": texts,
            "label": names[(clean_arr ^ flips).astype(int)].tolist(),
            "label_clean": names[clean_arr.astype(int)].tolist(),
            "category": categories,
            "rule": rules,
            "family": families,
            "near_threshold": np.array(nears, dtype=bool),
            "revision": [revision] * rows,
        },
        columns=list(COLUMNS),
    )
