"""Words for facts: figures in every written form, substances, statements, materials, approvals,
false friends and the irrelevant facts around them.

Every phrase listed under a meaning carries that meaning for a technician reading it; which
meaning applies was decided when the record was drawn (`facts`), never here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from specscan.data import materials as M
from specscan.data.facts import Claim, Component, Figure, Record

# --- style of one description ---------------------------------------------------------------------


@dataclass
class Style:
    """Writing habits held for a whole description."""

    comma: bool = False  # decimal comma
    symbols: float = 0.5  # share of "Pb" over "lead"
    spaced_thousands: bool = False
    terse: bool = False


def style(r: random.Random) -> Style:
    return Style(
        comma=r.random() < 0.15,
        symbols=r.choice((0.2, 0.5, 0.8)),
        spaced_thousands=r.random() < 0.4,
        terse=r.random() < 0.3,
    )


def pick(r: random.Random, options: tuple[str, ...] | list[str]) -> str:
    return options[r.randrange(len(options))]


# --- figures ------------------------------------------------------------------------------------

UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "%": (
        "%",
        " %",
        " %",
        "%",
        " wt%",
        " wt.%",
        " wt. %",
        " wt-%",
        " wt.-%",
        " % w/w",
        " % (w/w)",
        " % by weight",
        " percent",
        " per cent",
        " mass-%",
        " % m/m",
        " weight %",
        " %wt",
        " m%",
        " % by wt.",
    ),
    "ppm": (" ppm", " ppm", "ppm", " ppmw", " ppm (w/w)", " ppm by weight", " PPM"),
    "mg/kg": (" mg/kg", " mg/kg", "mg/kg", " mg kg-1", " mg/kg (ppm)"),
    "µg/g": (" µg/g", " ug/g", " μg/g"),
    "g/kg": (" g/kg", "g/kg"),
    "mg/g": (" mg/g",),
    "ppb": (" ppb", "ppb"),
    "µg/kg": (" µg/kg", " ug/kg"),
}
_BEFORE: dict[str, tuple[str, ...]] = {
    "eq": ("",),
    "approx": ("ca. ", "approx. ", "~", "about ", "approximately ", "approx ", "~ ", "around ", "roughly ", "c. "),
    "max": (
        "max. ",
        "max ",
        "≤ ",
        "≤",
        "<= ",
        "up to ",
        "not more than ",
        "not exceeding ",
        "maximum ",
        "at most ",
        "no more than ",
    ),
    "lt": ("< ", "<", "below ", "less than ", "under ", "lower than ", "<  "),
    "min": ("at least ", "min. ", "≥ ", "≥", ">= ", "minimum ", "not less than ", "no less than "),
    "gt": ("> ", ">", "above ", "more than ", "greater than ", "over ", "exceeding ", "in excess of ", "higher than "),
}
_AFTER: dict[str, tuple[str, ...]] = {
    "max": ("{q} max.", "{q} max", "{q} or less", "{q} maximum", "{q} (max.)"),
    "min": ("{q} min.", "{q} or more", "{q} minimum"),
}


def number(value: Decimal, st: Style, r: random.Random, *, unit: str) -> str:
    """A decimal as a person writes it: decimal comma, or spaced / comma thousands."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    if len(whole) > 3 and unit != "%" and r.random() < 0.6:
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        separator = " " if st.spaced_thousands or st.comma else pick(r, (",", " ", "\u202f"))
        whole = separator.join(groups)
    if frac:
        return f"{whole}{',' if st.comma and ',' not in whole else '.'}{frac}"
    return whole


def figure(fig: Figure, st: Style, r: random.Random) -> str:
    """ "max. 0.05 %", "< 80 ppm", "0,30 wt-%", "1 200 mg/kg", "0.05–0.08 %", "between 2 and 3 %"."""
    unit = pick(r, UNIT_WORDS[fig.unit])
    value = number(fig.value, st, r, unit=fig.unit)
    if fig.relation == "range":
        assert fig.low is not None
        low = number(fig.low, st, r, unit=fig.unit)
        if r.random() < 0.2:
            return f"between {low} and {value}{unit}"
        if r.random() < 0.3:
            return f"{low}{unit} to {value}{unit}"
        return f"{low}{pick(r, ('-', '–', ' - ', ' to ', '…', '–'))}{value}{unit}"
    q = f"{value}{unit}"
    if fig.relation in _AFTER and r.random() < 0.3:
        return pick(r, _AFTER[fig.relation]).format(q=q)
    if fig.relation == "eq" and r.random() < 0.03:
        return f"exactly {q}"
    return pick(r, _BEFORE[fig.relation]) + q


# --- substances -----------------------------------------------------------------------------------

SYMBOLS: dict[str, tuple[str, ...]] = {
    "lead": ("Pb",),
    "mercury": ("Hg",),
    "cadmium": ("Cd",),
    "cr6": ("Cr(VI)", "Cr6+", "CrVI", "Cr(6+)", "Cr VI", "Cr6", "Cr(VI)"),
    "asbestos": ("asbestos", "chrysotile"),
    "pfas": ("PFOA", "PFOS", "PFAS", "PFHxS"),
}
WORDS: dict[str, tuple[str, ...]] = {
    "lead": ("lead",),
    "mercury": ("mercury",),
    "cadmium": ("cadmium",),
    "cr6": ("hexavalent chromium", "chromium(VI)", "hex chrome", "chromium VI", "Cr(VI)"),
    "asbestos": ("asbestos", "asbestos fibre", "chrysotile", "chrysotile asbestos"),
    "pfas": ("PFOA", "PFOS", "total PFAS", "PFAS", "perfluorooctanoic acid"),
}
ABSENT: dict[str, tuple[str, ...]] = {
    "lead": (
        "Pb-free",
        "lead-free",
        "lead free",
        "no lead",
        "contains no lead",
        "free of lead",
        "without lead",
        "no Pb added",
        "Pb free",
        "free from lead",
        "lead: none",
        "Pb not detected",
        "Pb n.d.",
        "Pb: n.d.",
        "Pb ND",
        "leadfree",
        "Pb free",
        "lead below detection limit",
        "lead not detected",
        "Pb < LOD",
        "unleaded",
        "no intentionally added lead",
    ),
    "mercury": (
        "mercury-free",
        "Hg-free",
        "no mercury",
        "contains no mercury",
        "free of mercury",
        "without mercury",
        "Hg: none",
        "mercury not detected",
        "free from mercury",
        "Hg n.d.",
        "Hg: n.d.",
        "Hg=ND",
        "Hg not detected",
    ),
    "cr6": (
        "Cr(VI)-free",
        "no Cr(VI)",
        "contains no Cr(VI)",
        "free of hexavalent chromium",
        "hexavalent-chromium-free",
        "no Cr6+",
        "Cr6+ free",
        "trivalent chromium only",
        "free from Cr(VI)",
        "Cr6+ not detected",
        "chromium(VI): none",
        "Cr(VI) n.d.",
        "Cr(VI): n.d.",
        "hexavalent chromium below detection limit",
        "Cr(III) passivation",
        "trivalent passivation",
        "CrVI free",
    ),
    "cadmium": (
        "cadmium-free",
        "Cd-free",
        "no cadmium",
        "contains no cadmium",
        "free of cadmium",
        "free from cadmium",
        "Cd: none",
        "Cd n.d.",
        "Cd: n.d.",
        "Cd ND",
        "cadmiumfree",
        "Cd free",
        "cadmium not detected",
        "without cadmium",
        "Cd not detected",
        "no Cd",
    ),
    "asbestos": (
        "asbestos-free",
        "free of asbestos",
        "no asbestos",
        "non-asbestos",
        "asbestos free",
        "contains no asbestos",
        "asbestos: none",
        "asbestos not detected",
        "without asbestos",
        "free from asbestos",
        "NAO",
        "asbestos: n.d.",
    ),
    "pfas": (
        "PFAS-free",
        "free of PFAS",
        "no PFAS",
        "PFAS free",
        "contains no PFAS",
        "no PFAS intentionally added",
        "PFAS: none",
        "free from PFAS",
        "PFAS not detected",
        "PFOA/PFOS n.d.",
    ),
}
# several substances absent at once: "free of lead, cadmium and mercury"
_ABSENT_LIST = ("free of {x}", "{x}-free", "no {x}", "{x}: n.d.", "{x} not detected", "contains no {x}")
PRESENT_GENERIC: dict[str, tuple[str, ...]] = {
    "lead": ("contains lead", "lead-containing", "Pb present", "lead detected (not quantified)", "with lead"),
    "cadmium": ("contains cadmium", "Cd present", "cadmium detected", "with cadmium"),
    "mercury": ("contains mercury", "Hg present", "mercury detected"),
    "cr6": ("contains Cr(VI)", "Cr(VI) present", "hexavalent chromium detected", "Cr6+ detected"),
    "asbestos": ("contains asbestos", "asbestos detected", "chrysotile present", "asbestos-containing"),
    "pfas": ("contains PFAS", "PFAS present", "PFOA detected", "PFAS-containing"),
}


def substance(name: str, st: Style, r: random.Random) -> str:
    return pick(r, SYMBOLS[name]) if r.random() < st.symbols else pick(r, WORDS[name])


# material-specific ways of stating a figure: (substance, material kind) -> forms
_AMOUNT_IN: dict[tuple[str, str], tuple[str, ...]] = {
    ("cadmium", "plastic"): (
        "{s} {q} in pigment",
        "pigment {s} {q}",
        "{s} {q} in the colour masterbatch",
        "{s} {q} (pigment)",
    ),
    ("lead", "plastic"): ("{s} {q} in pigment", "pigment {s} {q}", "{s} {q} from the masterbatch"),
    ("lead", "pvc"): ("lead stabiliser ({q} {s})", "{s} {q} from the stabiliser", "stabiliser {s} {q}"),
    ("cadmium", "pvc"): ("{s} {q} in pigment", "{s} {q} from the stabiliser"),
    ("cr6", "coating"): ("passivation layer {s} {q}", "{s} {q} in the passivation", "{s} {q} in the conversion layer"),
    ("cr6", "steel"): ("passivation {s} {q}", "{s} {q} in the coating"),
    ("cr6", "leather"): ("{s} {q} (tanning residue)", "{s} {q} in the leather"),
    ("mercury", "light_source"): ("{s} {q} in the burner", "{s} {q} in the lamp"),
    ("cadmium", "paint"): ("{s} {q} in the pigment", "pigment {s} {q}"),
    ("lead", "paint"): ("{s} {q} in the dry film", "{s} {q} (pigment)"),
    ("lead", "glass"): ("{s} {q} in the frit", "{s} {q} in the enamel"),
}


# how a figure was measured, said beside it ("lead 0.2 % per XRF"): never changes what it says
MEASURED_BY = ("XRF", "handheld XRF", "ICP-OES", "ICP-MS", "AAS", "EDX", "lab analysis", "wet chemistry",
               "spectrometer", "the test lab", "IMDS", "supplier CoA")


def _amount(claim: Claim, st: Style, r: random.Random, short: str, kind: str = "") -> str:
    assert claim.figure is not None
    s, q = substance(claim.substance, st, r), figure(claim.figure, st, r)
    special = _AMOUNT_IN.get((claim.substance, kind))
    if special and r.random() < 0.4:
        return pick(r, special).format(s=s, q=q)
    forms = [
        "{s} {q}",
        "{s} {q}",
        "{s}: {q}",
        "{s} = {q}",
        "{q} {s}",
        "{s} content {q}",
        "{s} content of {q}",
        "with {q} {s}",
        "containing {q} {s}",
        "{s} measured at {q}",
        "{s} level {q}",
        "{s} {q} in the {short}",
        "{s} {q} (in {short})",
        "{s}-content {q}",
        "{q} of {s}",
        "{s} concentration {q}",
        "{s} concentration: {q}",
        "{s} reading {q}",
        "{s} value {q}",
        "{s} result {q}",
        "{s} found at {q}",
        "{s} amounts to {q}",
        "{s} is {q}",
        "{s} {q} per {method}",
        "{s} {q} by {method}",
        "{method} {s} {q}",
        "{method}: {s} {q}",
        "{s} ({method}) {q}",
        "{method} {s} reading {q}",
    ]
    if claim.figure.relation != "eq":  # "lead measured at < 0.1 %" reads oddly
        forms = [f for f in forms if not any(w in f for w in ("=", "measured", "reading", "value", "result",
                                                                   "found", "amounts", " is "))]
    return pick(r, forms).format(s=s, q=q, short=short, method=pick(r, MEASURED_BY))


# element -> typical % range in a kind of material: the rest of a chemical analysis, never restricted
COMPOSITION: dict[str, dict[str, tuple[float, float]]] = {
    "brass": {"Cu": (57, 63), "Zn": (35, 40), "Fe": (0.1, 0.3), "Sn": (0.1, 0.3), "Ni": (0.1, 0.3)},
    "bronze": {"Cu": (80, 90), "Sn": (5, 10), "Zn": (1, 5), "Ni": (0.3, 1)},
    "machining_steel": {"C": (0.07, 0.15), "Mn": (0.9, 1.3), "S": (0.26, 0.35), "Si": (0.02, 0.05), "P": (0.04, 0.1)},
    "aluminium_alloy": {"Si": (0.4, 9.5), "Cu": (0.1, 3.5), "Mg": (0.6, 1.2), "Fe": (0.2, 0.8), "Bi": (0.4, 0.7)},
    "steel": {"C": (0.15, 0.45), "Mn": (0.6, 1.5), "Cr": (0.9, 1.2), "Mo": (0.15, 0.3), "Si": (0.2, 0.4)},
    "zinc": {"Al": (3.8, 4.3), "Cu": (0.7, 1.2), "Mg": (0.03, 0.06)},
    "solder": {"Sn": (95, 99.3), "Ag": (0.3, 3.0), "Cu": (0.5, 0.7)},
}


def _analysis(stated: str, kind: str, st: Style, r: random.Random) -> str:
    """The substance's figure among the other elements of a chemical analysis: "Cu 58.4 %, Pb 2.9 %, Fe 0.2 %"."""
    elements = list(COMPOSITION[kind].items())
    items = []
    for element, (low, high) in r.sample(elements, r.randint(2, min(4, len(elements)))):
        value = f"{r.uniform(low, high):.{r.choice((1, 2))}f}".replace(".", "," if st.comma else ".")
        items.append(f"{element} {value}{pick(r, (' %', '%'))}")
    items.insert(r.randrange(len(items) + 1), stated)
    head = pick(r, ("chemical analysis: ", "composition ", "heat analysis: ", "analysis (wt-%): ", "", "chem.: "))
    return head + ", ".join(items)


def claims_only(c: Component, st: Style, r: random.Random) -> str | None:
    """Only what is stated about a component, without its name ("Pb 0.2 %, Cd-free"), for texts that
    name the material in front of the part ("ABS door handle, Pb 0.2 %"); None if a claim's wording
    needs the name itself."""
    phrases = []
    for claim in c.claims:
        if claim.substance == c.said_by_part:
            continue
        phrase, names_material = _claim(claim, c, st, r)
        if names_material:
            return None
        phrases.append(phrase)
    return ", ".join(phrases)


def absent(substances: list[str], st: Style, r: random.Random) -> str:
    """One absence statement for one or several substances."""
    if len(substances) == 1:
        return pick(r, ABSENT[substances[0]])
    names = [substance(x, st, r) for x in substances]
    listed = ", ".join(names[:-1]) + pick(r, (" and ", " or ", ", ", "/")) + names[-1]
    form = pick(r, _ABSENT_LIST)
    if form.startswith("{x}-"):
        return "/".join(names) + "-free"
    return form.format(x=listed)


def _claim(claim: Claim, component: Component, st: Style, r: random.Random) -> tuple[str, bool]:
    """(phrase, includes the material name) for one claim about a component."""
    spec = M.KINDS[component.kind]
    short = component.name.split(" (")[0]
    if claim.kind == "amount":
        if component.kind in COMPOSITION and claim.substance in ("lead", "cadmium") and r.random() < 0.35:
            assert claim.figure is not None
            stated = f"{pick(r, SYMBOLS[claim.substance])} {figure(claim.figure, st, r)}"
            return _analysis(stated, component.kind, st, r), False
        return _amount(claim, st, r, short, component.kind), False
    table = spec.present if claim.kind == "present" else spec.absent
    specific = table.get(claim.substance)  # type: ignore[call-overload]
    if specific and (claim.kind == "present" or r.random() < 0.5):
        phrase = pick(r, specific)
        return phrase.replace("{m}", component.name), "{m}" in phrase or claim.kind == "present"
    if claim.kind == "present":
        return pick(r, PRESENT_GENERIC[claim.substance]), False
    return absent([claim.substance], st, r), False


_VERBS = ("is", "uses", "is made of", "consists of", "is manufactured from", "is produced in", "is")


def component(
    c: Component, st: Style, r: random.Random, *, role_first: bool | None = None, sentence: bool = False
) -> str:
    """The material of a component with everything stated about it, e.g.
    "contacts: CuZn39Pb3, Pb 3.1 %", "PVC sheath (0.4 wt.% Pb)", "lead-free solder"; with
    `sentence`, as a clause: "the signal wire joint uses Sn60Pb40", "the housing is PA66"."""
    phrases: list[str] = []
    head = ""  # the material's name, or a phrase that names it ("lead-stabilised PVC", "tin-lead solder")
    claims = [k for k in c.claims if k.substance != c.said_by_part]  # the part's name already says it
    absents = [k.substance for k in claims if k.kind == "absent"]
    grouped = len(absents) > 1 and r.random() < 0.6
    for claim in claims:
        if grouped and claim.kind == "absent":
            if claim.substance == absents[0]:
                phrases.append(absent(absents, st, r))
            continue
        phrase, names_material = _claim(claim, c, st, r)
        if names_material and not head:
            head = phrase
        else:
            phrases.append(phrase)
    plain = not head
    head = head or c.name
    if phrases:
        joiner = pick(r, (", ", ", ", " (", "; ", " - "))
        rest = ", ".join(phrases) + (")" if joiner == " (" else "")
    else:
        joiner = rest = ""
    if sentence:
        subject = f"the {c.role}" if c.role else pick(r, ("the part", "the material", "it", "the body"))
        verb = pick(r, _VERBS)
        if c.role.endswith("s") and not c.role.endswith("ss") and verb.startswith("is"):
            verb = "are" + verb[2:]
        elif c.role.endswith("s") and not c.role.endswith("ss") and verb == "uses":
            verb = "use"
        return f"{subject} {verb} {head}{joiner}{rest}"
    if not c.role or c.role.lower() in c.name.lower():  # "gasket" of "fibre gasket": the name says it
        return head + joiner + rest
    if role_first is None:
        role_first = not plain or r.random() < 0.5
    if not role_first:  # "PA66-GF30 housing, Pb 0.1 %"
        return f"{head} {c.role}{joiner}{rest}"
    form = pick(r, ("{r}: {b}", "{r} {b}", "{r} - {b}", "{r} made of {b}", "{r} in {b}", "{r}: {b}"))
    if joiner == " (" and form.endswith(")"):
        form = "{r}: {b}"
    return form.format(r=c.role, b=head + joiner + rest)


# --- approval -----------------------------------------------------------------------------------

REGULATIONS: dict[str, tuple[str, ...]] = {
    "brake_friction": ("R90",),
    "exterior_lamp": ("R48", "R112", "R148", "R149", "R19", "R87", "R128", "R7", "R6"),
    "tyre": ("R30", "R54", "R117"),
    "seat_belt": ("R16",),
    "airbag": ("R94", "R95", "R114"),
    "glazing": ("R43",),
    "interior_lamp": ("R10",),
    "mirror": ("R46",),
    "horn": ("R28",),
    "brake_hardware": ("R90", "R13-H"),
    "seat": ("R17", "R44", "R129"),
    "wiper": ("R10",),
    "electronics": ("R10",),
    "wheel": ("R124",),
}
VALID: dict[str, tuple[str, ...]] = {
    "mark": (
        "E-marked",
        "E{n} marked",
        "carries E{n} mark",
        "E{n} approval mark on part",
        "e-mark E{n}",
        "approval mark E{n} {num}",
        "E{n} {reg_no}R-0{k} {num4}",
        "E-mark present",
        "type-approved (E{n})",
        "approved E{n} UN {reg} 0{k} series, approval no. 0{k} {num4}",
        "E{n} UN {reg} 0{k} series",
    ),
    "regulation": (
        "E-marked to UN ECE {reg}",
        "ECE {reg} approved",
        "approved to UN {reg}",
        "homologated to ECE {reg}",
        "UN {reg} type approval",
        "{reg} approved",
        "E{n}, UN {reg}",
        "complies with UN {reg}, E-marked",
        "ECE {reg}",
        "homologated per UN {reg}",
        "approved E{n} UN {reg}",
        "UN {reg} 0{k} series of amendments, E{n}",
        "remains under its E{n} {reg} approval",
    ),
    "certificate": (
        "the approval from {ts} (E{n}, UN {reg}) is valid and attached",
        "approval mark E{n} {reg} present on the part, certificate valid",
        "E{n} {reg} certificate valid until {year2}",
        "type approval certificate E{n} valid",
        "approval no. E{n}*{reg_no}R0{k}*{num4}",
        "approval valid until {year2}",
        "homologation: UN {reg}, E{n}, valid until {year2}",
        "ECE approval granted {mm}/{year}",
        "valid type approval",
        "approval: valid ({reg})",
        "E{n} {reg} approval on file",
        "homologated",
        "cert. no. {n}{reg}-0{k} {num4}",
    ),
    "renewed": (
        "approval renewed {mm}/{year}, E{n} {reg}",
        "previous approval expired, re-approved to {reg} (E{n}) in {year}",
        "homologation extended to {year2}",
        "E-mark re-issued after update, valid",
        "approval extension granted, E{n}",
    ),
}
MISSING: dict[str, tuple[str, ...]] = {
    "pending": (
        "E-mark pend.",
        "appr. pending",
        "homol. pending",
        "the E{n} certificate for UN {reg} is still pending",
        "{ts} has the samples but the approval is still pending",
        "approval pending",
        "E-mark application pending",
        "homologation pending",
        "approval pending at the technical service",
        "ECE {reg} approval pending",
        "type approval pending",
        "E-mark pending",
        "approval application submitted",
        "application submitted to {ts}, not yet granted",
        "E-mark application pending at {ts}",
        "approval in progress",
        "type approval application submitted, not granted yet",
    ),
    "not_marked": (
        "no ECE {reg} cert",
        "no {reg} certificate",
        "no E-mark / no {reg} cert",
        "not E-marked",
        "no E-mark",
        "without E-mark",
        "E-mark missing",
        "no approval mark",
        "lacks E-mark",
        "not E marked",
        "no e-mark",
        "E-mark not applied",
        "unmarked (no E-mark)",
        "no ECE marking",
    ),
    "expired": (
        "the homologation certificate E{n} {reg_no}R-0{k} {num4} has expired",
        "approval certificate ran out on {mm}/{year}",
        "cert: expired",
        "{reg} cert expired",
        "type approval: expired",
        "{reg} certificate: expired",
        "approval under UN {reg} expired",
        "homologation expired",
        "approval expired",
        "ECE {reg} certificate expired {mm}/{year}",
        "approval expired in {year}",
        "type approval expired",
        "certificate expired",
        "E{n} approval expired {mm}/{year}",
        "approval no longer valid (expired {year})",
        "homologation ran out in {year}",
    ),
    "withdrawn": (
        "the homologation certificate E{n} {reg_no}R-0{k} {num4} has been withdrawn by {ts}",
        "{ts} withdrew the {reg} approval",
        "certificate of conformity withdrawn",
        "{reg} approval withdrawn",
        "approval withdrawn",
        "homologation withdrawn by the authority in {year}",
        "E{n} approval withdrawn",
        "type approval withdrawn",
        "approval withdrawn by {ts}",
        "certificate withdrawn",
    ),
    "revoked": (
        "approval revoked",
        "E{n} certificate revoked",
        "approval revoked after recall",
        "homologation revoked",
    ),
    "not_homologated": (
        "not homologated for road use",
        "off-road use only, not homologated",
        "not homologated for road use in the EU",
        "not homologated",
        "non-homologated",
        "not type-approved",
        "without type approval",
        "no type approval",
        "not ECE approved",
        "unapproved",
        "no valid approval",
        "not approved to {reg}",
    ),
    "none_kv": (
        "E-mark: none",
        "E-mark=none",
        "approval: none",
        "homologation: none",
        "ECE approval: no",
        "E-MARK=NO",
        "type approval: missing",
        "approval status: not approved",
        "E-mark: n/a (none)",
    ),
    "suspended": (
        "our UN {reg} approval E{n} was suspended by {ts}",
        "the E{n} approval is suspended until further notice",
        "homologation: suspended (COP failure)",
        "approval suspended after CoP failure",
        "approval suspended",
        "type approval suspended",
        "homologation suspended pending investigation",
    ),
    "lapsed": ("approval lapsed", "ECE approval lapsed", "certificate lapsed", "homologation lapsed", "E-mark lapsed"),
    "awaiting": (
        "approval to UN {reg} awaited",
        "approval awaited",
        "E-mark: applied for",
        "awaiting type approval",
        "awaiting homologation",
        "awaiting E-mark",
        "type approval not yet granted",
        "approval not yet granted",
        "waiting for {ts} approval",
        "homologation still open",
    ),
    "refused": (
        "approval refused",
        "homologation refused",
        "UN {reg} approval refused",
        "approval application rejected",
    ),
}
TECH_SERVICES = (
    "TÜV",
    "TÜV SÜD",
    "TÜV Rheinland",
    "DEKRA",
    "UTAC",
    "IDIADA",
    "VCA",
    "KBA",
    "RDW",
    "the technical service",
    "Applus IDIADA",
    "TNO",
)
NOT_REQUIRED = (
    " (not required)",
    " - not required for this part",
    " (no approval needed)",
    " (n/a)",
    " - not a regulated item",
    " (not needed)",
    "",
)


def _fill(template: str, category: str, r: random.Random) -> str:
    reg = pick(r, REGULATIONS.get(category, ("R10",)))
    return template.format(
        reg=reg,
        reg_no=reg.lstrip("R").split("-")[0],
        n=r.choice((1, 2, 3, 4, 9, 11, 13, 24)),
        k=r.randrange(1, 5),
        num=r.randrange(1000, 99999),
        num4=f"{r.randrange(0, 9999):04d}",
        year=r.randrange(2019, 2027),
        year2=r.randrange(2027, 2032),
        mm=f"{r.randrange(1, 13):02d}",
        ts=pick(r, TECH_SERVICES),
    )


def approval(record: Record, r: random.Random) -> str | None:
    """The approval statement, or None when the description says nothing about approval."""
    if record.approval == "silent":
        return None
    table = VALID if record.approval == "valid" else MISSING
    text = _fill(pick(r, table[record.approval_how]), record.category, r)
    if (
        record.approval == "missing"
        and record.category not in ("brake_friction", "exterior_lamp", "tyre", "seat_belt", "airbag", "glazing")
        and r.random() < 0.4
    ):
        text += pick(r, NOT_REQUIRED)
    return text


# --- false friends and the irrelevant facts around the decisive ones ----------------------------------

FALSE_FRIENDS: dict[str, tuple[str, ...]] = {
    "lead_time": (
        "lead time {w} weeks",
        "lead time: {w} wks",
        "LT {w} weeks",
        "current lead time {w} weeks",
        "lead-time {w} wk",
        "delivery lead time {w} weeks ex works",
    ),
    "rohs": (
        "RoHS compliant",
        "RoHS-compliant",
        "RoHS 3 compliant",
        "complies with RoHS",
        "RoHS: yes",
        "RoHS exemption 6(c) applies",
        "ELV/RoHS declaration on file",
    ),
    "reach": (
        "no SVHC above 0.1 % w/w",
        "REACH SVHC < 0.1 %",
        "REACH compliant",
        "REACH Art. 33: no SVHC > 0.1 %",
        "SVHC list checked (Jan 2026)",
    ),
    "ppm_quality": (
        "quality target {q} ppm",
        "field failure rate {q} ppm",
        "PPM target < {q}",
        "0 ppm defects last quarter",
        "supplier PPM {q}",
    ),
    "drawing_rev": (
        "drawing rev. {rev}",
        "dwg {dwg} rev {rev}",
        "as per drawing {dwg}-{rev}",
        "drawing {dwg} index {rev}",
    ),
    "chrome_look": (
        "chrome-look finish",
        "chrome-effect bezel",
        "satin chrome look",
        "bright chrome finish",
        "chrome-plated trim ring (decorative)",
    ),
    "flying_lead": (
        "flying lead {mm} mm",
        "with {mm} mm flying lead",
        "flying leads, {mm} mm",
        "pigtail / flying lead {mm} mm",
    ),
    "lead_wire": (
        "lead wire {csa} mm²",
        "lead wires {csa} mm², {mm} mm long",
        "test lead included",
        "cable lead length {mm} mm",
    ),
    "lead_in": ("lead-in chamfer {deg}°", "thread lead-in {deg}°", "lead-in chamfer on bore"),
    "cd_drag": (
        "Cd {cd}",
        "drag coefficient Cd {cd}",
        "improves Cd by 0.0{k}",
        "Cd value {cd} in wind tunnel",
        "cd = {cd}",
        "Cd dropped from {cd} to 0.2{k}",
        "drag coefficient Cd reduced from {cd} to 0.2{k}",
        "aero: cd {cd}",
    ),
    "cd_drive": (
        "CD drive",
        "with CD player",
        "CD/DVD drive",
        "single-CD drive",
        "CD changer ready",
        "6-disc CD changer",
        "CD/MP3 head unit",
        "CD player slot",
        "CD-ROM drive",
    ),
    "cd_media": (  # a compact disc that carries documents or software, with any part
        "documentation on CD",
        "drawings and 3D data on CD-ROM",
        "test reports on CD",
        "installation instructions on CD",
        "software update supplied on CD-ROM",
        "certificates on CD",
    ),
    "unleaded_fuel": ("for unleaded petrol", "unleaded fuel compatible", "E10 / unleaded rated"),
    "lead_screw": ("lead screw drive", "lead screw actuator", "motor with lead screw"),
    "ptfe_tape": ("PTFE thread tape", "PTFE-lined bore", "PTFE washer"),
    "history": (
        "the previous yellow chromate finish was discontinued",
        "former tin-lead solder process phased out in {year}",
        "replaces the earlier asbestos gasket design",
        "lead stabilisers phased out in {year}",
        "no longer uses cadmium plating",
        "the former mercury switch was replaced by a Hall sensor",
        "earlier revisions used leaded paint; this one does not",
        "Cd-plated variant discontinued in {year}",
    ),
    "percent_other": (
        "recycled content {p} %",
        "glass fibre {p} %",
        "humidity {p} % RH tested",
        "efficiency {p} %",
        "duty cycle {p} %",
        "shrinkage 0.{k} %",
        "elongation {p} %",
    ),
}
CONTEXT: tuple[str, ...] = (
    "mass {g} g",
    "net weight {kg} kg",
    "torque {nm} Nm",
    "tightening torque {nm} Nm ± 10 %",
    "unit price EUR {price}",
    "price {price} EUR/pc",
    "MOQ {moq} pcs",
    "batch {lot}",
    "lot {lot}",
    "lot no. {lot}",
    "charge {lot}",
    "dated {date}",
    "delivery {date}",
    "-40 to +{temp} °C",
    "salt spray {h} h",
    "colour {colour}",
    "made in {country}",
    "tolerance ±0.{k} mm",
    "IATF 16949 certified",
    "PPAP level {k}",
    "IMDS ID {imds}",
    "{v} V",
    "{w} W",
    "hardness {hrc} HRC",
    "thickness {th} mm",
    "length {mm} mm",
    "UV stabilised",
    "OEM replacement",
    "aftermarket",
    "packed {moq} per box",
    "PO {po}",
    "order {po}",
    "customer part no. {pn}",
    "first article approved",
)
SUPPLIERS = (
    "Halvorsen Friction",
    "Kessler Kabel GmbH",
    "Nordlicht Automotive",
    "Tanaka Seiko",
    "Brightway Lighting",
    "Ostrava Metal s.r.o.",
    "Iberflex S.A.",
    "Marquardt & Sohn",
    "Pacific Fastener Co.",
    "Lumitec",
    "Vogel Dichtungstechnik",
    "Shenzhen Huayu Electronics",
    "Delmar Rubber",
    "Castellan Alloys",
    "TorqueLine Inc.",
    "Auric Coatings",
    "Sarvik Glass",
    "Westfield Polymers",
    "Kappa Safety Systems",
    "Rheintal Guss",
    "Anand Auto Components",
    "Polar Seals AB",
    "Heliotrope Textiles",
    "Zhejiang Tongda",
    "Leadwell Industrial",
    "Mercurio Componenti",
    "Cadence Precision",
    "Bianchi Fonderia",
    "Sollertia",
    "Gdańsk Glass Works",
    "Hoshino Denki",
    "Plumbline Fittings Ltd",
    "Arcadia Trim",
    "Brno Brass a.s.",
    "Velden Electronics",
)
PEOPLE = (
    "Jana",
    "Tom",
    "Priya",
    "Marco",
    "Sven",
    "Ana",
    "Kenji",
    "Lena",
    "Oliver",
    "Fatima",
    "Mr. Novak",
    "Ms. Ruiz",
    "Dr. Weber",
    "Hans",
    "Chloé",
    "Aiko",
    "Rahul",
    "Ingrid",
    "Mateo",
    "Zofia",
)


def _values(r: random.Random) -> dict[str, object]:
    return {
        "year": r.randrange(2012, 2025),
        "w": r.choice((2, 3, 4, 6, 8, 10, 12, 14, 16)),
        "mm": r.choice((150, 200, 250, 300, 450, 600, 1200)),
        "csa": r.choice(("0.35", "0.5", "0.75", "1.5")),
        "deg": r.choice((15, 30, 45)),
        "cd": r.choice(("0.28", "0.29", "0.31", "0.24", "0.33")),
        "k": r.randrange(1, 9),
        "q": r.choice((10, 25, 50, 100, 150, 200)),
        "p": r.choice((10, 15, 20, 25, 30, 85, 93, 95)),
        "rev": r.choice("ABCDEFGH"),
        "dwg": r.randrange(10_000, 99_999),
        "g": r.choice((4, 12, 45, 85, 120, 340, 1250)),
        "kg": r.choice(("0.4", "1.2", "2.8", "3.5", "0.08")),
        "nm": r.choice((8, 10, 25, 45, 110, 140)),
        "price": r.choice(("0.42", "1.85", "12.40", "3.07", "145.00", "27.90")),
        "moq": r.choice((50, 100, 250, 500, 1000)),
        "lot": pick(
            r,
            (
                f"L{r.randrange(10_000, 99_999)}",
                f"{r.randrange(2024, 2027)}-{r.randrange(1, 53):02d}-{r.randrange(1, 999):03d}",
                f"B{r.randrange(100, 9999)}/{r.randrange(1, 9)}",
                str(r.randrange(100_000, 999_999)),
            ),
        ),
        "date": pick(
            r,
            (
                f"{r.randrange(1, 29):02d}.{r.randrange(1, 13):02d}.{r.randrange(2024, 2027)}",
                f"{r.randrange(2024, 2027)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}",
                f"{r.randrange(1, 13):02d}/{r.randrange(2024, 2027)}",
                f"CW {r.randrange(1, 53)}",
            ),
        ),
        "temp": r.choice((85, 105, 125, 150)),
        "h": r.choice((240, 480, 720, 1000)),
        "colour": r.choice(("black", "grey", "anthracite", "RAL 9005", "silver", "clear")),
        "country": r.choice(("DE", "CZ", "CN", "MX", "IN", "PL", "TR", "JP", "US", "HU")),
        "imds": r.randrange(10_000_000, 999_999_999),
        "v": r.choice((12, 24, 48)),
        "hrc": r.choice((28, 35, 58, 62)),
        "th": r.choice(("0.8", "1.5", "2", "3.2", "16", "17.5")),
        "po": f"45{r.randrange(10_000_000, 99_999_999)}",
        "pn": part_number(r),
    }


def part_number(r: random.Random) -> str:
    k = r.randrange(6)
    if k == 0:
        return f"{r.randrange(1000, 9999)}-{r.randrange(100, 999)}-{r.randrange(10, 99):02d}"
    if k == 1:
        return f"A{r.randrange(1_000_000, 9_999_999)}"
    if k == 2:
        return str(r.randrange(10**9, 10**10))
    if k == 3:
        return f"{r.choice('KLMNPRSTW')}{r.choice('ABCDEFGH')}-{r.randrange(10000, 99999)}"
    if k == 4:
        head = f"{r.randrange(1, 9)}{r.choice('KGHJ')}{r.randrange(0, 9)}"
        return f"{head} {r.randrange(100, 999)} {r.randrange(100, 999)} {r.choice('ABCDE')}"
    return f"PN{r.randrange(100_000, 999_999)}-{r.choice('ABC')}{r.randrange(1, 9)}"


def false_friend(name: str, r: random.Random) -> str:
    return pick(r, FALSE_FRIENDS[name]).format(**_values(r))


def context(r: random.Random, n: int) -> list[str]:
    """`n` irrelevant facts: masses, torques, prices, lots, dates, part numbers."""
    values = _values(r)
    return [template.format(**values) for template in r.sample(CONTEXT, n)]


_DECLARED = (
    "contains no {x}",
    "free of {x}",
    "{x}: none",
    "no {x} intentionally added",
    "RoHS/ELV: no {x}",
    "the product contains no {x}",
    "{x} not used",
)


def declared_absent(record: Record, st: Style, r: random.Random) -> str | None:
    """ "contains no lead, cadmium or mercury": an absence stated for the whole part."""
    if not record.declared_absent:
        return None
    names = [substance(x, st, r) for x in record.declared_absent]
    listed = ", ".join(names[:-1]) + pick(r, (" or ", " and ", ", ")) + names[-1]
    return pick(r, _DECLARED).format(x=listed)


COLOURS = ("yellow", "red", "orange", "black", "grey", "white", "blue", "green", "chrome-look", "silver")


def part_name(record: Record, r: random.Random, *, caps: bool = False) -> str:
    if caps:
        return record.part.caps
    if r.random() < 0.08:  # "yellow grip": a colour says nothing about a substance
        return f"{pick(r, COLOURS)} {record.part.noun}"
    return record.part.noun
