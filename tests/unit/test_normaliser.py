"""The canonical-quantity normaliser: one written form for every way of writing a concentration."""

from __future__ import annotations

import time

import pytest

from specscan.artifact.normaliser import NormaliserSpec, for_spec, normalise

SAME_AMOUNT = [  # each row: ways of writing one concentration, all of which mean the same
    ("000.3000 %", ["0.3 %", "0,30 %", "0.3%", "0.30 wt%", "0.3 wt.-%", "0.3 % w/w", "0.3 % (w/w)", "0.3 percent",
                    "0.3 per cent", "0.3 mass-%", "0.3 % by weight", "3000 ppm", "3 000 ppm", "3,000 ppm", "3000 mg/kg",
                    "3 g/kg", "3 mg/g", "3000 µg/g", "3000 ppmw", "0.3 % m/m", "3000 mg kg-1", "0.3 pct", ".3 %"]),
    ("000.0085 %", ["85 ppm", "85 mg/kg", "0.0085 %", "85 ug/g", "85 μg/g", "0,0085 %", "0.085 g/kg"]),
    ("004.0000 %", ["4 %", "4.0 %", "40 000 ppm", "40000 mg/kg", "40 g/kg", "4,0 %"]),
    ("000.0000 %", ["25 ppb", "25 µg/kg"]),
]


@pytest.mark.parametrize(("canonical", "written"), [(c, w) for c, ws in SAME_AMOUNT for w in ws])
def test_every_written_form_of_an_amount_becomes_one_form(canonical: str, written: str) -> None:
    assert normalise(f"Pb {written} in the brass") == f"Pb {canonical} in the brass"


@pytest.mark.parametrize(("written", "canonical"), [
    ("max. 0.05 %", "≤ 000.0500 %"), ("≤ 0.05 %", "≤ 000.0500 %"), ("up to 500 ppm", "≤ 000.0500 %"),
    ("not more than 0.05 %", "≤ 000.0500 %"), ("0.05 % max.", "≤ 000.0500 %"), ("0.05 % or less", "≤ 000.0500 %"),
    ("< 80 ppm", "< 000.0080 %"), ("<80 ppm", "< 000.0080 %"), ("less than 80 ppm", "< 000.0080 %"),
    ("below 80 mg/kg", "< 000.0080 %"), ("at least 0.2 %", "≥ 000.2000 %"), ("min. 0.2 %", "≥ 000.2000 %"),
    ("> 0.1 %", "> 000.1000 %"), ("greater than 1000 ppm", "> 000.1000 %"), ("more than 0.1 %", "> 000.1000 %"),
    ("ca. 0.3 %", "~ 000.3000 %"), ("approx. 3000 ppm", "~ 000.3000 %"), ("~0.3 %", "~ 000.3000 %"),
    ("0.05-0.08 %", "000.0500 % to 000.0800 %"), ("0.05 – 0.08 %", "000.0500 % to 000.0800 %"),
    ("0.05 % to 0.08 %", "000.0500 % to 000.0800 %"), ("between 500 and 800 ppm", "000.0500 % to 000.0800 %"),
])
def test_qualifiers_and_ranges_are_canonical(written: str, canonical: str) -> None:
    assert normalise(f"lead {written}") == f"lead {canonical}"


@pytest.mark.parametrize(("written", "canonical"), [
    ("PB_PPM=850", "PB_PPM= 000.0850 %"), ("CD_MGKG=<5", "CD_MGKG= < 000.0005 %"),
    ("Cd [mg/kg]: 12", "Cd [mg/kg]: 000.0012 %"),
    ("lead (%) 0.3", "lead (%) 000.3000 %"), ("ppm: 40", "ppm: 000.0040 %"),
])
def test_a_unit_written_as_the_key_of_a_number_counts(written: str, canonical: str) -> None:
    assert normalise(written) == canonical


@pytest.mark.parametrize("text", [
    "lead time 6 weeks", "M8 bolt, torque 25 Nm, mass 120 g", "PA66-GF30 housing", "12 V, 4.2 W, -40 to +85 °C",
    "drawing rev. C, lot 4711-22", "Cd 0.29 drag coefficient", "CD drive", "Pb n.d., Hg not detected",
])
def test_text_without_a_concentration_is_left_as_written(text: str) -> None:
    assert normalise(text) == text


def test_whitespace_and_compatibility_characters_are_folded() -> None:
    assert normalise("  Pb\u00a00.3\u202f%\t\nin brass ") == "Pb 000.3000 % in brass"
    assert normalise("Ｐｂ ０.３ ％") == "Pb 000.3000 %"


@pytest.mark.parametrize("text", [
    "", " ", "%%%", "0000000", "9" * 10_000, "9" * 10_000 + " ppm", "1" * 5000 + ".5 %", "Pb " + "1 " * 3000 + "ppm",
    "\ud800 lead", "Bremsbelag тормоз 刹车片 Pb 0.2 %", "\x00\x07 0.3 %", "😀 0.1 %", ",5 %", "1,2,3,4 %", "0.1.2 %",
])
def test_any_input_gives_a_string_quickly_and_normalising_twice_changes_nothing(text: str) -> None:
    started = time.perf_counter()
    once = normalise(text)
    assert isinstance(once, str) and time.perf_counter() - started < 0.5
    assert normalise(once) == once
    once.encode("utf-8")  # no lone surrogate survives


def test_the_rules_document_examples_keep_their_meaning() -> None:
    assert normalise("Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)") == (
        "Cable sheathing, flexible PVC with lead stabiliser (000.4000 % Pb)")
    assert normalise("Free-cutting steel shaft for machining, 0,30 % Pb") == (
        "Free-cutting steel shaft for machining, 000.3000 % Pb")
    assert normalise("Battery tray, PP-T20, cadmium 85 ppm in pigment") == (
        "Battery tray, PP-T20, cadmium 000.0085 % in pigment")


BANDS = NormaliserSpec(version="2", edges_ppm=(100, 1000, 3500, 4000, 20_000, 40_000))


@pytest.mark.parametrize(("written", "band"), [
    ("85 ppm", "qtya"), ("100 mg/kg", "qtya"), ("0.0101 %", "qtyb"), ("0.1 %", "qtyb"), ("1001 ppm", "qtyc"),
    ("0,35 %", "qtyc"), ("0.36 %", "qtyd"), ("4 g/kg", "qtyd"), ("0.41 %", "qtye"), ("2 %", "qtye"),
    ("20 001 ppm", "qtyf"), ("4.0 %", "qtyf"), ("4.1 %", "qtyg"), ("25 ppb", "qtya"),
])
def test_version_2_writes_the_band_between_the_limits_and_a_figure_at_a_limit_falls_below(
        written: str, band: str) -> None:
    assert normalise(f"Pb {written} in the brass", BANDS) == f"Pb {band} in the brass"


def test_version_2_keeps_qualifiers_ranges_and_keyed_units() -> None:
    assert normalise("lead max. 0.05 %, Cd 5-20 ppm, PB_PPM=850, Hg > 0.1 %", BANDS) == (
        "lead ≤ qtyb, Cd qtya to qtya, PB_PPM= qtyb, Hg > qtyb")
    assert normalise(normalise("Pb 0.37 %", BANDS), BANDS) == "Pb qtyd"


def test_a_bundle_without_a_normaliser_reads_text_as_written() -> None:
    assert for_spec(None)("Pb 0,3 %") == "Pb 0,3 %"
    assert for_spec(BANDS)("Pb 0,3 %") == "Pb qtyc"
