#!/usr/bin/env python3
"""Rules-only (regular-expression) compliance classifier for component descriptions.

Written from the regulation document /work/shared/spec/compliance-rules.md ALONE
(rules R1 and R2 and the December 2026 Clarifications). No project code, test
set or training data was read or used; every pattern below comes from the
document or from anticipated ways of writing the same facts.

    classify(text, revision="R1") -> "compliant" | "non_compliant"

A description is non_compliant if any rule fires:
  1. restricted substances (Pb, Hg, Cr(VI) 0.1 %, Cd 0.01 %) with the lead
     exemptions per material (copper alloys 4 % [R2: 2 %], steel for machining
     0.35 %, aluminium alloys 0.4 %); a substance named as present without a
     figure is non-compliant (an exempt material named as leaded is covered);
  2. asbestos in any amount;
  3. missing / pending / expired / withdrawn type approval on the closed list
     of safety-critical parts;
  4. (R2 only) PFAS in any amount.

Command line:
    python rules_classifier.py data.csv [--revision R2]   # columns text,label
    python rules_classifier.py --selftest
"""
import csv
import re
import sys
import unicodedata

# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------
_CHARS = {'\u2264': '<=', '\u2265': '>=', '\u2266': '<=', '\u2267': '>=', '\u2a7d': '<=',
          '\u2a7e': '>=', '\u2013': '-', '\u2014': '-', '\u2212': '-', '\u2010': '-',
          '\u2011': '-', '\u00a0': ' ', '\u202f': ' ', '\u2009': ' ', '\u2007': ' ',
          '\u03bc': 'u', '\u00b5': 'u', '\u2019': "'", '\u2018': "'", '\u201c': '"',
          '\u201d': '"', '_': ' ', '\t': ' ', '\u00b7': ' ', '\n': ' ; ', '\r': ' ',
          '|': ' ; ', '\u2030': ' permille'}

# anticipated misspellings -> canonical spelling (edit distance, first letter kept)
_FUZZY = ['cadmium', 'mercury', 'hexavalent', 'trivalent', 'chromate', 'asbestos',
          'chrysotile', 'approval', 'homologation', 'homologated', 'headlamp', 'headlight',
          'windscreen', 'windshield', 'aluminium', 'pretensioner', 'passivation',
          'machining', 'detected', 'stabiliser', 'airbag', 'seatbelt', 'gunmetal',
          'suspended', 'exemption', 'conversion', 'free-cutting']
_PROTECT = {'chromite', 'chromed', 'chromic', 'chromatic', 'detector', 'mercure', 'approve',
            'approved', 'approvals', 'suspender', 'conversions', 'detects', 'aluminum'}
_EXPLICIT_TYPOS = [
    (r'\b(?:exipred|expird|epxired|expried|exprired|expierd)\b', 'expired'),
    (r'\b(?:withdrawed|withdrawen|widthdrawn|withdrwn|withdrawm)\b', 'withdrawn'),
    (r'\b(?:pendng|pening|pendig|peding|pendin)\b', 'pending'),
    (r'\b(?:revokd|revoced|rewoked)\b', 'revoked'),
    (r'\bbreak(?=\s*-?\s*(?:pads?|linings?|shoes?|lights?|lamps?)\b)', 'brake'),
    (r'\b(?:aluminum|aluminium|alumin|alum)\b', 'aluminium'),
    (r'\bbronce\b', 'bronze'), (r'\bmessing\b', 'brass'), (r'\brotguss\b', 'gunmetal'),
    (r'\bkadmium\b', 'cadmium'), (r'\bblei\b', 'lead'),
    # abbreviations
    (r'\bhdl(?:a?mp|p|mp)\b|\bhead\s*lmp\b', 'headlamp'), (r'\blmps?\b', 'lamp'), (r'\bs/?belts?\b', 'seat belt'),
    (r'\bappr(?:v|ov)?\b\.?', 'approval'), (r'\bhomol\b\.?', 'homologation'), (r'\bpend\b\.?', 'pending'),
    (r'\bappl\b\.?', 'application'), (r'\bw/?screen\b', 'windscreen'), (r'\be\s*-?\s*mk\b', 'e-mark'),
    (r'\bn/d\b', 'n.d.'), (r'\bnot\s+det\b\.?', 'not detected'), (r'\bexp\b\.?(?=\s*(?:\d|$|[;,]))', 'expired'),
]


def _osa(a, b, cap):
    """Optimal-string-alignment edit distance with early cut-off."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return prev[-1]


def _fix_word(m):
    w = m.group(0)
    if len(w) < 6 or w in _PROTECT or w in _FUZZY:
        return w
    for k in _FUZZY:
        if k[0] != w[0]:
            continue
        cap = 2 if len(k) >= 10 and len(w) >= 9 else 1
        if _osa(w, k, cap) <= cap:
            return k
    return w


def normalise(text):
    t = unicodedata.normalize('NFKC', str(text))
    t = ''.join(_CHARS.get(c, c) for c in t)
    t = ''.join(c.lower() if len(c.lower()) == 1 else c for c in t)
    t = re.sub(r'[a-z][a-z-]{4,}[a-z]', _fix_word, t)
    for pat, rep in _EXPLICIT_TYPOS:
        t = re.sub(pat, rep, t)
    t = re.sub(r'(?<![a-z0-9])(pb|cd|hg)(?=\d)', r'\1 ', t)   # "Pb2.8%" -> "pb 2.8%"
    return re.sub(r'\s+', ' ', t).strip()


_ABBR = {'max', 'min', 'approx', 'ca', 'no', 'nr', 'wt', 'incl', 'eg', 'ie', 'vs', 'acc',
         'typ', 'resp', 'ref', 'art', 'fig', 'dia', 'qty', 'pcs', 'conc', 'st', 'co', 'ltd',
         'inc', 'corp', 'vol', 'e', 'g', 'i', 'd', 'n', 'nom', 'temp', 'spec', 'pos', 'abt'}


def segments(t):
    """Segment id per character; boundaries are ';' and sentence ends."""
    seg, sid = [0] * (len(t) + 1), 0
    for i, c in enumerate(t):
        if c == ';' or c in '!?':
            sid += 1
        elif c == '.' and (i + 1 == len(t) or t[i + 1] == ' '):
            w = re.search(r'([a-z]+)$', t[:i])
            if not (w and w.group(1) in _ABBR) and not re.search(r'\d$', t[:i]) \
                    or re.search(r'\d$', t[:i]) and re.match(r' [a-z]{2}', t[i + 1:i + 4] or ''):
                sid += 1
        seg[i] = sid
    seg[len(t)] = sid
    return seg


# --------------------------------------------------------------------------
# concentrations
# --------------------------------------------------------------------------
NUM = r"(?<![\w.,])(?:\d{1,3}(?:[ ']\d{3})+(?![\d.,])|\d+(?:[.,]\d+)?|[.,]\d+)"
UNIT = (r"(?:(?:wt|mass|m|w)\s*\.?\s*-?\s*%|%\s*(?:\(?\s*(?:w/w|m/m|wt\.?|by\s+(?:weight|mass))\s*\)?)?"
        r"|(?:percent|per\s?cent|pct)(?![a-z])(?:\s+(?:by\s+(?:weight|mass)|w/w))?"
        r"|ppm(?:w|wt)?(?![a-z])|parts\s+per\s+million|ppb(?![a-z])|parts\s+per\s+billion"
        r"|(?:mg|ug|mcg|g)\s*(?:/|per\s)\s*k?g(?![a-z])|(?:mg|ug|g)\s+k?g\s*-\s*1"
        r"|g\s*/\s*t(?![a-z])|permille|per\s?mille)")
BPRE = (r"(?:<=|>=|=<|=>|<|>|~|max(?:imum)?\.?|min(?:imum)?\.?|up\s+to|(?:not|no)\s+more\s+than"
        r"|(?:well\s+)?(?:less|lower)\s+than|(?:well\s+)?below|(?:well\s+)?under|not\s+exceeding"
        r"|not\s+to\s+exceed|at\s+most|at\s+least|(?:greater|more|higher)\s+than|above|over"
        r"|exceed(?:s|ing)?|in\s+excess\s+of|approx(?:imately|\.)?|ca\.?|circa|about|around"
        r"|typ(?:ically|\.)?|nominal(?:ly)?|between)")
BPOST = r"(?:\s*(?:max(?:imum)?\b\.?|or\s+less|or\s+below|and\s+below|at\s+most|min(?:imum)?\b\.?|or\s+more|or\s+above|and\s+above|at\s+least|or\s+higher))?"
Q_RE = re.compile(r"(?:(?P<b>%s)\s*[:=]?\s*)?(?P<n1>%s)\s*(?P<u1>%s)?\s*(?:(?:-|to|and)\s*(?P<n2>%s)\s*)?(?P<u>%s)(?P<bp>%s)"
                  % (BPRE, NUM, UNIT, NUM, UNIT, BPOST))
KQ_RE = re.compile(r"(?P<u>ppm|pct|percent|%%|wt\s*%%?|mg\s*/?\s*kg|ppb)\s*[)\]]?\s*[:=]\s*(?:(?P<b>%s)\s*)?(?P<n1>%s)(?!\s*(?:%s))"
                   % (BPRE, NUM, UNIT))
LIMIT_PRE = re.compile(r"(?:limit|threshold|allowed|permitted|permissible|allowance|exemption|ceiling|legal\s+max\w*)"
                       r"\s*(?:value|level)?\s*(?:of|is|at|:|=|\()?\s*(?:<=|<)?\s*$")


def _factor(u):
    u = u.replace(' ', '')
    if '%' in u or u.startswith(('percent', 'percent', 'pct', 'wt')):
        return 10000.0
    if u.startswith(('ppb', 'partsperb', 'ug/kg', 'ugperkg', 'mcg/kg', 'ugkg')):
        return 0.001
    if u.startswith(('mg/g', 'mgperg', 'mgg', 'g/kg', 'gperkg', 'gkg', 'permille')):
        return 1000.0
    return 1.0   # ppm, mg/kg, ug/g, g/t


def _num(s, percent):
    s = s.replace("'", '').strip()
    if re.fullmatch(r'\d{1,3}(?: \d{3})+', s):
        return float(s.replace(' ', ''))
    if ',' in s:
        ip, fp = s.split(',', 1)
        if not percent and len(fp) == 3 and ip not in ('', '0'):
            return float(ip + fp)
        s = ip + '.' + fp
    return float(s)


def _bound(b, bp):
    """'upper', 'lower' (>=, at least, min.), 'lower_strict' (>, more than) or None."""
    b = ' '.join(((b or '') + ' ' + (bp or '')).split())
    if re.search(r'(?:not|no)\s+more\s+than|not\s+(?:to\s+)?exceed|<|max|up\s+to|less|lower|below|under|at\s+most', b):
        return 'upper'
    if re.search(r'>=|=>|at\s+least|min|or\s+more|or\s+higher|or\s+above|and\s+above', b):
        return 'lower'
    if re.search(r'>|greater|more\s+than|higher\s+than|above|over|exceed|in\s+excess', b):
        return 'lower_strict'
    return None


def quantities(t):
    out = []
    for m in Q_RE.finditer(t):
        if LIMIT_PRE.search(t[max(0, m.start() - 35):m.start()]):
            continue
        pct = '%' in m.group('u') or 'p' in m.group('u')[:2] and 'c' in m.group('u')
        f = _factor(m.group('u'))
        v1 = _num(m.group('n1'), pct) * (_factor(m.group('u1')) if m.group('u1') else f)
        v2 = _num(m.group('n2'), pct) * f if m.group('n2') else v1
        out.append(dict(s=m.start(), e=m.end(), lo=min(v1, v2), hi=max(v1, v2),
                        bound=_bound(m.group('b'), m.group('bp'))))
    taken = [(q['s'], q['e']) for q in out]
    for m in KQ_RE.finditer(t):
        if any(a <= m.start('n1') < b for a, b in taken):
            continue
        v = _num(m.group('n1'), '%' in m.group('u') or 'p' in m.group('u')) * _factor(
            '%' if m.group('u').startswith(('pct', 'percent', 'wt')) else m.group('u'))
        out.append(dict(s=m.start(), e=m.end(), lo=v, hi=v, bound=_bound(m.group('b'), '')))
    return sorted(out, key=lambda q: q['s'])


# --------------------------------------------------------------------------
# substance mentions
# --------------------------------------------------------------------------
LIMITS = {'pb': 1000.0, 'hg': 1000.0, 'cr6': 1000.0, 'cd': 100.0, 'asbestos': 0.0, 'pfas': 0.0}
SUBST = [
    ('pb', r"\bunleaded\b", 'absent'),
    ('pb', r"\bsn\d*pb\d*\b|\btin\s*[-/]?\s*lead\b", 'hard'),
    ('pb', r"\blead(?:ed)?\b", 'strong'),
    ('pb', r"(?<![a-z0-9])pb(?![a-z])", 'strong'),
    ('hg', r"\bmercury\b|(?<![a-z0-9])hg(?![a-z])", 'strong'),
    ('cr6', r"\bhexavalent(?:\s+chrom(?:e|ium|ate))?\b|\bhex\.?\s*-?\s*chrom\w*|\bcr\s*\(\s*(?:vi|6\s*\+?|\+\s*6)\s*\)"
            r"|\bcr\s*-?\s*(?:vi|6\s*\+|\+\s*6)(?![a-z0-9])|\bcr6(?![0-9])|\bcrvi\b"
            r"|\bchrom(?:e|ium)\s*[-(]?\s*(?:vi|6\s*\+?)\s*\)?(?![a-z0-9])|\b(?:di)?chromat(?!ogra|ic)\w*"
            r"|\bchromic\s+acid|\bchromium\s+trioxide", 'strong'),
    ('cd', r"\bcadmium\b|\bni\s*[-/]?\s*cd\b|\bnicd\b", 'strong'),
    ('cd', r"(?<![a-z0-9])cd(?![a-z])", 'weak'),
    ('asbestos', r"\basbest\w*|\bchrysotil\w*|\bamosite\b|\bcrocidolite\b|\btremolite\b|\banthophyllite\b|\bactinolite\b", 'strong'),
    ('pfas', r"\bpfas\b|\bpfoa\b|\bpfos\b|\bpfhx[sa]\b|\bpfna\b|\bpfda\b|\bpfbs\b|\bgenx\b|\bfluorotelomer\w*"
             r"|\bfluoro\s*-?\s*surfactant\w*|\bfluorinated\b(?!\s+(?:ethylene|propylene|rubber|elastomer|polymer|hydrocarbon))"
             r"|\bper\s*-?\s*(?:and|&|/)\s*poly\s*-?\s*fluoro\w*|\b(?:per|poly)fluoro(?!\s*-?\s*(?:alkoxy|elastomer|polymer))\w*", 'strong'),
]
LEAD_NOT = re.compile(
    r"^(?:s\b|\s*-?\s*(?:times?|frames?|screws?|wires?|length|pitch|spacing|angle|through|thru|engineer|auditor"
    r"|supplier|buyer|customer|partner|designer|developer|contact\s+person|forming|bend|count|finish|to\b|cable)|\s*-\s*(?:in|out)\b"
    r"|\s*(?:length\s*)?[:=]?\s*(?:of\s+)?\d+(?:[.,]\d+)?\s*(?:mm|cm|m|in|inch|\")(?![a-z/%]))")
LEAD_NOT_PRE = re.compile(r"(?:flying|test|cable|connecting|connection|earth|ground|grounding|battery|sensor|probe|extension"
                          r"|pigtail|power|signal|jumper|supply|project|team|technical|long|short|wire|positive|negative"
                          r"|ignition|will|would|could|can|may|might|to|should|must|did|\d\s*(?:mm|cm|m|in|inch))\s*-?\s*$")
CD_NOT = re.compile(r"^\s*[-/]?\s*(?:drive|player|rom|changer|radio|slot|dvd|r\b|rw\b|m2|/\s*m|ripper|tray|stacker|audio|deck|unit|value)")
CD_STRONG_AFTER = re.compile(r"^\s*-?\s*(?:plat\w*|coat\w*|pigment\w*|based|contain\w*|stabili\w*|free|alloy|solder|yellow|red|orange"
                             r"|sulph\w*|sulf\w*|selenide|oxide|compound|batter\w*|[:=]?\s*\(?\s*(?:n\.?\s?d\b|not\s+detect))")
CD_STRONG_BEFORE = re.compile(r"(?:\bno|without|free\s+(?:of|from)|contains?|containing|with|ni\s*-?)\s*$")
HG_NOT_PRE = re.compile(r"(?:mm|cm|in|inch|inches)\s*$")

ABS_SUFFIX = re.compile(
    r"^(?:\s*\))?(?:\s*-\s*|\s+)?free\b(?!\s*-?\s*(?:cutting|machining|cut))"
    r"|^\s*(?:(?:content|conc\w*|level|ppm|pct|percent|%|wt\s*%?|mg\s*/?\s*kg|status)\s*[)\]]?\s*)*[:=]?\s*\(?\s*(?:n\.?\s?d\b\.?|not\s+(?:detect\w*|present|contained|used|added|intentionally\s+added|found)"
    r"|non[- ]?detect\w*|undetect\w*|none\b|nil\b|absent\b|zero\b|below\s+(?:the\s+)?(?:detection|lod|loq|reporting|quantification)"
    r"|<\s*(?:lod|loq|dl|mdl|rl|detection)\b|bdl\b|0+(?:[.,]0+)?\s*(?:%|ppm|mg/kg)?(?![\d.,])"
    r"|(?:is\s+|was\s+|has\s+been\s+)?(?:replaced|substituted|eliminated|removed|phased\s+out))"
    r"|^\s*(?:(?:content|present|contained|used)\s*)?[:=]\s*(?:no|false|n|0|none|nil)(?![\w.,])")
ABS_PREFIX = re.compile(
    r"(?:\bno|\bnot\s+any|\bwithout|\bfree\s+(?:of|from)|\bzero|\bnon|\bnor|\bneither|\bcontains?\s+no|\bdoes\s+not\s+contain"
    r"|\bdo\s+not\s+contain|\bnot\s+contain\w*|\babsence\s+of|\bexcl\w*|\binstead\s+of|\breplac\w*(?:\s+by)?|\bsubstitut\w*(?:\s+for)?"
    r"|\balternative\s+to|\bin\s+place\s+of|\bphased?[- ]out)\s*[-:]?\s*(?:(?:any|added|intentionally|detectable|the|of|use|traces?)\s+)*$")
WITHIN_LIMIT = re.compile(r"^[^;.]{0,30}?\b(?:within|below|under|complies\s+with|meets)\s+(?:the\s+)?(?:\w+\s+){0,2}?(?:limits?|thresholds?)\b")
TRIVALENT = re.compile(r"(?:trivalent|cr\s*\(?\s*iii\b|cr\s*3\s*\+|\btri\s*-?\s*chrom)")
GROUP_GAP = re.compile(r"^[\s,/&()+-]*(?:(?:and|or|as\s+well\s+as|nor|plus|each|both)\b[\s,/&()+-]*)?$")
GAP_BLACK = re.compile(r"\b(?:rate|defects?|scrap|yield|discount|price|cost|humidity|moisture|water|tolerance|efficiency|elongation"
                       r"|fib(?:re|er)s?|glass|gf|talc|filler|filled|recycl\w*|zinc|zn|tin|sn|copper|cu|nickel|ni|iron|fe|silicon|si"
                       r"|manganese|mn|carbon|sulph\w*|sulf\w*|bismuth|bi|antimony|sb|chromium|cr|increase|decrease|reduc\w*"
                       r"|share|duty|load|time|cycle|lot|batch|drag|coefficient)\b")


def mentions(t):
    out = []
    for sub, pat, kind in SUBST:
        for m in re.finditer(pat, t):
            s, e = m.start(), m.end()
            before, after = t[max(0, s - 30):s], t[e:e + 40]
            if sub == 'pb' and kind == 'strong' and m.group(0).startswith('lead'):
                if LEAD_NOT.match(after) or LEAD_NOT_PRE.search(before):
                    continue
            if sub == 'hg' and m.group(0) == 'hg' and HG_NOT_PRE.search(before):
                continue
            if kind == 'weak':
                win = t[max(0, s - 40):e + 40]
                if CD_NOT.match(after) or re.search(r'\d\s*$', before) or \
                        re.search(r'drag|aero|coefficient|\bcw\b|\bcx\b', win):
                    continue
                if CD_STRONG_AFTER.match(after) or CD_STRONG_BEFORE.search(before):
                    kind = 'strong'
            out.append(dict(sub=sub, s=s, e=e, kind=kind, absent=(kind == 'absent'), figs=[]))
    out.sort(key=lambda x: (x['s'], -x['e']))
    res = []
    for m in out:   # drop mentions inside an earlier one of the same substance
        if any(r['sub'] == m['sub'] and r['s'] <= m['s'] and m['e'] <= r['e'] for r in res):
            continue
        res.append(m)
    return res


# --------------------------------------------------------------------------
# materials (for the lead exemptions)
# --------------------------------------------------------------------------
MATERIALS = [
    ('mach', r"(?:leaded\s+)?(?:(?:steels?\s*[,(]?\s*)?(?:\b\d{1,2}s(?:mn)?pb\d{2}\b|\b\d{2}l\d{2}\b|\b1\.07[13]\d\b)(?:\s*\)?\s*(?:free[- ]?cutting\s+)?steels?)?"
             r"|\bfree\s*-?\s*(?:cutting|machining|cut)\b(?!\s+(?:\w+\s+)?(?:brass|bronze|copper|alumin\w*))(?:\s+(?:\w+\s+){0,2}?steels?\b)?"
             r"|\bsteels?\s+(?:[\w-]+\s+){0,3}?for\s+machining(?:\s+purposes)?|\bmachining\s+steels?\b|\bautomat(?:en|ic)\s*-?\s*(?:stahl|steel)"
             r"|\bleaded\s+(?:carbon\s+)?steels?\b)"),
    ('cu', r"\bbrass(?:es)?\b|\bbronze\w*|\bgun\s*-?\s*metal\b|\bcopper\s*-?\s*(?:alloy|based)\w*|\bcopper\b(?!\s*-?\s*(?:free|plat|coat|clad))"
           r"|\bcu\s*-?\s*alloy\w*|\bcu(?:zn|sn|pb|al|ni)\w*|\bc[wc]\s*\d{3}\s*[a-z]\b|\bc[1-9]\d{4}\b|\bms\s?(?:58|60|63)\b|\bcopper-zinc\b"),
    ('al', r"\balumin\w*|\balu\b|\bal\s*-?\s*alloy\w*|\bal(?:si|mg|cu|zn)\d\w*|\ben\s*a[wc]\s*-?\s*\d{4,5}\w*|\b(?:aa|aw)\s*-?\s*[1-8]\d{3}\b"
           r"|\b[2-7]\d{3}\s*-?\s*t\d{1,4}\b|\ba3[568]0\b|\badc\s?12\b|\bsilumin\b"),
    ('other', r"\bsteels?\b|\bstainless\b|\biron\b|\bpvc\b|\bpolyvinyl\w*|\bplastics?\b|\bpolymer\w*|\bp[pe]\b|\b[hl]dpe\b|\bpa\s?\d*\b"
              r"|\babs\b|\bpbt\b|\bpc\b|\bpom\b|\bpet\b|\btp[euv]\b|\bpps\b|\bpu\b|\bpoly(?:amide|propylene|ethylene|carbonate|urethane)\b"
              r"|\bnylon\b|\brubber\b|\bepdm\b|\bnbr\b|\belastomer\w*|\bsilicone\b|\bpaint\w*|\blacquer\b|\bprimer\b|\binks?\b"
              r"|\benamel\b|\bvarnish\b|\bpowder\s*coat\w*|\bpigment\w*|\bstabili[sz]\w*|\bmasterbatch\b|\bsolder\w*|\bglass\b"
              r"|\bceramic\w*|\bglaze\b|\bzinc\b(?!\s*-?\s*plat)|\bzama[kc]\b|\btin\b(?!\s*-?\s*plat)|\bbatter(?:y|ies)\b|\baccumulators?\b"
              r"|\bsheath\w*|\binsulation\b|\bjacket\w*|\bfoam\b|\badhesive\b|\bsealant\b|\bresin\b|\bleather\b|\bfabric\b|\bcompound\b|\bweights?\b"),
]
EXEMPT = {'mach': 3500.0, 'al': 4000.0}
HARD_AFTER = re.compile(r"^\s*-?\s*(?:acid|chromate|oxide|monoxide|carbonate|sulph|sulf|stabili|based|glass|crystal|weight|sheet|solder"
                        r"|batter|accumulator|paint|pigment|soap|ballast|shot|foil|wool|seal|apron|plating)")
HARD_BEFORE = re.compile(r"(?:\btin|\bsn|\bred|\bwhite|\bsolder\w*)\s*[-/]?\s*$")


def materials(t):
    found = []
    for cls, pat in MATERIALS:
        for m in re.finditer(pat, t):
            if any(not (m.end() <= f[1] or m.start() >= f[2]) for f in found):
                continue  # earlier (higher-priority) class already covers this text
            found.append((cls, m.start(), m.end()))
    return sorted(found, key=lambda f: f[1])


def _material_for(t, seg, mats, lo, hi, explicit_gap=None):
    """Class of the material a lead figure / mention at [lo, hi) belongs to."""
    for cls, s, e in mats:
        if s <= lo and hi <= e:
            return cls          # the mention is part of the material name ("leaded free-cutting steel")
    tail = t[hi:hi + 45]
    m = re.match(r"^\s*\)?\s*(?:\(\s*|(?:in|of|for|within|inside|from)\s+(?:the\s+|its\s+|an?\s+)?(?:[\w-]+\s+){0,2}?)", tail)
    if m:
        for cls, s, e in mats:
            if s == hi + m.end() and seg[s] == seg[hi]:
                return cls
    if explicit_gap:
        a, b = explicit_gap
        for cls, s, e in mats:
            if a <= s < b and re.search(r"\b(?:in|of|for)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}?$", t[a:s]):
                return cls
    prev = [f for f in mats if f[2] <= lo and seg[f[1]] == seg[lo]]
    if prev:
        return prev[-1][0]
    nxt = [f for f in mats if f[1] >= hi and seg[f[1]] == seg[hi] and f[1] - hi < 40]
    if nxt:
        return nxt[0][0]
    prev = [f for f in mats if f[2] <= lo]
    if prev:
        return prev[-1][0]
    nxt = [f for f in mats if f[1] >= hi]      # key-value exports: "PB_PPM=30000; MATERIAL=brass"
    return nxt[0][0] if nxt else None


# --------------------------------------------------------------------------
# substances: assign figures, absence, presence
# --------------------------------------------------------------------------
def _violates(q, limit):
    if q['bound'] == 'upper':
        return q['hi'] > limit
    if q['bound'] == 'lower_strict':
        return q['lo'] >= limit
    return q['hi'] > limit


def _lead_limit(cls, revision):
    if cls == 'cu':
        return 20000.0 if revision == 'R2' else 40000.0
    return EXEMPT.get(cls, LIMITS['pb'])


def substance_violation(t, revision='R1'):
    seg = segments(t)
    ms = [m for m in mentions(t) if revision == 'R2' or m['sub'] != 'pfas']
    qs = quantities(t)
    mats = materials(t)
    # 1. assign each figure to the nearest substance mention
    for qi, q in enumerate(qs):
        prev_q_end = qs[qi - 1]['e'] if qi else -1
        next_q_start = qs[qi + 1]['s'] if qi + 1 < len(qs) else len(t) + 1
        best = None
        bef = [m for m in ms if m['e'] <= q['s'] and m['e'] >= prev_q_end]
        if bef:
            m = bef[-1]
            gap = t[m['e']:q['s']]
            lim = 4 if m['kind'] == 'weak' else 45
            if len(gap) <= lim and seg[m['e']] == seg[q['s']] and not GAP_BLACK.search(gap) \
                    and (m['kind'] != 'weak' or re.fullmatch(r"[\s:=(]*", gap)):
                best = (len(gap.strip()), m)
        aft = [m for m in ms if m['s'] >= q['e'] and m['s'] <= next_q_start]
        if aft:
            m = aft[0]
            gap = t[q['e']:m['s']]
            if re.fullmatch(r"[\s(]*(?:of\s+)?(?:the\s+)?(?:total\s+)?", gap) and seg[q['e']] == seg[m['s']]:
                if best is None or len(gap.strip()) < best[0]:
                    best = (len(gap.strip()), m)
        if best:
            best[1]['figs'].append(q)
            q['m'] = best[1]
        elif qi and 'm' in qs[qi - 1]:   # "Pb 2.8 % in the brass and 0.4 % in the PVC"
            p = qs[qi - 1]
            gap = t[p['e']:q['s']]
            if len(gap) <= 60 and seg[p['e']] == seg[q['s']] and not GAP_BLACK.search(gap) \
                    and not any(p['e'] <= m['s'] < q['s'] for m in ms):
                p['m']['figs'].append(q)
                q['m'] = p['m']
    # bare numbers after strong mentions ("PB=0.03", "Hg: 450") -- best guess on unit
    for m in ms:
        if not m['figs'] and m['kind'] != 'weak':
            b = re.match(r"^\s*(?:content|conc\w*|level)?\s*[:=]\s*(?:(%s)\s*)?(\d+(?:[.,]\d+)?)(?![\d.,]*\s*(?:%s|[a-z/]))"
                         % (BPRE, UNIT), t[m['e']:m['e'] + 30])
            if b:
                v = float(b.group(2).replace(',', '.'))
                v = v * 10000.0 if re.search(r'[.,]', b.group(2)) and v < 100 else v
                m['figs'].append(dict(s=m['e'] + b.start(2), e=m['e'] + b.end(2), lo=v, hi=v,
                                      bound=_bound(b.group(1), '')))
    # 2. groups of mentions written as a list ("Pb, Cd, Hg and Cr(VI): n.d.")
    groups, cur = [], []
    for m in ms:
        if cur and not cur[-1]['figs'] and GROUP_GAP.match(t[cur[-1]['e']:m['s']]) and seg[cur[-1]['e']] == seg[m['s']]:
            cur.append(m)
        else:
            if cur:
                groups.append(cur)
            cur = [m]
    if cur:
        groups.append(cur)
    for g in groups:
        absent = bool(ABS_SUFFIX.match(t[g[-1]['e']:g[-1]['e'] + 60])) or \
            bool(ABS_PREFIX.search(t[max(0, g[0]['s'] - 45):g[0]['s']]))
        strong = any(m['kind'] != 'weak' for m in g) or any(m['figs'] for m in g)
        figs = [f for m in g for f in m['figs']]
        within = bool(WITHIN_LIMIT.match(t[g[-1]['e']:g[-1]['e'] + 80]))
        for m in g:
            if absent:
                m['absent'] = True
            if not m['figs']:
                m['figs'] = list(figs)
            if strong and m['kind'] == 'weak':
                m['kind'] = 'strong'
            m['within'] = within
    # Cr(VI) wordings that are really trivalent ("trivalent chromate conversion")
    for m in ms:
        if m['sub'] == 'cr6' and not t[m['s']:m['e']].startswith(('hex', 'cr', 'chromium', 'chrome')):
            pre = t[max(0, m['s'] - 35):m['s']]
            if seg[max(0, m['s'] - 1)] == seg[m['s']] and TRIVALENT.search(pre) and 'hexavalent' not in pre \
                    or re.match(r"^\s*(?:conversion\s+|passivation\s+|coating\s+)?\(?\s*(?:trivalent|cr\s*\(?\s*iii|cr\s*3)", t[m['e']:m['e'] + 40]):
                m['absent'] = True
    # 3. evaluate
    for m in ms:
        if m['kind'] == 'weak' or m['absent']:
            continue
        sub = m['sub']
        if m['figs']:
            for q in m['figs']:
                limit = LIMITS[sub]
                if sub == 'pb':
                    gap = (m['e'], q['s']) if m['e'] <= q['s'] else None
                    cls = _material_for(t, seg, mats, min(m['s'], q['s']), max(m['e'], q['e']), gap)
                    limit = _lead_limit(cls, revision)
                if _violates(q, limit):
                    return True
            continue
        if m.get('within'):
            continue
        # named as present, no concentration
        hard = m['kind'] == 'hard'
        cls = None
        if sub == 'pb':
            hard = hard or bool(HARD_AFTER.match(t[m['e']:m['e'] + 20])) or bool(HARD_BEFORE.search(t[max(0, m['s'] - 15):m['s']]))
            if not hard:
                cls = _material_for(t, seg, mats, m['s'], m['e'])
                if cls in ('cu', 'mach', 'al'):
                    continue          # "leaded brass", "leaded free-cutting steel"
            else:
                cls = 'other'
        # a figure for the same substance (same material) in the same sentence governs
        covered = False
        for o in ms:
            if o is not m and o['sub'] == sub and o['figs'] and not o['absent'] and seg[o['s']] == seg[m['s']]:
                if sub != 'pb':
                    covered = True
                else:
                    q = o['figs'][0]
                    ocls = _material_for(t, seg, mats, min(o['s'], q['s']), max(o['e'], q['e']))
                    covered = covered or ocls == cls or cls is None or (ocls in (None, 'other') and cls == 'other')
        if not covered:
            return True
    return False


# --------------------------------------------------------------------------
# type approval (rule 3, closed list of Clarification 7)
# --------------------------------------------------------------------------
LAMP_PREFIX = (r"(?:stop|brake|tail|rear|indicator|turn[- ]?signal|direction[- ]indicator|signal|position|parking|side[- ]?marker"
               r"|marker|clearance|reversing|reverse|back[- ]?up|fog|daytime[- ]running|rear[- ]combination|combination"
               r"|number[- ]plate|licen[cs]e[- ]plate|front|exterior|outside|cornering|repeater|side|high[- ]mounted\s+stop|led\s+tail)")
CATEGORIES = re.compile(
    r"\bbrake\s+(?:[\w-]+\s+){0,2}?(?:pads?|linings?|shoes?)\b|\bbrk\.?\s*(?:pads?|lin\w*|shoes?)\b|\b(?:drum|disc|disk)\s+(?:\w+\s+)?(?:pads?|linings?|shoes?)\b"
    r"|\bfriction\s+(?:pads?|linings?)\b"
    r"|\bhead\s*-?\s*(?:lamp|light)s?\b|\b" + LAMP_PREFIX + r"\s*-?\s*(?:lamps?|lights?|lanterns?)\b|\btail\s*-?\s*(?:lamp|light)s?\b"
    r"|\btaillights?\b|\btaillamps?\b|\bdrl\b|\bchmsl\b|\bturn\s+(?:signal|indicator)s?\b|\bside\s+repeaters?\b|\blight\s+cluster\b"
    r"|\btyres?\b|\btires?\b|\b\d{3}/\d{2}\s?z?r\s?\d{2}\b"
    r"|\bseat\s*-?\s*belts?\b|\bseatbelts?\b|\bsafety\s+belts?\b|\bpretensioners?\b|\bbuckles?\b|\bbelt\s+retractors?\b"
    r"|\bair\s*-?\s*bags?\b|\binflators?\b"
    r"|\bglazing\b|\bwind\s*(?:screen|shield)s?\b|\b(?:side|rear|roof|door|quarter|sunroof|sun\s+roof|panoramic|back|vent)\s*-?\s*(?:window\s+)?glass\b"
    r"|\b(?:rear|side|door|quarter|back)\s+windows?\b|\bbacklite\b|\b(?:laminated|toughened|tempered|safety)\s+glass\b|\bglass\s+roof\b")
CAT_EXCL_AFTER = re.compile(
    r"^\s*-?\s*(?:[\w-]+\s+)?(?:switch|relay|flasher|stalk|control|ecu|acu|sensor|washer|wiper|clean\w*|level\w*|actuator|motor"
    r"|bracket|wiring|harness|connector|socket|holder|fuse|cover|protector|film|tint|trim|bezel|seal|gasket|adjust\w*|aim\w*"
    r"|indicator|warning|reminder|spring|clip|pins?|bolt|shim|grease|paste|lubricant|tool|gauge|pressure|valve|tpms|repair"
    r"|sealant|compressor|iron|lever|changer|chains?|carrier|rack|shine|dressing|warmer|chime|clock\s*spring|resistor"
    r"|simulator|emulator|deactivation|fluid|nozzle|jet|pump|reservoir|camera|moulding|molding|adhesive|urethane|primer"
    r"|cleaner|sunshade|shade|regulator|lift|run\b|channel|drain|defrost\w*|demist\w*)\b")
CAT_EXCL_BEFORE = re.compile(r"(?:interior|dome|courtesy|reading|map|cabin|footwell|ambient|vanity|glove\s*box|boot|trunk|luggage|cargo"
                             r"|instrument|warning|dashboard|tyre|tire|spare\s+wheel|wear)\s*-?\s*$")
OUTSIDE = re.compile(r"\b(?:horns?|mirrors?|wipers?|filters?|seat\s+covers?|cup\s*holders?|floor\s+mats?|brackets?|mounts?|tools?"
                     r"|jacks?|sensors?|ecu|control\s+units?|harness\w*|switch\w*|relays?|washers?|nozzles?|pumps?|bumpers?|grilles?"
                     r"|spoilers?|covers?|trims?|cables?|(?:interior|dome|courtesy|map|reading)\s+(?:lights?|lamps?))\b")
CHILD = re.compile(r"\bchild\s*(?:seat|restraint|car\s+seat)s?\b|\bbooster\s+(?:seat|cushion)s?\b|\binfant\s+(?:seat|carrier)s?\b|\bbaby\s+seats?\b")
RELATION = re.compile(r"\b(?:for|fits?|fitting|compatible|with|near|behind|under|on|to|of|from|beside|next|adjacent|suits?|incl\w*|and)\b")

APPR = r"(?:type\s*-?\s*approv\w*|approv\w*|homologat\w*|e\s*-?\s*mark\w*|emark\w*|ece\s+(?:r|regulation)\s*\d+|un\s*(?:ece\s*)?-?\s*r\s?\d+|(?<!material )(?<!mill )(?<!test )(?<!rohs )(?<!reach )(?<!3\.1 )(?<!iso )(?<!iatf )certificat\w*)"
BAD = (r"(?:pending|awaited|awaiting|outstanding|expired|lapsed|withdrawn|revoked|suspended|cancell?ed|invalid|void|missing|absent|refused"
       r"|rejected|denied|failed|not\s+(?:granted|issued|obtained|available|yet|valid|approved|received|held|done|completed)|in\s+progress"
       r"|ongoing|applied\s+for|submitted|requested|to\s+follow|tbd|tba|under\s+review|withheld|no\s+longer\s+valid)")
GAP_WORD = r"(?!(?:delivery|shipment|order|payment|invoice|ppap|drawing|samples?|price|quote|lot|batch|rfq)\b)[\w()/*.-]+"
MISSING = [
    re.compile(r"\b(?:not|non|never|without)\s*-?\s*(?:(?:yet|currently|been|be|officially|fully|formally|properly|type|ece|un|an?|any|valid|the)\s+)*" + APPR),
    re.compile(r"\bno\s+(?:(?:valid|current|type|ece|un)\s+)*" + APPR),
    re.compile(r"\bno\s+longer\s+(?:" + APPR + r"|valid)"),
    re.compile(APPR + r"\s*(?:status|state)?\s*[:=]\s*(?:no|none|n|n/a|na|false|0|-|x)(?![\w/.])"),
    re.compile(APPR + r"\s*(?:status|state)?\s*[:=]?\s*(?:none|n/a|nil|absent|lacking)(?![\w/.])"),
    re.compile(APPR + r"\s*(?:\s+" + GAP_WORD + r"){0,5}?\s*[:=]?\s*" + BAD + r"\b"),
    re.compile(BAD + r"\s+(?:(?:for|of|the|a|an|new|ece|un|valid)\s+){0,2}" + APPR),
    re.compile(r"\b(?:application|request)\s+(?:(?:is|was|has\s+been|still|currently)\s+)*(?:pending|submitted|filed|in\s+progress|under\s+review|lodged)\b"),
    re.compile(r"\b(?:pending|submitted)\s+application\b|\bunapproved\b|\bnon-?homologated\b|\bnot\s+homologated\b"),
    re.compile(r"\b(?:lacks?|lacking)\s+(?:(?:a|an|the|any|valid)\s+)*" + APPR),
]


def safety_critical(t):
    seg = segments(t)
    outs = [(m.start(), m.end()) for m in OUTSIDE.finditer(t)]
    childs = [m.start() for m in CHILD.finditer(t)]
    for m in CATEGORIES.finditer(t):
        if CAT_EXCL_AFTER.match(t[m.end():m.end() + 40]) or CAT_EXCL_BEFORE.search(t[max(0, m.start() - 25):m.start()]):
            continue
        if re.match(r"inflator", m.group(0)) and re.search(r"(?:tyre|tire|wheel|ball|pump)\s*$", t[max(0, m.start() - 12):m.start()]):
            continue
        if any(c < m.start() and seg[c] == seg[m.start()] for c in childs):
            continue
        if any(e <= m.start() and m.start() - e < 50 and seg[s] == seg[m.start()] and RELATION.search(t[e:m.start()])
               for s, e in outs):
            continue
        return True
    return False


def approval_missing(t):
    return any(p.search(t) for p in MISSING)


# --------------------------------------------------------------------------
# top level
# --------------------------------------------------------------------------
def classify(text: str, revision: str = "R1") -> str:
    revision = 'R2' if str(revision).strip().upper() == 'R2' else 'R1'
    t = normalise(text)
    if substance_violation(t, revision):
        return 'non_compliant'
    if safety_critical(t) and approval_missing(t):
        return 'non_compliant'
    return 'compliant'


# --------------------------------------------------------------------------
# evaluation / self-test
# --------------------------------------------------------------------------
def _label(v):
    v = str(v).strip().lower()
    return 'non_compliant' if v in ('1', 'non_compliant', 'non-compliant', 'noncompliant', 'nc') else 'compliant'


def metrics(gold, pred):
    acc = sum(g == p for g, p in zip(gold, pred)) / max(1, len(gold))
    f1s = []
    for c in ('compliant', 'non_compliant'):
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        fp = sum(g != c and p == c for g, p in zip(gold, pred))
        fn = sum(g == c and p != c for g, p in zip(gold, pred))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return acc, sum(f1s) / 2


DOC_EXAMPLES = [
    ("Front brake pad set, low-metallic friction compound, copper-free, E-marked to UN ECE R90, supplier Halvorsen Friction", 'compliant'),
    ("BRK LINING RR DRUM, CHRYSOTILE REINF., OEM REPLACEMENT", 'non_compliant'),
    ("Wiring harness connector housing PA66-GF30; tin-plated brass contacts, Pb 2.8 % in the brass", 'compliant'),
    ("Cable sheathing, flexible PVC with lead stabiliser (0.4 wt.% Pb)", 'non_compliant'),
    ("M8 hex flange bolt, zinc-nickel coating with trivalent passivation, torque 25 Nm", 'compliant'),
    ("Door hinge pin, yellow chromate conversion coating", 'non_compliant'),
    ("LED tail lamp assembly, 12 V, 4.2 W, E-mark application pending", 'non_compliant'),
    ("Cup holder insert, TPE, 'not E-marked' (not required)", 'compliant'),
    ("Battery tray, PP-T20, cadmium 85 ppm in pigment", 'compliant'),
    ("Glovebox latch spring, Cd-plated steel", 'non_compliant'),
    ("Free-cutting steel shaft for machining, 0,30 % Pb", 'compliant'),
    ("Tyre 205/55 R16 91V, homologation withdrawn by the authority in 2026", 'non_compliant'),
]
# (text, R1 label, R2 label) -- written by hand from the document
OWN_EXAMPLES = [
    ("Brass fitting CW614N, Pb 3.1 %", 'compliant', 'non_compliant'),
    ("Valve body CuZn39Pb3, lead 3.5 wt%", 'compliant', 'non_compliant'),
    ("Bushing, gunmetal CuSn5Zn5Pb5, lead 2.0 %", 'compliant', 'compliant'),
    ("Bronze bearing, Pb 4.5 %", 'non_compliant', 'non_compliant'),
    ("Leaded brass insert", 'compliant', 'compliant'),
    ("Shaft 11SMnPb30, Pb 0.35 %", 'compliant', 'compliant'),
    ("Pin, 12L14 leaded steel, lead 0.40 %", 'non_compliant', 'non_compliant'),
    ("Bracket, S235 steel, Pb 0.2 %", 'non_compliant', 'non_compliant'),
    ("Housing EN AW-6082 T6, lead 0.38 %", 'compliant', 'compliant'),
    ("Die-cast aluminium cover, Pb 4 500 ppm", 'non_compliant', 'non_compliant'),
    ("PB_PPM=800; MATERIAL=PP", 'compliant', 'compliant'),
    ("MATERIAL=PVC; PB_PPM=1200", 'non_compliant', 'non_compliant'),
    ("Gasket, Cd 0,012 %", 'non_compliant', 'non_compliant'),
    ("Gasket, cadmium < 80 ppm", 'compliant', 'compliant'),
    ("Seal, cadmium at least 150 mg/kg", 'non_compliant', 'non_compliant'),
    ("Seal, mercury 1.5 g/kg", 'non_compliant', 'non_compliant'),
    ("Switch, Hg 0.9 mg/g", 'compliant', 'compliant'),
    ("Relay, Hg 900 ug/g", 'compliant', 'compliant'),
    ("Grommet, lead 0.1 percent", 'compliant', 'compliant'),
    ("Grommet, lead 20 000 ppm in EPDM", 'non_compliant', 'non_compliant'),
    ("Fastener, Cr(VI) n.d.", 'compliant', 'compliant'),
    ("Fastener, Cr6+ 0.2 % w/w", 'non_compliant', 'non_compliant'),
    ("Clip, hexavalent chromium not detected, lead-free, cadmium-free", 'compliant', 'compliant'),
    ("PCB assembly, tin-lead solder, RoHS compliant", 'non_compliant', 'non_compliant'),
    ("PCB assembly, RoHS-compliant solder", 'compliant', 'compliant'),
    ("Starter battery, lead-acid, 60 Ah", 'non_compliant', 'non_compliant'),
    ("Gasket, non-asbestos fibre", 'compliant', 'compliant'),
    ("Heat shield gasket, asbestos-free", 'compliant', 'compliant'),
    ("Clutch facing containing asbestos", 'non_compliant', 'non_compliant'),
    ("Sensor connector, flying lead 300 mm, lead time 6 weeks, lot 4471", 'compliant', 'compliant'),
    ("Rear spoiler, drag coefficient Cd 0.29, mass 2.1 kg", 'compliant', 'compliant'),
    ("Head unit with CD drive, 4x45 W", 'compliant', 'compliant'),
    ("Headlamp LED, E4 UN R112 approved", 'compliant', 'compliant'),
    ("Headlamp assembly, E-mark=none", 'non_compliant', 'non_compliant'),
    ("Seat belt pretensioner, awaiting type approval", 'non_compliant', 'non_compliant'),
    ("Airbag inflator, approval suspended", 'non_compliant', 'non_compliant'),
    ("Windscreen, laminated, homologation lapsed", 'non_compliant', 'non_compliant'),
    ("Horn, not E-marked", 'compliant', 'compliant'),
    ("Interior light, approval pending", 'compliant', 'compliant'),
    ("Wiper blade for windscreen, no E-mark", 'compliant', 'compliant'),
    ("Fog lamp, not homologated", 'non_compliant', 'non_compliant'),
    ("O-ring, FKM", 'compliant', 'compliant'),
    ("Bearing seal, PTFE coating with PFOA processing aid", 'compliant', 'non_compliant'),
    ("Fabric seat cover, fluorinated coating for stain resistance", 'compliant', 'non_compliant'),
    ("Hose liner, PTFE, PFAS-free", 'compliant', 'compliant'),
    ("HEADLAMP BRACKET, STEEL, CADMUIM PLATED", 'non_compliant', 'non_compliant'),
    ("Hinge, lead max. 0.05 %", 'compliant', 'compliant'),
    ("Plug, Pb > 0.1 %", 'non_compliant', 'non_compliant'),
    ("Contacts: brass, Pb 2.8 %; sheath: PVC, lead 0.4 % in the PVC sheath", 'non_compliant', 'non_compliant'),
    ("Lead 2.8 % in the brass contacts and 0.05 % in the PVC sheath", 'compliant', 'non_compliant'),
    ("Hello, regarding lot 7781 of the brake pads: the E-mark application was submitted last week, "
     "delivery next Monday. Torque 25 Nm. Regards", 'non_compliant', 'non_compliant'),
]


def selftest():
    bad = 0
    for text, lab in DOC_EXAMPLES:
        p = classify(text, 'R1')
        if p != lab:
            bad += 1
            print('FAIL R1 doc  %-14s got %-14s %s' % (lab, p, text))
    for text, l1, l2 in OWN_EXAMPLES:
        for rev, lab in (('R1', l1), ('R2', l2)):
            p = classify(text, rev)
            if p != lab:
                bad += 1
                print('FAIL %s own  %-14s got %-14s %s' % (rev, lab, p, text))
    n = len(DOC_EXAMPLES) + 2 * len(OWN_EXAMPLES)
    print('selftest: %d/%d passed' % (n - bad, n))
    return bad == 0


def main(argv):
    if '--selftest' in argv:
        return 0 if selftest() else 1
    args = [a for a in argv if not a.startswith('--')]
    revision = 'R1'
    if '--revision' in argv:
        revision = argv[argv.index('--revision') + 1]
        args = [a for a in args if a != revision]
    if not args:
        print(__doc__)
        return 2
    csv.field_size_limit(10 ** 9)
    with open(args[0], newline='', encoding='utf-8') as fh:
        rows = list(csv.DictReader(fh))
    gold = [_label(r['label']) for r in rows]
    pred = [classify(r['text'], revision) for r in rows]
    acc, f1 = metrics(gold, pred)
    print('n=%d revision=%s accuracy=%.4f macro_f1=%.4f' % (len(rows), revision, acc, f1))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
