"""Document formats: how the phrases of one record are laid out as the text people exchange.

Each family is a function (record, rng, style) -> text that states every fact of the record:
all components with their claims, the approval status if any, and its false friends, among
irrelevant facts. Families are the unit held out of training to measure generalisation.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from specscan.data import noise
from specscan.data import phrasing as P
from specscan.data.facts import Component, Record
from specscan.data.phrasing import Style, pick
from specscan.data.rules import SAFETY_CRITICAL


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _comps(record: Record, st: Style, r: random.Random, **kw: bool) -> list[str]:
    return [P.component(c, st, r, **kw) for c in _stated(record)]


def _stated(record: Record) -> list[Component]:
    """The components a text names: not one whose only claim the part's name already makes."""
    return [c for c in record.components if not (c.said_by_part and len(c.claims) == 1)]


def _extras(record: Record, r: random.Random, n_context: int) -> list[str]:
    """False friends, a whole-part absence statement and irrelevant facts, shuffled."""
    declared = P.declared_absent(record, P.Style(), r)
    items = (
        [P.false_friend(d, r) for d in record.distractors] + P.context(r, n_context) + ([declared] if declared else [])
    )
    r.shuffle(items)
    return items


def _scatter(items: list[str], extras: list[str], r: random.Random, first: int = 0) -> list[str]:
    """`items` with each extra put anywhere from position `first` on: irrelevant facts come first, last or between."""
    items = list(items)
    for extra in extras:
        items.insert(r.randint(first, len(items)), extra)
    return items


def _short(record: Record, r: random.Random, st: Style) -> str:
    """ "Front brake pad set, NAO friction compound, E-marked to UN ECE R90, supplier Halvorsen"."""
    head = _cap(P.part_name(record, r))
    stated = _stated(record)
    said = P.claims_only(stated[0], st, r) if stated and not stated[0].role and r.random() < 0.35 else None
    if said is not None:  # the material in front of the part: "ABS door handle, Pb 0.2 %"
        head = _cap(f"{stated[0].name} {P.part_name(record, r)}")
        items = ([said] if said else []) + [P.component(c, st, r) for c in stated[1:]]
    else:
        items = _comps(record, st, r)
    approval = P.approval(record, r)
    if approval:
        items.insert(r.randrange(len(items) + 1), approval)
    items = _scatter(items, _extras(record, r, r.choice((0, 0, 1, 1, 2))), r)
    if r.random() < 0.2:
        items.append(f"supplier {pick(r, P.SUPPLIERS)}")
    sep = pick(r, (", ", ", ", "; ", " - ", ", "))
    if items and r.random() < 0.15:
        return f"{head}: " + sep.join(items)
    return sep.join([head, *items])


def _caps(record: Record, r: random.Random, st: Style) -> str:
    """ERP export in capitals with abbreviations: "BRK LINING RR DRUM, CHRYSOTILE REINF., OEM REPL"."""
    items = [record.part.caps, *_comps(record, st, r)]
    approval = P.approval(record, r)
    if approval:
        items.append(approval)
    items = _scatter(items, _extras(record, r, r.choice((0, 1, 1, 2))), r, first=1)
    return pick(r, (", ", " / ", "; ", " ", " | ")).join(items).upper()


def _bom(record: Record, r: random.Random, st: Style) -> str:
    """A BOM row: "20 | A4471203 | Connector housing | PA66-GF30, Pb < 0.01 % | 2 PC"."""
    cells = [
        str(r.choice((10, 20, 30, 40, 110, 1, 2))),
        P.part_number(r),
        _cap(P.part_name(record, r, caps=r.random() < 0.3)),
    ]
    cells += _comps(record, st, r, role_first=True)
    approval = P.approval(record, r)
    if approval:
        cells.append(approval)
    cells = _scatter(cells, _extras(record, r, r.choice((0, 1))), r, first=3)
    cells.append(f"{r.choice((1, 2, 4, 10, 25))} {pick(r, ('PC', 'pcs', 'EA', 'ST'))}")
    return pick(r, (" | ", ";", "\t", " ; ", " |")).join(cells)


_KEYS = {
    "lead": ("PB", "Pb", "LEAD"),
    "cadmium": ("CD", "Cd", "CADMIUM"),
    "mercury": ("HG", "Hg"),
    "cr6": ("CR6", "CRVI", "Cr(VI)", "CR_VI"),
    "asbestos": ("ASBESTOS",),
    "pfas": ("PFAS", "PFOA"),
}
_UNIT_KEYS = {
    "%": ("PCT", "%", "WT_PCT"),
    "ppm": ("PPM",),
    "mg/kg": ("MGKG", "MG_KG", "mg/kg"),
    "µg/g": ("UGG",),
    "g/kg": ("GKG",),
    "mg/g": ("MGG",),
    "ppb": ("PPB",),
    "µg/kg": ("UGKG",),
}


def _kv(record: Record, r: random.Random, st: Style) -> str:
    """A key-value export: "PART=DOOR HINGE PIN; MAT=STEEL; COATING=YELLOW CHROMATE; EMARK=NONE"."""
    pairs = [(pick(r, ("PART", "DESC", "ITEM", "Description")), P.part_name(record, r, caps=r.random() < 0.5))]
    if r.random() < 0.5:
        pairs.insert(0, (pick(r, ("PN", "PART_NO", "MATNR")), P.part_number(r)))
    for i, c in enumerate(_stated(record)):
        key = (c.role.upper().replace(" ", "_") if c.role else "MAT") if r.random() < 0.7 else f"MAT{i + 1}"
        claims = list(c.claims)
        columns = [
            k
            for k in claims
            if (k.kind == "amount" and k.figure is not None and k.figure.relation in ("eq", "approx", "max", "lt"))
            or (k.kind == "absent" and k.substance != "asbestos")
        ]
        if columns and r.random() < 0.6 and len(record.components) == 1:
            # figures in their own columns: "PB_PPM=850", "CD_PCT=<0.01", "HG=ND"
            pairs.append((key, c.name))
            for claim in columns:
                claims.remove(claim)
                fig = claim.figure
                if fig is None:
                    pairs.append(
                        (pick(r, _KEYS[claim.substance]), pick(r, ("ND", "n.d.", "none", "0", "not detected")))
                    )
                    continue
                unit_key = pick(r, _UNIT_KEYS[fig.unit])
                prefix = {"max": pick(r, ("<=", "max ")), "lt": "<", "approx": "~"}.get(fig.relation, "")
                value = P.number(fig.value, st, r, unit=fig.unit).replace(" ", "").replace("\u202f", "")
                pairs.append((f"{pick(r, _KEYS[claim.substance])}_{unit_key}", f"{prefix}{value}"))
            if claims:
                pairs.append(("NOTE", P.component(Component("", c.kind, c.name, claims), st, r)))
        else:
            pairs.append((key, P.component(Component("", c.kind, c.name, claims), st, r)))
    approval = P.approval(record, r)
    if approval:
        pairs.append((pick(r, ("APPROVAL", "EMARK", "HOMOLOGATION", "E-mark", "TYPE_APPROVAL")), approval))
    extras = _extras(record, r, r.choice((0, 1, 2)))
    if extras:
        pairs.append((pick(r, ("NOTE", "REMARK", "INFO")), ", ".join(extras)))
    fmt, sep = pick(
        r, (("{k}={v}", "; "), ("{k}: {v}", " | "), ("{k}={v}", ";"), ("[{k}] {v}", " "), ("{k}: {v}", "\n"))
    )  # type: ignore[arg-type]
    text = sep.join(fmt.format(k=k, v=v) for k, v in pairs)
    return text.upper() if r.random() < 0.35 else text


def _sentences(record: Record, r: random.Random, st: Style) -> list[str]:
    """The decisive facts as sentences, one per component, plus the approval."""
    out = []
    for c in _stated(record):
        if r.random() < 0.4:  # a clause: "the signal wire joint uses Sn60Pb40"
            forms: tuple[str, ...] = ("{x}.", "{x}.", "Note that {x}.", "Per the declaration, {x}.", "We confirm {x}.")
            phrase = P.component(c, st, r, sentence=True)
        else:
            forms = (
                "{x}.",
                "{x}.",
                "Material: {x}.",
                "The {x}.",
                "Note: {x}.",
                "{x} (see attached).",
                "Confirmed: {x}.",
                "Per the declaration, {x}.",
            )
            phrase = P.component(c, st, r)
        out.append(_cap(pick(r, forms).format(x=phrase).replace("The The", "The").replace("The the", "The")))
    approval = P.approval(record, r)
    if approval:
        missing = record.approval == "missing" and record.category in SAFETY_CRITICAL
        forms = (
            "{a}.",
            "Approval status: {a}.",
            "Regarding homologation: {a}.",
            "Type approval: {a}.",
            "Please note: {a}.",
            "Homologation - {a}.",
        ) + (
            (
                "Unfortunately, {a}.",
                "The only open item is the approval: {a}.",
                "{a}, so the part cannot be released yet.",
                "We are sorry to inform you that {a}.",
            )
            if missing
            else ("The approval is confirmed: {a}.", "{a}, certificate attached.")
            if record.approval == "valid"
            else ()
        )
        out.append(_cap(pick(r, forms).format(a=approval)))
    return out


_FILLER = (
    "Drawing and 3D data are unchanged.",
    "Dimensional report attached.",
    "The {p} passed the vibration test.",
    "Please confirm the delivery schedule.",
    "Samples ship next week.",
    "We will update the IMDS entry.",
    "Packaging per VDA standard.",
    "Cpk for the critical dimensions is above 1.67.",
    "{s} confirmed capacity.",
    "Invoice follows separately.",
    "No change to form, fit or function.",
    "Run-at-rate done on line 2.",
    "The tooling is the same as for the previous revision.",
    "Let me know if you need the full test report.",
    "Price is unchanged for the next two quarters.",
    "Our logistics team will send the ASN tomorrow.",
    "The parts were produced in our plant in {c}.",
    "Sorry for the late reply, we had an audit this week.",
    "See the attached spreadsheet for the complete BOM.",
    "The change is tracked under ECR {n}.",
    "Shipment via sea freight, ETA week {w}.",
    "First samples were approved by your engineering team.",
    "Salt spray test passed after 720 h.",
    "Surface finish Ra 0.8.",
    "Please forward this to purchasing.",
    "We also reduced the mass by 12 g.",
    "Customer drawing {n} rev {v} applies.",
    "Warranty terms as per frame contract.",
)


def _filler(record: Record, r: random.Random) -> list[str]:
    """Sentences that say nothing about compliance: a supplier message's usual padding."""
    fillers = [_cap(x) + "." for x in _extras(record, r, r.choice((1, 2, 3, 4)))]
    values = {
        "p": P.part_name(record, r),
        "s": pick(r, P.SUPPLIERS),
        "c": pick(r, ("Brno", "Pune", "Querétaro", "Suzhou", "Győr")),
        "n": r.randrange(1000, 99_999),
        "w": r.randrange(1, 53),
        "v": r.choice("BCDEF"),
    }
    fillers += [x.format(**values) for x in r.sample(_FILLER, r.choice((0, 1, 2, 3, 5)))]
    return fillers


def _email(record: Record, r: random.Random, st: Style) -> str:
    """A supplier e-mail: greeting, context, the decisive facts among irrelevant ones, sign-off."""
    hello = pick(r, ("Hi {n},", "Hello {n},", "Dear {n},", "{n} -", "Hi all,", "Good morning {n},")).format(
        n=pick(r, P.PEOPLE)
    )
    subject = pick(
        r, ("Subject: {p} - material data", "RE: {p} PPAP", "Fwd: {p} declaration", "Subject: query on {p}", "")
    ).format(p=P.part_name(record, r))
    intro = pick(
        r,
        (
            "quick update on the {p} from {s}.",
            "regarding the {p} (PO {po}):",
            "please find the data for the {p} below.",
            "as discussed, here is what {s} sent for the {p}.",
            "following up on the {p}.",
            "re the {p}:",
        ),
    ).format(p=P.part_name(record, r), s=pick(r, P.SUPPLIERS), po=f"45{r.randrange(10**7, 10**8)}")
    body = _sentences(record, r, st) + _filler(record, r)
    r.shuffle(body)
    sign = pick(
        r, ("Thanks, {n}", "Regards, {n}", "BR {n}", "Best regards, {n}", "Cheers", "Kind regards\n{n}", "")
    ).format(n=pick(r, P.PEOPLE))
    return " ".join(x for x in (subject, hello, intro, *body, sign) if x)


_METHODS = {
    "lead": ("XRF", "ICP-OES", "ICP-MS", "AAS"),
    "cadmium": ("XRF", "ICP-OES", "ICP-MS"),
    "mercury": ("CV-AAS", "ICP-MS", "XRF"),
    "cr6": ("spot test", "UV-Vis (DPC)", "IEC 62321-7-1", "boiling water extraction"),
    "asbestos": ("PLM", "XRD", "SEM-EDX"),
    "pfas": ("LC-MS/MS", "TOP assay", "CIC"),
}


def _lab(record: Record, r: random.Random, st: Style) -> str:
    """A lab or XRF report note: sample, method, results, unrelated remarks."""
    head = pick(
        r,
        (
            "Test report {n}",
            "Lab report {n}",
            "XRF screening {n}",
            "Analysis {n}",
            "Incoming inspection {n}",
            "Material test {n}",
            "Report TR-{y}-{n}",
        ),
    ).format(n=r.randrange(100, 9999), y=r.randrange(2024, 2027))
    lines = [f"{head}: {P.part_name(record, r)}" + (f" ({pick(r, P.SUPPLIERS)})" if r.random() < 0.4 else "")]
    for c in _stated(record):
        sample = f"{c.role}, {c.name}" if c.role else c.name
        if not c.claims or r.random() < 0.3:
            lines.append(f"{pick(r, ('Sample', 'Tested', 'Material', 'Item'))}: {P.component(c, st, r)}")
            continue
        results = []
        for claim in c.claims:
            method = pick(r, _METHODS[claim.substance])
            s = P.substance(claim.substance, st, r)
            if claim.kind == "amount" and claim.figure is not None:
                results.append(
                    pick(r, ("{s} {q}", "{s} = {q}", "{s}: {q} ({m})", "{m}: {s} {q}")).format(
                        s=s, q=P.figure(claim.figure, st, r), m=method
                    )
                )
            elif claim.kind == "absent":
                results.append(
                    pick(r, ("{s} n.d.", "{s} not detected", "{s} < LOD ({m})", "{m}: {s} not detected", "{a}")).format(
                        s=s, m=method, a=P.absent([claim.substance], st, r)
                    )
                )
            else:
                results.append(P.component(Component("", c.kind, c.name, [claim]), st, r) + f", confirmed by {method}")
        lines.append(
            f"{pick(r, ('Sample', 'Sample', 'Specimen', 'Pos.'))} {r.randrange(1, 9)} ({sample}): " + "; ".join(results)
        )
    approval = P.approval(record, r)
    if approval:
        lines.append(f"{pick(r, ('Approval', 'Remark', 'Note'))}: {approval}")
    lines += _extras(record, r, r.choice((0, 1, 2, 3)))
    return pick(r, (". ", "; ", "\n", ". ")).join(lines)


def _imds(record: Record, r: random.Random, st: Style) -> str:
    """An IMDS / material-declaration node list."""
    head = f"IMDS {r.randrange(10**8, 10**9)}/{r.randrange(1, 9)}: {P.part_name(record, r)}"
    nodes = []
    for c in _stated(record):
        node = f"{c.role or 'material'}: {P.component(Component('', c.kind, c.name, c.claims), st, r)}"
        if r.random() < 0.4:
            node += f", {r.choice((0.4, 4, 12, 45, 120, 340))} g"
        nodes.append(node)
    approval = P.approval(record, r)
    if approval:
        nodes.append(f"remark: {approval}")
    nodes += _extras(record, r, r.choice((0, 1)))
    return pick(r, (" > ", " / ", "; ", " | ", "\n")).join([head, *nodes])


def _declaration(record: Record, r: random.Random, st: Style) -> str:
    """A supplier's declaration of conformity in prose."""
    supplier = pick(r, P.SUPPLIERS)
    opening = pick(
        r,
        (
            "We, {s}, hereby declare for the {p} (part no. {pn}):",
            "Material declaration - {p}, {s}.",
            "Supplier declaration of conformity for {p} ({pn}).",
            "{s} confirms the following for the {p}:",
            "Declaration: {p}, drawing {pn}.",
        ),
    ).format(s=supplier, p=P.part_name(record, r), pn=P.part_number(r))
    body = _sentences(record, r, st)
    tail = [_cap(x) + "." for x in _extras(record, r, r.choice((0, 1, 2)))]
    closing = pick(
        r,
        (
            "Signed, Quality Manager.",
            "This declaration is valid for deliveries from {d}.",
            "Full IMDS entry submitted.",
            "",
            "Issued by the compliance department.",
        ),
    ).format(d=f"{r.randrange(1, 13):02d}/{r.randrange(2024, 2027)}")
    return " ".join(x for x in (opening, *body, *tail, closing) if x)


def _ppap(record: Record, r: random.Random, st: Style) -> str:
    """PPAP review notes: elements checked, then findings."""
    elements = r.sample(
        (
            "PSW signed",
            "dimensional results OK",
            "Cpk 1.67 on CC features",
            "control plan rev {rev}",
            "PFMEA reviewed",
            "MSA done",
            "run-at-rate 300 pcs",
            "material certs received",
            "appearance approval OK",
            "packaging approved",
        ),
        r.randrange(2, 5),
    )
    rev = r.choice("ABCDE")
    findings = [P.component(c, st, r) for c in _stated(record)]
    approval = P.approval(record, r)
    if approval:
        findings.append(approval)
    head = pick(
        r, ("PPAP review {p}", "PPAP level 3 - {p}", "PPAP submission review: {p}", "Part approval review, {p}")
    ).format(p=P.part_name(record, r))
    extras = _extras(record, r, r.choice((0, 1, 2)))
    return (
        f"{head}: {', '.join(e.format(rev=rev) for e in elements)}. "
        f"{pick(r, ('Material', 'Findings', 'Material review', 'Observations'))}: {'; '.join(findings)}."
        + (f" {_cap(', '.join(extras))}." if extras else "")
    )


def _work_order(record: Record, r: random.Random, st: Style) -> str:
    """A work order or workshop note."""
    head = pick(r, ("WO-{n}", "Work order {n}", "Job {n}", "SR {n}", "Ticket {n}")).format(
        n=r.randrange(10_000, 99_999)
    )
    action = pick(
        r, ("replace {p}", "fit new {p}", "install {p}", "swap {p} on line {k}", "rework {p}", "inspect {p}")
    ).format(p=P.part_name(record, r), k=r.randrange(1, 6))
    items = _comps(record, st, r)
    approval = P.approval(record, r)
    if approval:
        items.append(approval)
    items = _scatter(items, _extras(record, r, r.choice((1, 2, 3))), r)
    return f"{head}: {action}. " + pick(r, ("Parts used: ", "Note: ", "", "Details: ")) + ", ".join(items)


def _note(record: Record, r: random.Random, st: Style) -> str:
    """A technician's terse note, lower case, abbreviations."""
    items = [P.part_name(record, r), *_comps(record, st, r)]
    approval = P.approval(record, r)
    if approval:
        items.append(approval)
    items = _scatter(items, _extras(record, r, r.choice((0, 1))), r, first=1)
    text = pick(r, (" - ", ", ", " / ", "; ")).join(items)
    text = pick(r, ("checked {t}", "{t}", "fyi {t}", "{t} - pls check", "incoming: {t}", "{t}, ok to use?")).format(
        t=text
    )
    return text.lower() if r.random() < 0.6 else text


def _inspection(record: Record, r: random.Random, st: Style) -> str:
    """An incoming-inspection or QA ticket."""
    prefix = pick(r, ("QA note", "NCR", "8D", "Incoming inspection", "Audit finding", "QN", "Deviation"))
    text = f"{prefix} {r.randrange(100, 99_999)}: {P.part_name(record, r)}"
    if r.random() < 0.5:
        text += f" from {pick(r, P.SUPPLIERS)}"
    body = _comps(record, st, r)
    approval = P.approval(record, r)
    if approval:
        body.append(approval)
    body = _scatter(body, _extras(record, r, r.choice((0, 1, 2))), r)
    text += f". {pick(r, ('Observation', 'Checked', 'Result', 'Noted', 'Details', 'Finding'))}: {', '.join(body)}"
    if r.random() < 0.5:
        text += f". Status: {pick(r, ('open', 'closed', 'info only', 'for review', 'logged', 'escalated'))}"
    return text


def _german(record: Record, r: random.Random, st: Style) -> str:
    """English with a German supplier's words and decimal commas."""
    st.comma = True
    items = [_cap(P.part_name(record, r)), *_comps(record, st, r)]
    approval = P.approval(record, r)
    if approval:
        items.append(approval)
    items = _scatter(items, _extras(record, r, r.choice((0, 1))), r, first=1)
    return noise.germanize(", ".join(items), r, 0.4)


def _marketing(record: Record, r: random.Random, st: Style) -> str:
    """A catalogue or web-shop blurb."""
    adjective = pick(
        r, ("Premium", "High-quality", "OE-quality", "Heavy-duty", "Genuine", "Durable", "Professional-grade")
    )
    claim = pick(r, ("built to OE specification", "for a perfect fit", "engineered for long life", "a direct fit"))
    sentences = [f"{adjective} {P.part_name(record, r)} {claim}."]
    comps = _comps(record, st, r)
    if comps:
        sentences.append(_cap(pick(r, ("features: ", "made with ", "", "with "))) + ", ".join(comps) + ".")
    approval = P.approval(record, r)
    if approval:
        sentences.append(_cap(approval) + pick(r, (".", "!")))
    sentences += [_cap(x) + "." for x in _extras(record, r, r.choice((0, 1)))]
    return " ".join(sentences)


Family = Callable[[Record, random.Random, Style], str]
# family -> (renderer, weight, typo rate)
FAMILIES: dict[str, tuple[Family, float, float]] = {
    "short": (_short, 14, 0.04),
    "catalogue_caps": (_caps, 6, 0.02),
    "bom_row": (_bom, 7, 0.02),
    "key_value": (_kv, 7, 0.01),
    "email": (_email, 9, 0.08),
    "lab_report": (_lab, 8, 0.03),
    "imds": (_imds, 5, 0.01),
    "declaration": (_declaration, 7, 0.03),
    "ppap_review": (_ppap, 5, 0.04),
    "work_order": (_work_order, 6, 0.08),
    "technician_note": (_note, 7, 0.15),
    "inspection": (_inspection, 6, 0.05),
    "german_english": (_german, 3, 0.04),
    "marketing": (_marketing, 4, 0.02),
}
