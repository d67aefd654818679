"""Specification of the synthetic description generator (specscan.data.generator)."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from specscan.data import vocabulary as V
from specscan.data.generator import (
    CATEGORIES,
    COLUMNS,
    FAMILIES,
    RULES,
    VIOLATION_RULES,
    Amount,
    Component,
    Facts,
    Mention,
    generate,
    label_facts,
)

N = 20_000


@pytest.fixture(scope="module")
def r1() -> pd.DataFrame:
    return generate(revision="R1", rows=N, seed=11)


@pytest.fixture(scope="module")
def r2() -> pd.DataFrame:
    return generate(revision="R2", rows=N, seed=11)


# ----------------------------------------------------------------------------- shape and determinism


def test_same_arguments_give_the_same_frame_byte_for_byte() -> None:
    a = generate(rows=3_000, seed=5)
    b = generate(rows=3_000, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert pd.util.hash_pandas_object(a).sum() == pd.util.hash_pandas_object(b).sum()
    assert a.to_csv(index=False) == b.to_csv(index=False)


def test_another_seed_gives_other_texts() -> None:
    a = generate(rows=500, seed=1)
    b = generate(rows=500, seed=2)
    assert (a["text"] != b["text"]).mean() > 0.95


def test_columns_in_order_with_expected_values(r1: pd.DataFrame) -> None:
    assert (
        tuple(r1.columns)
        == COLUMNS
        == ("id", "text", "label", "label_clean", "category", "rule", "family", "near_threshold", "revision")
    )
    assert len(r1) == N
    assert r1["near_threshold"].dtype == bool
    assert set(r1["label"]) == set(r1["label_clean"]) == {"compliant", "non_compliant"}
    assert set(r1["revision"]) == {"R1"}
    assert r1["id"].str.fullmatch(r"C\d{7}").all()
    assert r1["id"].is_unique
    assert r1["id"].iloc[0] == "C0000001"


def test_texts_are_unique_non_empty_and_bounded(r1: pd.DataFrame) -> None:
    texts = r1["text"]
    assert texts.str.strip().str.len().gt(0).all()
    assert texts.str.len().le(1000).all()
    assert texts.str.lower().str.split().str.join(" ").is_unique
    words = texts.str.split().str.len()
    assert words.between(3, 60).mean() > 0.97


def test_zero_rows_and_bad_arguments() -> None:
    assert len(generate(rows=0)) == 0
    with pytest.raises(ValueError):
        generate(rows=10, revision="R3")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        generate(rows=10, noise=1.5)


# ----------------------------------------------------------------------------- labels


def test_noise_flips_about_the_requested_share_and_leaves_clean_labels_alone() -> None:
    noisy = generate(rows=10_000, noise=0.02, seed=3)
    clean = generate(rows=10_000, noise=0.0, seed=3)
    flipped = (noisy["label"] != noisy["label_clean"]).mean()
    assert 0.01 <= flipped <= 0.03
    assert (clean["label"] == clean["label_clean"]).all()
    pd.testing.assert_series_equal(noisy["label_clean"], clean["label_clean"])
    pd.testing.assert_series_equal(noisy["text"], clean["text"])


@pytest.mark.parametrize("revision", ["R1", "R2"])
def test_classes_are_roughly_balanced(revision: str, r1: pd.DataFrame, r2: pd.DataFrame) -> None:
    frame = r1 if revision == "R1" else r2
    share = (frame["label_clean"] == "non_compliant").mean()
    assert 0.44 <= share <= 0.56


@pytest.mark.parametrize(
    "column, expected", [("family", set(FAMILIES)), ("category", set(CATEGORIES)), ("rule", set(RULES["R1"]))]
)
def test_every_family_category_and_rule_is_well_represented(
    r1: pd.DataFrame, column: str, expected: set[str]
) -> None:
    counts = r1[column].value_counts()
    assert set(counts.index) == expected
    assert counts.min() >= 0.01 * N


def test_there_are_many_families_and_categories() -> None:
    assert len(FAMILIES) >= 15 and len(set(FAMILIES)) == len(FAMILIES)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", f) for f in FAMILIES)
    assert len(CATEGORIES) >= 12


@pytest.mark.parametrize("revision", ["R1", "R2"])
def test_rule_names_the_violation_exactly_when_non_compliant(
    revision: str, r1: pd.DataFrame, r2: pd.DataFrame
) -> None:
    frame = r1 if revision == "R1" else r2
    violated = frame["rule"].isin(VIOLATION_RULES)
    assert (violated == (frame["label_clean"] == "non_compliant")).all()
    assert frame["rule"].isin(RULES[revision]).all()


def test_a_share_of_rows_sits_near_a_threshold(r1: pd.DataFrame, r2: pd.DataFrame) -> None:
    for frame in (r1, r2):
        assert 0.08 <= frame["near_threshold"].mean() <= 0.22
    # near-threshold rows are mostly about concentrations, in both classes
    near = r1[r1["near_threshold"]]
    assert set(near["label_clean"]) == {"compliant", "non_compliant"}


def test_revision_r2_changes_labels_only_where_the_rules_changed(r1: pd.DataFrame, r2: pd.DataFrame) -> None:
    pd.testing.assert_series_equal(r1["text"], r2["text"])  # same facts, same texts
    changed = r1["label_clean"] != r2["label_clean"]
    assert changed.any()
    # R2 only tightens: nothing compliant under R2 was non-compliant under R1
    assert (r1.loc[changed, "label_clean"] == "compliant").all()
    assert set(r2.loc[changed, "rule"]) <= {"pfas", "lead"}
    pfas_rows = r1["rule"] == "pfas_not_restricted"
    assert pfas_rows.sum() > 0.02 * N
    assert (r1.loc[pfas_rows, "label_clean"] == "compliant").all()
    assert (r2.loc[pfas_rows, "label_clean"] == "non_compliant").all()
    assert (r2.loc[pfas_rows, "rule"] == "pfas").all()
    copper = (r1["rule"] == "lead_exemption_copper") & (r2["rule"] == "lead")
    assert copper.sum() > 0.005 * N  # brass with 2-4 % lead
    assert r1.loc[pfas_rows, "text"].str.contains(r"PFAS|PFOA|PFOS|fluor", case=False).mean() > 0.95


# ----------------------------------------------------------------------------- an independent oracle

_CONC = re.compile(
    r"\b(Pb|Cd|Hg)\b\s*(?:content|=|:)?\s*(\d+(?:[.,]\d+)?)\s*"
    r"(wt\.? ?%|% w/w|% by weight|%|ppm|mg/kg)",
    re.IGNORECASE,
)
_OTHER = re.compile(
    r"lead|\bpb|cadm|\bcd|mercur|\bhg|chrom|\bcr|asbest|chrysot|\bnao\b|pfas|pfoa|pfos|fluor|"
    r"ptfe|mark|appr|homolog|\bece\b|certif|cert\.|\bdot\b|solder|stabili|pigment|"
    r"plated|\b[<>≤~]|below|above|less|more|under|over|max|approx|about|ca\.|detect|"
    r"free|\bno\b|\bnot\b|without|\d\s*(-|–|to|…)\s*\d",
    re.IGNORECASE,
)
# material designations count as naming the material: CW614N is a brass, 1.0718 a free-cutting steel
_COPPER = re.compile(
    r"brass|bronze|gunmetal|copper alloy|cuzn|cusn|cuni|\bcw\d{3}[a-z]\b|\bc3[68]\d00\b|\bcc49\dk\b",
    re.IGNORECASE,
)
_MACHINING = re.compile(
    r"free.cutting|free.machining|machining|automatenstahl|11smn|9smn|\b1\.07\d\d\b|\b12l14\b|\b1215\b",
    re.IGNORECASE,
)
_ALUMINIUM = re.compile(
    r"alumin|\bal alloy|\balu\b|alsi|alcu|almg|aw-|ac-\d|\b(6262|2007|2011)\b", re.IGNORECASE
)


def _oracle(text: str) -> bool | None:
    """Non-compliance read straight from the text by the R1 rules, or None when out of scope."""
    matches = list(_CONC.finditer(text))
    if len(matches) != 1:
        return None
    m = matches[0]
    if _OTHER.search(text[: m.start()] + " " + text[m.end() :]):
        return None
    sub, number, unit = m.group(1).lower(), float(m.group(2).replace(",", ".")), m.group(3)
    ppm = number if unit.lower() in ("ppm", "mg/kg") else number * 10_000
    if sub != "pb":
        return ppm > (100 if sub == "cd" else 1000)
    # the lead limit depends on the material holding it: read it just before the number and
    # stay out of texts that name an exempt material anywhere else
    window = text[max(0, m.start() - 45) : m.start()]
    rest = text[: max(0, m.start() - 45)] + " " + text[m.end() :]
    hosts = [bool(p.search(window)) for p in (_COPPER, _MACHINING, _ALUMINIUM)]
    if sum(hosts) > 1 or any(p.search(rest) for p in (_COPPER, _MACHINING, _ALUMINIUM)):
        return None
    limit = 40_000 if hosts[0] else 3_500 if hosts[1] else 4_000 if hosts[2] else 1_000
    return ppm > limit + 1e-9


def test_labels_agree_with_a_regex_oracle_where_it_applies(r1: pd.DataFrame) -> None:
    verdicts = r1["text"].map(_oracle)
    scope = verdicts.notna()
    assert scope.sum() > 300
    agree = (verdicts[scope] == (r1.loc[scope, "label_clean"] == "non_compliant")).mean()
    assert agree >= 0.98  # typos in a material name ("brsas") are the only expected misses


def test_rows_that_claim_a_compliant_rule_are_compliant(r1: pd.DataFrame) -> None:
    for rule in (
        "substance_below_limit",
        "substance_absent",
        "asbestos_free",
        "pfas_free",
        "lead_exemption_copper",
        "lead_exemption_steel",
        "lead_exemption_aluminium",
    ):
        assert (r1.loc[r1["rule"] == rule, "label_clean"] == "compliant").all(), rule
    asbestos = r1[r1["rule"] == "asbestos"]["text"]
    assert asbestos.str.contains(r"asbest|chrysot", case=False).mean() > 0.9


def _facts(category: str, *comps: Component, approval: str = "silent") -> Facts:
    return Facts(category, "part", "PART", list(comps), approval=approval, primary=0 if comps else "approval")


def _pct(text: str, sub: str = "lead", qualifier: str = "eq") -> Mention:
    whole, _, frac = text.partition(".")
    return Mention(sub, "conc", Amount(int(whole + frac), len(frac), "%", qualifier))


@pytest.mark.parametrize(
    "facts, r1_bad, r2_bad",
    [
        # the examples of compliance-rules.md, as facts
        (_facts("wiring", Component("contacts", "copper_alloy", "brass", "brass", _pct("2.8"))), False, True),
        (_facts("wiring", Component("", "pvc", "flexible PVC", "PVC", _pct("0.4"))), True, True),
        (
            _facts(
                "battery",
                Component("", "plastic", "PP-T20", "PP", Mention("cadmium", "conc", Amount(85, 0, "ppm"))),
            ),
            False,
            False,
        ),
        (
            _facts(
                "fastener", Component("", "steel", "spring steel", "steel", Mention("cadmium", "present"))
            ),
            True,
            True,
        ),
        (
            _facts("fastener", Component("", "machining_steel", "free-cutting steel", "steel", _pct("0.30"))),
            False,
            False,
        ),
        (
            _facts("fastener", Component("", "steel", "steel", "steel", Mention("cr6", "absent"))),
            False,
            False,
        ),
        (
            _facts("brake", Component("", "friction", "lining", "lining", Mention("asbestos", "present"))),
            True,
            True,
        ),
        (_facts("lighting", approval="missing"), True, True),
        (_facts("interior", approval="missing"), False, False),
        (_facts("tyre", approval="named"), False, False),
        # thresholds: at the limit is compliant, above is not, "> limit" is above
        (_facts("body", Component("", "machining_steel", "steel", "steel", _pct("0.35"))), False, False),
        (_facts("body", Component("", "machining_steel", "steel", "steel", _pct("0.36"))), True, True),
        (_facts("body", Component("", "aluminium_alloy", "Al", "Al", _pct("0.40"))), False, False),
        (_facts("body", Component("", "aluminium_alloy", "Al", "Al", _pct("0.41"))), True, True),
        (_facts("hvac", Component("", "copper_alloy", "brass", "brass", _pct("4.0"))), False, True),
        (_facts("hvac", Component("", "copper_alloy", "brass", "brass", _pct("2.0"))), False, False),
        (_facts("hvac", Component("", "copper_alloy", "brass", "brass", _pct("4.1"))), True, True),
        (_facts("trim", Component("", "plastic", "ABS", "ABS", _pct("0.1"))), False, False),
        (_facts("trim", Component("", "plastic", "ABS", "ABS", _pct("0.1", qualifier="gt"))), True, True),
        (
            _facts(
                "trim",
                Component("", "plastic", "ABS", "ABS", Mention("lead", "conc", Amount(1200, 0, "ppm"))),
            ),
            True,
            True,
        ),
        (_facts("trim", Component("", "plastic", "ABS", "ABS", _pct("0.08", sub="cadmium"))), True, True),
        (_facts("trim", Component("", "plastic", "ABS", "ABS", _pct("0.01", sub="cadmium"))), False, False),
        (
            _facts("seal_gasket", Component("", "rubber", "EPDM", "EPDM", Mention("pfas", "present"))),
            False,
            True,
        ),
        (
            _facts("seal_gasket", Component("", "rubber", "EPDM", "EPDM", Mention("pfas", "absent"))),
            False,
            False,
        ),
    ],
)
def test_label_facts_follows_the_regulation(facts: Facts, r1_bad: bool, r2_bad: bool) -> None:
    assert label_facts(facts, "R1")[0] is r1_bad
    assert label_facts(facts, "R2")[0] is r2_bad


def test_near_threshold_means_within_thirty_percent_of_the_applicable_limit() -> None:
    def near(text: str, host: str, sub: str = "lead") -> bool:
        return label_facts(_facts("body", Component("", host, "m", "m", _pct(text, sub))), "R1")[2]

    assert near("0.08", "plastic") and near("0.13", "plastic") and not near("0.14", "plastic")
    assert near("0.30", "machining_steel") and near("0.45", "machining_steel")
    assert not near("0.30", "plastic") and not near("0.06", "plastic")
    assert near("0.0070", "plastic", "cadmium") and near("0.0130", "plastic", "cadmium")


# ----------------------------------------------------------------------------- realism


@pytest.mark.parametrize(
    "pattern",
    [
        r"E-marked to UN ECE R90",
        r"CHRYSOTILE REINF",
        r"PA66-GF30",
        r"Pb \d[.,]\d+ ?% in the brass",
        r"lead stabili[sz]er \([^)]*(Pb|lead)\)",
        r"trivalent passivation",
        r"yellow chromate conversion coating",
        r"E-mark application pending",
        r"not E-marked",
        r"(cadmium|Cd) \d+ ?(ppm|mg/kg)[^,;]* in pigment",
        r"Cd-plated",
        r"\d,\d+ ?% Pb",
        r"homologation withdrawn by the authority",
        r"torque \d+ Nm",
        r"\d+ V\b",
        r"lead time",
        r"SAC305|lead-free solder",
        r"NAO",
        r"mercury switch|Hg switch",
        r"PFOA",
        r"aluminum|tire\b|stabilizer",
        r"\bppm\b",
        r"mg/kg",
        r"wt\.?%",
        r"% w/w",
        r"< ?0[.,]1 ?%",
    ],
)
def test_the_phrasings_of_the_rulebook_examples_occur(r1: pd.DataFrame, pattern: str) -> None:
    assert r1["text"].str.contains(pattern, case=False, regex=True).any(), pattern


def test_substance_knowledge_is_spread_over_many_families(r1: pd.DataFrame) -> None:
    for rule in (
        "lead",
        "cadmium",
        "cr6",
        "mercury",
        "asbestos",
        "type_approval",
        "substance_absent",
        "lead_exemption_copper",
        "pfas_not_restricted",
    ):
        assert r1.loc[r1["rule"] == rule, "family"].nunique() == len(FAMILIES), rule


def test_every_host_that_can_hold_a_substance_has_words_for_it() -> None:
    for host_name, host in V.HOSTS.items():
        for sub, modes in host.supports.items():
            if "p" in modes:
                assert (sub, host_name) in V.PRESENT, (sub, host_name)
            if "a" in modes:
                assert sub in V.ABSENT_GENERIC


@pytest.mark.slow
def test_one_hundred_thousand_rows_generate_within_a_minute() -> None:
    start = time.perf_counter()
    frame = generate(rows=100_000, seed=0)
    assert time.perf_counter() - start < 60
    assert len(frame) == 100_000 and frame["text"].is_unique


# ----------------------------------------------------------------------------- vocabulary breadth


def test_a_missing_approval_is_a_violation_exactly_in_the_safety_categories(r1: pd.DataFrame) -> None:
    assert set(r1.loc[r1["rule"] == "type_approval", "category"]) <= V.SAFETY_CATEGORIES
    plain = [p for p in V.APPROVAL_MISSING if "{" not in p]
    says_missing = r1["text"].str.lower().map(lambda t: any(p.lower() in t for p in plain))
    other = ~r1["category"].isin(V.SAFETY_CATEGORIES)
    # the same words are on both sides of the boundary, and only the category decides
    assert (says_missing & other & (r1["rule"] == "approval_not_required")).sum() > 100
    assert (says_missing & other & (r1["label_clean"] == "compliant")).sum() > 100
    assert (r1.loc[says_missing & other, "rule"] != "type_approval").all()
    assert (r1.loc[says_missing & ~other, "label_clean"] == "non_compliant").all()


@pytest.mark.parametrize(
    "category, part", [("electronics", "horn"), ("service", "wiper blade"), ("accessory", "roof rack")]
)
def test_a_non_safety_part_that_is_not_e_marked_is_compliant(category: str, part: str) -> None:
    assert any(p == part for p, _, _ in V.PARTS[category])
    facts = Facts(category, part, part.upper(), [], approval="missing", primary="approval")
    assert label_facts(facts, "R1") == (False, "approval_not_required", False)
    assert label_facts(facts, "R2")[0] is False


@pytest.mark.parametrize("name", ["CW614N", "CuZn39Pb3", "C36000", "CuSn5Zn5Pb5"])
def test_a_copper_alloy_named_only_by_designation_keeps_its_exemption(name: str) -> None:
    assert name in {n for n, _ in V.HOSTS["copper_alloy"].lead_names}

    def bad(pct: str, revision: str) -> bool:
        comp = Component("", "copper_alloy", name, name, _pct(pct))
        return label_facts(_facts("fluid_line", comp), revision)[0]  # type: ignore[arg-type]

    assert not bad("3.5", "R1") and not bad("4.0", "R1") and bad("4.6", "R1")
    assert bad("3.5", "R2") and not bad("2.0", "R2")


def test_designations_name_the_host_class_that_sets_the_lead_limit() -> None:
    expected = {
        "copper_alloy": ("CW614N", "CW617N", "CuZn40Pb2", "C38500", "CW508L"),
        "machining_steel": ("11SMnPb30", "11SMnPb37", "9SMnPb28", "1.0718", "12L14", "Automatenstahl"),
        "aluminium_alloy": ("EN AW-2007", "EN AW-2011", "AlMgSiPb", "AlCuMgPb", "EN AW-6262"),
    }
    for host, names in expected.items():
        known = {n for n, _ in V.HOSTS[host].names + V.HOSTS[host].lead_names}
        assert set(names) <= known, host
    for host in V.HOSTS.values():
        if host.cls == "other":
            for name, _ in host.names:
                assert not re.search(r"CW\d{3}|SMnPb|12L14|1\.07\d\d|AW-2007|AW-2011|brass|bronze", name)


def test_lead_implying_names_only_come_with_a_stated_lead_amount() -> None:
    import random

    from specscan.data.generator import sample_facts

    rng = random.Random(7)
    seen = 0
    for _ in range(20_000):
        for c in sample_facts(rng).components:
            if c.material in {n for n, _ in V.HOSTS[c.host].lead_names}:
                seen += 1
                assert c.mention is not None and (c.mention.substance, c.mention.mode) == ("lead", "conc")
    assert seen > 200


def test_terse_descriptions_are_common_across_families_categories_and_rules(r1: pd.DataFrame) -> None:
    terse = r1[r1["text"].str.split().str.len() <= 12]
    assert len(terse) > 0.12 * N
    assert terse["family"].nunique() >= 12
    assert set(terse["category"]) == set(CATEGORIES)
    assert set(terse["rule"]) == set(RULES["R1"])


@pytest.mark.parametrize(
    "pattern",
    [
        r"not exceeding \d",
        r"\d ?(%|ppm|mg/kg)[^,;]* or less",
        r"traces < ?\d",
        r"E\d+ mark on lens",
        r"43R-\d",
        r"homologation refused",
        r"no E-mark on this batch",
        r"CW614N|CW617N",
        r"11SMnPb3[07]|1\.0718|12L14",
        r"EN AW-20(07|11)|AlMgSiPb",
        r"(Cd|cadmium) (plating|plated|coated)",
        r"yellow passivation \(Cr6\+\)",
        r"chrysotile fibres",
        r"(without|free from) mercury",
        r"asbestos: none",
        r"PPAP approved|IATF 16949",
    ],
)
def test_the_broadened_phrasings_occur(r1: pd.DataFrame, pattern: str) -> None:
    assert r1["text"].str.contains(pattern, case=False, regex=True).any(), pattern
