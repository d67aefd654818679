"""The labelling rules, as a table taken from shared/spec/compliance-rules.md (R1, R2, Clarifications).

Every example row of the rules document is here as a fact record, then each clarification.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from specscan.data.facts import UNIT_PPM, Figure
from specscan.data.rules import VIOLATIONS, Facts, Material, Quantity, Statement, Undecided, exceeds, rules_of, verdict

D = Decimal


def amount(substance: str, ppm: str, relation: str = "eq", low: str | None = None) -> Statement:
    return Statement(substance, "amount", Quantity(D(ppm), relation, None if low is None else D(low)))  # type: ignore[arg-type]


def present(substance: str) -> Statement:
    return Statement(substance, "present")  # type: ignore[arg-type]


def absent(substance: str) -> Statement:
    return Statement(substance, "absent")  # type: ignore[arg-type]


def other(*statements: Statement) -> Material:
    return Material("other", statements)


def copper(*statements: Statement) -> Material:
    return Material("copper_alloy", statements)


def steel_for_machining(*statements: Statement) -> Material:
    return Material("machining_steel", statements)


def aluminium(*statements: Statement) -> Material:
    return Material("aluminium_alloy", statements)


# (why, facts, non_compliant under R1, under R2)
TABLE = [
    # --- the example table of the rules document, row by row
    (
        "brake pads, low-metallic, copper-free, E-marked to UN ECE R90",
        Facts("brake_friction", (other(),), "valid"),
        False,
        False,
    ),
    ("BRK LINING RR DRUM, CHRYSOTILE REINF.", Facts("brake_friction", (other(present("asbestos")),)), True, True),
    (
        "connector PA66-GF30; brass contacts, Pb 2.8 % in the brass",
        Facts("wiring", (other(), copper(amount("lead", "28000")))),
        False,
        True,
    ),
    (
        "cable sheathing, PVC with lead stabiliser (0.4 wt.% Pb)",
        Facts("wiring", (other(amount("lead", "4000")),)),
        True,
        True,
    ),
    (
        "M8 bolt, zinc-nickel coating with trivalent passivation",
        Facts("fastener", (other(), other(absent("cr6")))),
        False,
        False,
    ),
    ("door hinge pin, yellow chromate conversion coating", Facts("fastener", (other(present("cr6")),)), True, True),
    ("LED tail lamp, E-mark application pending", Facts("exterior_lamp", (), "missing"), True, True),
    ("cup holder insert, TPE, 'not E-marked' (not required)", Facts("trim", (other(),), "missing"), False, False),
    (
        "battery tray, PP-T20, cadmium 85 ppm in pigment",
        Facts("battery", (other(amount("cadmium", "85")),)),
        False,
        False,
    ),
    ("glovebox latch spring, Cd-plated steel", Facts("fastener", (other(present("cadmium")),)), True, True),
    (
        "free-cutting steel shaft for machining, 0,30 % Pb",
        Facts("fastener", (steel_for_machining(amount("lead", "3000")),)),
        False,
        False,
    ),
    ("tyre, homologation withdrawn", Facts("tyre", (other(),), "missing"), True, True),
    # --- rule 1 and Clarification 3: exactly at a limit is compliant, just above is not
    ("lead exactly 0.1 %", Facts("body", (other(amount("lead", "1000")),)), False, False),
    ("lead 0.11 %", Facts("body", (other(amount("lead", "1100")),)), True, True),
    ("mercury exactly 1000 ppm", Facts("electronics", (other(amount("mercury", "1000")),)), False, False),
    ("Cr(VI) 1001 ppm", Facts("fastener", (other(amount("cr6", "1001")),)), True, True),
    ("cadmium exactly 100 ppm", Facts("trim", (other(amount("cadmium", "100")),)), False, False),
    ("cadmium 101 ppm", Facts("trim", (other(amount("cadmium", "101")),)), True, True),
    ("lead exactly 4 % in brass (R1), over 2 % (R2)", Facts("wiring", (copper(amount("lead", "40000")),)), False, True),
    ("lead 4.1 % in brass", Facts("wiring", (copper(amount("lead", "41000")),)), True, True),
    ("lead exactly 2 % in brass", Facts("wiring", (copper(amount("lead", "20000")),)), False, False),
    ("lead 2.1 % in bronze", Facts("engine", (copper(amount("lead", "21000")),)), False, True),
    (
        "lead exactly 0.35 % in free-cutting steel",
        Facts("fastener", (steel_for_machining(amount("lead", "3500")),)),
        False,
        False,
    ),
    (
        "lead 0.36 % in free-cutting steel",
        Facts("fastener", (steel_for_machining(amount("lead", "3600")),)),
        True,
        True,
    ),
    ("lead exactly 0.4 % in aluminium alloy", Facts("engine", (aluminium(amount("lead", "4000")),)), False, False),
    ("lead 0.45 % in aluminium alloy", Facts("engine", (aluminium(amount("lead", "4500")),)), True, True),
    # --- Clarification 2: bounds
    ("lead max. 0.05 %", Facts("body", (other(amount("lead", "500", "max")),)), False, False),
    (
        "Cd < 100 ppm (an upper bound at the limit)",
        Facts("body", (other(amount("cadmium", "100", "lt")),)),
        False,
        False,
    ),
    ("lead at least 0.2 %", Facts("body", (other(amount("lead", "2000", "min")),)), True, True),
    ("lead > 0.1 %", Facts("body", (other(amount("lead", "1000", "gt")),)), True, True),
    ("lead ca. 0.3 % (about is as stated)", Facts("body", (other(amount("lead", "3000", "approx")),)), True, True),
    ("lead 0.02-0.08 %", Facts("body", (other(amount("lead", "800", "range", "200")),)), False, False),
    ("lead 0.15-0.25 %", Facts("body", (other(amount("lead", "2500", "range", "1500")),)), True, True),
    # --- Clarifications 1 and 6: absence, and presence with no figure
    ("lead-free solder", Facts("electronics", (other(absent("lead")),)), False, False),
    ("tin-lead solder", Facts("electronics", (other(present("lead")),)), True, True),
    ("lead-acid battery: no battery exemption", Facts("battery", (other(present("lead")),)), True, True),
    ("mercury switch", Facts("electronics", (other(present("mercury")),)), True, True),
    ("Cd: n.d., Hg not detected", Facts("trim", (other(absent("cadmium"), absent("mercury")),)), False, False),
    (
        "lead-free, but cadmium 150 ppm: absence covers one substance only",
        Facts("trim", (other(absent("lead"), amount("cadmium", "150")),)),
        True,
        True,
    ),
    # --- Clarification 5: one material at a time
    (
        "lead 2.8 % in the brass, 0.4 % in the PVC sheath of the same part",
        Facts("wiring", (copper(amount("lead", "28000")), other(amount("lead", "4000")))),
        True,
        True,
    ),
    ("leaded brass, no figure: its exemption covers it", Facts("fastener", (copper(present("lead")),)), False, False),
    (
        "12L14 / leaded free-cutting steel, no figure",
        Facts("fastener", (steel_for_machining(present("lead")),)),
        False,
        False,
    ),
    (
        "lead 0.3 % in plain steel (no machining exemption)",
        Facts("fastener", (other(amount("lead", "3000")),)),
        True,
        True,
    ),
    ("lead 0.2 % in aluminium alloy", Facts("engine", (aluminium(amount("lead", "2000")),)), False, False),
    # --- rule 2: asbestos in any amount
    ("chrysotile 0.5 %", Facts("engine", (other(amount("asbestos", "5000")),)), True, True),
    ("asbestos-free gasket", Facts("engine", (other(absent("asbestos")),)), False, False),
    # --- rule 3 and Clarifications 7 and 8: the closed list
    ("headlamp, approval expired", Facts("exterior_lamp", (), "missing"), True, True),
    ("headlamp, silent about approval", Facts("exterior_lamp", ()), False, False),
    ("seat belt pretensioner, not homologated", Facts("seat_belt", (), "missing"), True, True),
    ("airbag inflator, approval revoked", Facts("airbag", (), "missing"), True, True),
    ("windscreen, E-mark: none", Facts("glazing", (other(),), "missing"), True, True),
    (
        "brake disc (not a pad or lining), approval pending",
        Facts("brake_hardware", (other(),), "missing"),
        False,
        False,
    ),
    ("interior dome light, not E-marked", Facts("interior_lamp", (), "missing"), False, False),
    ("horn, approval withdrawn", Facts("horn", (), "missing"), False, False),
    ("exterior mirror, no E-mark", Facts("mirror", (), "missing"), False, False),
    ("child seat, approval lapsed", Facts("seat", (), "missing"), False, False),
    # --- R2 and Clarification 9: PFAS
    ("PTFE coating with PFOA processing aid", Facts("brake_friction", (other(present("pfas")),)), False, True),
    ("PFOS 12 ppb in a textile finish", Facts("seat", (other(amount("pfas", "0.012")),)), False, True),
    ("PFAS-free DWR finish", Facts("seat", (other(absent("pfas")),)), False, False),
    ("plain PTFE, no PFAS wording", Facts("fluid_line", (other(),)), False, False),
    # --- false friends never violate
    ("lead time 6 weeks, Cd 0.29 drag coefficient", Facts("body", (other(),), distractors=2), False, False),
]


@pytest.mark.parametrize(("why", "facts", "r1", "r2"), TABLE, ids=[row[0] for row in TABLE])
def test_the_label_follows_the_rules_document(why: str, facts: Facts, r1: bool, r2: bool) -> None:
    assert verdict(facts, "R1").non_compliant is r1
    assert verdict(facts, "R2").non_compliant is r2


@pytest.mark.parametrize(
    ("quantity", "limit"),
    [
        (Quantity(D(1200), "max"), D(1000)),  # "max. 0.12 %": could be above 0.1 %
        (Quantity(D(800), "min"), D(1000)),  # "at least 0.08 %": could be below
        (Quantity(D(1000), "min"), D(1000)),  # "at least 0.1 %": could be exactly at the limit
        (Quantity(D(1500), "range", D(500)), D(1000)),  # a range across the limit
        (Quantity(D(500), "gt"), D(1000)),  # "more than 0.05 %": could be either side of 0.1 %
    ],
)
def test_statements_the_rules_do_not_decide_are_refused(quantity: Quantity, limit: Decimal) -> None:
    with pytest.raises(Undecided):
        exceeds(quantity, limit)


@pytest.mark.parametrize(
    ("quantity", "over"),
    [
        (Quantity(D(900), "range", D(500)), False),  # "0.05-0.09 %": wholly under 0.1 %
        (Quantity(D(1000), "range", D(800)), False),  # up to the limit itself is not above it
        (Quantity(D(1000), "range", D(1000)), False),  # a range whose ends meet is one figure, at the limit
        (Quantity(D(1500), "range", D(1200)), True),  # wholly over
        (Quantity(D(1200), "range", D(1200)), True),
    ],
)
def test_a_range_is_decided_when_both_its_ends_fall_on_one_side_of_the_limit(quantity: Quantity, over: bool) -> None:
    assert exceeds(quantity, D(1000)) is over


def test_a_range_whose_low_end_is_above_its_high_end_is_refused() -> None:
    with pytest.raises(Undecided, match="low <= high"):
        exceeds(Quantity(D(900), "range", D(1100)), D(1000))


def test_only_r2_data_can_carry_the_pfas_rule() -> None:
    assert "pfas" not in rules_of("R1")
    assert set(rules_of("R2")) - set(rules_of("R1")) == {"pfas"}
    assert set(VIOLATIONS) <= set(rules_of("R2"))


@pytest.mark.parametrize(
    ("value", "unit", "ppm"),
    [
        ("1", "%", "10000"),
        ("0.30", "%", "3000"),
        ("10", "g/kg", "10000"),
        ("10", "mg/g", "10000"),
        ("10000", "mg/kg", "10000"),
        ("85", "µg/g", "85"),
        ("250", "ppb", "0.25"),
        ("40", "µg/kg", "0.04"),
    ],
)
def test_units_convert_exactly_as_clarification_4_says(value: str, unit: str, ppm: str) -> None:
    assert Figure(D(value), unit).quantity().ppm == D(ppm)
    assert set(UNIT_PPM) == {"%", "ppm", "mg/kg", "µg/g", "g/kg", "mg/g", "ppb", "µg/kg"}


def test_the_rule_names_the_first_violation_and_compliant_rows_their_most_telling_reason() -> None:
    bad = verdict(Facts("wiring", (copper(amount("lead", "28000")), other(present("cadmium")))), "R2")
    assert (bad.rule, bad.violations) == ("lead", ("lead", "cadmium"))
    good = verdict(Facts("wiring", (copper(amount("lead", "28000")), other(absent("cadmium")))), "R1")
    assert (good.non_compliant, good.rule) == (False, "lead_exemption_copper")
    assert verdict(Facts("trim", (other(amount("lead", "200")),)), "R1").rule == "below_limit"


@pytest.mark.parametrize(
    ("ppm", "rule"),
    [
        (None, "lead_exemption_copper"),  # "leaded brass": its exemption covers it (Clarification 5)
        ("1001", "lead_exemption_copper"),  # over the general limit: only the exemption allows it
        ("1000", "below_limit"),  # within the general 0.1 %: no exemption needed
        ("500", "below_limit"),
    ],
)
def test_lead_in_an_exempt_material_is_compliant_by_its_exemption_only_above_the_general_limit(
        ppm: str | None, rule: str) -> None:
    statement = present("lead") if ppm is None else amount("lead", ppm)
    assert verdict(Facts("wiring", (copper(statement),)), "R1").rule == rule


def test_fact_records_and_their_verdicts_cannot_be_changed_once_made() -> None:
    import dataclasses

    statement = amount("lead", "500")
    material = other(statement)
    facts = Facts("trim", (material,))
    judged = verdict(facts, "R1")
    for record, field, value in ((statement, "kind", "absent"), (material, "cls", "copper_alloy"),
                                 (facts, "approval", "missing"), (judged, "non_compliant", True)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, value)


@pytest.mark.parametrize(("ppm", "near"), [("700", True), ("1300", True), ("690", False), ("1310", False)])
def test_near_threshold_means_within_thirty_percent_of_the_limit_that_applies(ppm: str, near: bool) -> None:
    assert verdict(Facts("trim", (other(amount("lead", ppm)),)), "R1").near_threshold is near
    # in brass the limit is 4 % (R1): 0.1 % is nowhere near it
    assert verdict(Facts("wiring", (copper(amount("lead", ppm)),)), "R1").near_threshold is False
