"""The data generator: reproducible, balanced, every family, category and rule present, and every
stated fact rendered into the text it labels."""

from __future__ import annotations

import hashlib
import random
import re

import numpy as np
import pandas as pd
import pytest

from specscan.data import documents, materials, noise
from specscan.data.facts import sample_record
from specscan.data.generator import COLUMNS, FAMILIES, GENERATOR_VERSION, MAX_CHARS, RULES, generate, render
from specscan.data.rules import SAFETY_CRITICAL, verdict
from specscan.data.validation import validate_frame

# sha256 of generate(rows=2000, seed=0).to_csv(index=False) for each generator version: a change that
# moves the random draws must bump GENERATOR_VERSION, on purpose, with a new digest here.
PINNED = {"7": "68bfe5a6eca197213e1f28896891a60892ea39ff63373c5ea257688ee7b5d771"}


@pytest.fixture(scope="module")
def r1() -> pd.DataFrame:
    return generate(revision="R1", rows=8000, seed=3)


@pytest.fixture(scope="module")
def r2() -> pd.DataFrame:
    return generate(revision="R2", rows=8000, seed=3)


def test_the_same_arguments_give_the_pinned_frame_byte_for_byte() -> None:
    frame = generate(rows=2000, seed=0)
    assert hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest() == PINNED[GENERATOR_VERSION]
    assert frame.equals(generate(rows=2000, seed=0))


def test_another_seed_gives_other_texts() -> None:
    assert not set(generate(rows=300, seed=1)["text"]) & set(generate(rows=300, seed=2)["text"])


def test_columns_and_values(r1: pd.DataFrame) -> None:
    assert tuple(r1.columns) == COLUMNS
    assert set(r1["label"]) == set(r1["label_clean"]) == {"compliant", "non_compliant"}
    assert set(r1["family"]) == set(FAMILIES)
    assert set(r1["rule"]) <= set(RULES["R1"])
    assert set(r1["revision"]) == {"R1"}
    assert r1["near_threshold"].dtype == bool
    assert validate_frame(r1, file="r1", max_text_chars=MAX_CHARS).ok


def test_texts_are_unique_non_empty_and_within_the_service_limit(r1: pd.DataFrame) -> None:
    assert r1["text"].is_unique
    assert r1["text"].str.strip().str.len().min() >= 5
    assert r1["text"].str.len().max() <= MAX_CHARS


def test_zero_rows_and_bad_arguments() -> None:
    assert len(generate(rows=0)) == 0
    with pytest.raises(ValueError, match="revision"):
        generate(revision="R3", rows=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="noise"):
        generate(rows=1, noise=1.5)


def test_noise_flips_about_the_requested_share_and_leaves_clean_labels_alone() -> None:
    clean = generate(rows=4000, seed=5, noise=0.0)
    noisy = generate(rows=4000, seed=5, noise=0.1)
    assert clean["label"].equals(clean["label_clean"])
    assert noisy["label_clean"].equals(clean["label_clean"])
    assert 0.08 < (noisy["label"] != noisy["label_clean"]).mean() < 0.12


@pytest.mark.parametrize("revision", ["R1", "R2"])
def test_classes_are_roughly_balanced(revision: str, r1: pd.DataFrame, r2: pd.DataFrame) -> None:
    frame = r1 if revision == "R1" else r2
    assert 0.4 < (frame["label_clean"] == "non_compliant").mean() < 0.6


@pytest.mark.parametrize(("column", "minimum"), [("family", 150), ("category", 60), ("rule", 40)])
def test_every_family_category_and_rule_is_well_represented(r1: pd.DataFrame, column: str, minimum: int) -> None:
    expected = {"family": FAMILIES, "category": materials.CATEGORIES, "rule": RULES["R1"]}[column]
    counts = r1[column].value_counts()
    assert set(counts.index) == set(expected)
    assert counts.min() >= minimum, counts.tail(3).to_dict()


@pytest.mark.parametrize("revision", ["R1", "R2"])
def test_the_rule_names_a_violation_exactly_when_non_compliant(
    revision: str, r1: pd.DataFrame, r2: pd.DataFrame
) -> None:
    frame = r1 if revision == "R1" else r2
    bad = frame["label_clean"] == "non_compliant"
    violations = {"lead", "mercury", "cr6", "cadmium", "asbestos", "pfas", "type_approval"}
    assert frame.loc[bad, "rule"].isin(violations).all()
    assert not frame.loc[~bad, "rule"].isin(violations).any()
    assert (frame.loc[bad, "violations"].str.len() > 0).all() and (frame.loc[~bad, "violations"] == "").all()


def test_a_share_of_rows_sits_near_a_threshold(r1: pd.DataFrame) -> None:
    assert 0.1 < r1["near_threshold"].mean() < 0.35


def test_r2_changes_labels_only_where_the_rules_changed(r1: pd.DataFrame, r2: pd.DataFrame) -> None:
    assert r1["text"].equals(r2["text"])
    changed = r1["label_clean"] != r2["label_clean"]
    assert 0.02 < changed.mean() < 0.15
    # only towards non_compliant, and only for PFAS or copper-alloy lead over 2 %
    assert (r2.loc[changed, "label_clean"] == "non_compliant").all()
    assert r2.loc[changed, "violations"].str.contains("pfas|lead").all()


def test_a_missing_approval_violates_exactly_on_the_closed_list(r1: pd.DataFrame) -> None:
    approval_only = r1[r1["rule"].isin(["type_approval", "approval_not_required"])]
    on_list = approval_only["category"].isin(SAFETY_CRITICAL)
    assert (approval_only.loc[on_list, "rule"] == "type_approval").all()
    assert (approval_only.loc[~on_list, "rule"] == "approval_not_required").all()


def test_every_figure_of_a_record_is_written_into_its_text() -> None:
    r = random.Random(11)
    for _ in range(1500):
        record = sample_record(r)
        _, text = render(r, record)
        digits = re.sub(r"\D", "", text)
        for component in record.components:
            for claim in component.claims:
                if claim.figure is not None:
                    value = re.sub(r"\D", "", format(claim.figure.value, "f")).lstrip("0")
                    assert value in digits, (claim, text)


def test_every_material_kind_with_a_statement_can_be_placed_in_some_part() -> None:
    placed = {kind for parts in materials.PARTS.values() for part in parts for kind in part.body}
    placed |= {kind for roles in materials.ROLE_KINDS.values() for _, kinds in roles for kind in kinds}
    assert set(materials.KINDS) == placed
    assert {m.cls for m in materials.KINDS.values()} == {"copper_alloy", "machining_steel", "aluminium_alloy", "other"}
    assert all(m.leaded == () for m in materials.KINDS.values() if m.cls == "other")


def test_made_up_designations_name_their_own_class_and_say_lead_only_when_leaded() -> None:
    r = random.Random(0)
    for (kind, leaded) in materials.DESIGNATIONS:
        cls = materials.KINDS[kind].cls
        others = {name for k in materials.KINDS.values() if k.cls != cls for name in (*k.names, *k.leaded)}
        made = {materials.designation(r, kind, leaded) for _ in range(300)}
        assert len(made) > 20 and not made & others, (kind, made & others)
        if not leaded:
            assert not any("Pb" in name or "leaded" in name for name in made if name), kind


def test_labels_come_from_the_facts_not_from_the_text() -> None:
    r = random.Random(4)
    record = sample_record(r)
    texts = {render(random.Random(seed), record)[1] for seed in range(20)}
    assert len(texts) > 10  # many wordings, one verdict
    assert verdict(record.facts(), "R1") == verdict(record.facts(), "R1")


def test_typos_never_touch_digits_or_units() -> None:
    r = random.Random(0)
    text = "Pb 0.35 wt% in 11SMnPb30 percent weight, Cd 85 mg/kg"
    for _ in range(200):
        noisy = noise.add_typos(text, r, 3)
        assert re.findall(r"\d+", noisy) == re.findall(r"\d+", text)
        assert "percent" in noisy and "weight" in noisy and "mg/kg" in noisy


def test_an_export_shortens_long_words_but_never_substances_units_figures_or_absence_words() -> None:
    r = random.Random(0)
    text = ("APPROVAL PENDING, HOUSING CADMIUM-PLATED, CHROMIUM 0.35 PERCENT, ASBESTOS NOT DETECTED, "
            "WITHOUT LEADED BRASS")
    shortened = {noise.contract_words(text, r, 1.0) for _ in range(50)}
    assert len(shortened) > 5 and text not in shortened
    for noisy in shortened:
        assert re.findall(r"\d+", noisy) == re.findall(r"\d+", text)
        for word in ("CADMIUM", "CHROMIUM", "PERCENT", "ASBESTOS", "DETECTED", "WITHOUT", "LEADED"):
            assert word in noisy
    assert {noise.contract("pending", random.Random(seed)) for seed in range(30)} >= {"pndng", "pendng"}


def test_a_german_supplier_s_words_replace_whole_words_only() -> None:
    text = "Approval expired, lead time 6 weeks, Pb not detected, housing, steel bracket, stainless"
    assert noise.germanize(text, random.Random(0), 1.0) == (
        "Genehmigung abgelaufen, lead time 6 weeks, Pb nicht nachweisbar, Gehäuse, Stahl bracket, stainless")


def test_unfamiliar_words_go_between_words_never_into_a_figure_a_qualifier_or_a_negation_s_scope() -> None:
    words = set(noise.unfamiliar_words())
    assert len(words) > 5000 and not words & {"lead", "free", "not", "expired", "approved", "cadmium", "brass"}
    text = "Brass fitting free of lead, Pb less than 0.1 %, no asbestos, approval expired"
    r = random.Random(0)
    for _ in range(200):
        noisy = noise.unfamiliar(text, r, 3)
        added = [w for w in noisy.split() if w not in text.split()]
        assert len(added) == 3 and set(added) <= words
        assert re.sub(" (" + "|".join(added) + ")(?= )", "", noisy) == text
        for kept in ("free of lead", "less than 0.1 %", "no asbestos"):
            assert kept in noisy
    assert noise.unfamiliar("BRAKE PADS, APPROVAL PENDING", r, 1).isupper()


def test_the_part_named_does_not_give_its_material_away() -> None:
    # an aluminium bracket, a PVC door seal: nouns that usually come with one material must come with others too
    r = random.Random(6)
    unusual = total = 0
    for _ in range(4000):
        record = sample_record(r)
        for component in record.components:
            if not component.claims or any(k.kind == "absent" for k in component.claims):
                continue
            roles = materials.ROLE_KINDS[record.category]
            usual = {k for role, kinds in roles if role == component.role for k in kinds}
            if component.role and usual:
                total += 1
                unusual += component.kind not in usual
    assert total > 500 and 0.08 < unusual / total < 0.4, (unusual, total)


def test_families_weigh_what_people_write() -> None:
    weights = {name: weight for name, (_, weight, _) in documents.FAMILIES.items()}
    assert len(weights) >= 12 and max(weights.values()) / sum(weights.values()) < 0.2


def test_about_two_percent_of_exported_labels_are_flipped_as_the_rules_document_says() -> None:
    # generation time is a benchmark figure (benchmarks/pipeline_bench.py), not a unit test's
    frame = generate(rows=20_000, seed=0)
    assert np.isclose((frame["label"] != frame["label_clean"]).mean(), 0.02, atol=0.005)


def test_an_echo_keeps_a_hazard_phrase_s_ordinary_words_and_swaps_its_hazard_for_a_harmless_material() -> None:
    assert materials.echo("relay with silver-cadmium oxide (AgCdO) contacts") == (
        "relay with silver-tin oxide (AgSnO2) contacts")
    assert materials.echo("{m} with lead oxide curing agent") == "{m} with zinc oxide curing agent"
    assert materials.echo("EXH MANIFOLD GSKT ASB") == "EXH MANIFOLD GSKT ARAMID"
    assert materials.echo("HID bulb with mercury") is None  # no harmless reading, so no echo


def test_the_ordinary_words_of_hazard_phrases_do_not_give_the_label_away() -> None:
    # "contact" once came only in "AgCdO contacts" and "mercury contact": the network learned the word as cadmium.
    # 24,000 rows, so that the rarest word ("contact", ~0.5 % of rows) is counted in ~120 rows (a share's sd ~0.04)
    frame = generate(revision="R1", rows=24_000, seed=3)
    for word in ("contact", "relay", "manifold", "curing", "reinforced", "oxide"):
        rows = frame[frame["text"].str.contains(rf"\b{word}\b", case=False)]
        share = (rows["label_clean"] == "non_compliant").mean()
        assert len(rows) >= 70 and 0.2 <= share <= 0.8, (word, len(rows), share)  # exports shorten some


def test_a_twin_moves_a_part_with_an_approval_statement_across_the_closed_list_from_any_category() -> None:
    from specscan.data.facts import twin

    r = random.Random(5)
    moved: dict[bool, set[str]] = {True: set(), False: set()}  # was the part safety-critical: the categories left
    for _ in range(6000):
        record = sample_record(r)
        if record.approval != "missing" or any(k.kind != "absent" for c in record.components for k in c.claims):
            continue
        other = twin(record, random.Random(r.random()))
        if other is None or other.category == record.category:
            continue
        was_safety = record.category in SAFETY_CRITICAL
        assert (other.category in SAFETY_CRITICAL) != was_safety
        assert verdict(other.facts(), "R1").non_compliant != verdict(record.facts(), "R1").non_compliant
        moved[was_safety].add(record.category)
    assert "horn" in moved[False] and len(moved[False]) >= 10  # not only the six look-alikes of the closed list
    assert moved[True] == set(SAFETY_CRITICAL)
