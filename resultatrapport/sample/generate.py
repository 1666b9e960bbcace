"""A realistic sample inbox: every delivery of `sources.md`, deterministic for a seed.

Volumes at scale 1 are one region's year (about 60,000 firms in the CVR extract with a
financial row each year, 5,500 guidance cases and 1,500 evaluation answers for Erhvervshus
Midtjylland; a few hundred cases and a time registration for Viborgegnens Erhvervsråd).
Everything is generated column-wise with numpy, turned into text column-wise and written
in chunks (:mod:`resultatrapport.sample.writers`), so scale 100 (six million firms) runs
in minutes in bounded memory; the same seed and scale give the same bytes, whatever the
chunk size. Files carry the quirks real deliveries have (cp1252, BOMs, CRLF, trailing
blank lines), a small known share of bad rows, and personal data where the formats have
it. The manifest records what was planted, so tests can check that the pipeline finds it:

- ``bad_rows``: file, line and kind of every planted bad row;
- ``personal_data``: every CPR number and e-mail written, which must never reach the warehouse;
- ``effects``: the growth effect planted on guided firms, and the naive difference a plain
  comparison would report (guidance is selected on pre-guidance growth and size, which
  persist, so the naive difference is biased).

``hubs=True`` writes the inbox of all six erhvervshuse instead (:func:`hub_plans`): one
register for the whole country, with the firms spread over the six hubs' municipalities by
population, and a CRM extract and a user evaluation for each hub's organisation folder, its
volume the hub's share of the framework's 2024 distribution (Midtjylland's as without it).
The hubs and their municipalities are the contracts' (KKR Midtjylland's and the five generated
examples in ``contracts/examples/``); the population outside Region Midtjylland is synthetic.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resultatrapport.contracts import PopulationKeyBudget, load_contract_folder
from resultatrapport.formats import FORMATS
from resultatrapport.municipalities import municipalities
from resultatrapport.national.framework import load_frameworks
from resultatrapport.progress import progress as shown
from resultatrapport.sample.texts import write_texts
from resultatrapport.sample.writers import (
    CHUNK_ROWS,
    DATE,
    EXCEL_1970,
    NUMBER,
    OMIT,
    TEXT,
    Cells,
    InboxWriter,
    Report,
    blank,
    blocks,
    comma,
    dates,
    ints,
    join,
    read_xlsx,
    take,
    text,
    zero_padded,
)
from resultatrapport.vocabulary import CASE_TYPES, DEGREES, HUBS, JA_NEJ_VED_IKKE, NO, YES

REFERENCE = Path(__file__).parent / "reference"
EHMJ = "erhvervshus-midtjylland"
VER = "viborgegnens-erhvervsraad"
TAU_TURNOVER = 12.0
TAU_EMPLOYMENT = 6.0
TAU_PRODUCTIVITY = 4.0
PRICE_INDEX = {2020: 100.0, 2021: 101.8, 2022: 105.9, 2023: 110.3, 2024: 112.9, 2025: 115.4,
               2026: 118.0, 2027: 120.6, 2028: 123.1, 2029: 125.6, 2030: 128.1}  # fmt: skip
NO_AWARENESS_SURVEY = {2026}
DUPLICATE_FILE = (EHMJ, 2020)  # a year no default run reads: the demo can be signed off
# the six hubs' case ids and the office their CRM notes name (Midtjylland's as it always was)
HUB_PREFIX = {
    "erhvervshus-hovedstaden": ("EHH", "København"),
    "erhvervshus-midtjylland": ("EHMJ", "Århus"),
    "erhvervshus-sjaelland": ("EHSJ", "Sorø"),
    "erhvervshus-sydjylland": ("EHSY", "Vejle"),
    "erhvervshus-nordjylland": ("EHNJ", "Aalborg"),
    "erhvervshus-fyn": ("EHF", "Odense"),
}
MIDTJYLLAND = 1082  # the region whose population shared/reference holds (the rest: synthetic)
# the six-hub inbox's municipalities outside Region Midtjylland have no real figures here:
# these made-up weights (thousands, roughly the municipalities' relative sizes, NOT official
# figures) split each hub's synthetic total (_Population.extend)
SYNTHETIC_WEIGHTS = {
    101: 650, 147: 104, 151: 52, 153: 39, 155: 14, 157: 75, 159: 70, 161: 23, 163: 29,
    165: 28, 167: 54, 169: 52, 173: 57, 175: 41, 183: 23, 185: 43, 187: 17, 190: 41, 201: 26,
    210: 41, 217: 63, 219: 52, 223: 25, 230: 57, 240: 44, 250: 46, 260: 31, 270: 41, 400: 39,
    253: 51, 259: 62, 265: 90, 269: 23, 306: 33, 316: 72, 320: 38, 326: 49, 329: 35, 330: 80,
    336: 23, 340: 30, 350: 29, 360: 40, 370: 84, 376: 60, 390: 45,
    410: 39, 420: 41, 430: 52, 440: 24, 450: 32, 461: 207, 479: 59, 480: 29, 482: 12, 492: 6,
    510: 55, 530: 27, 540: 74, 550: 37, 561: 115, 563: 3, 573: 50, 575: 43, 580: 59, 607: 52,
    621: 95, 630: 120,
    773: 20, 787: 43, 810: 36, 813: 59, 820: 36, 825: 2, 840: 30, 846: 41, 849: 38, 851: 222,
    860: 64,
}  # fmt: skip

FIRST_NAMES = ["Anne", "Mette", "Søren", "Jens", "Kirsten", "Bjørn", "Åse", "Jørgen", "Lærke",
               "Mads", "René", "Ida", "Thomas", "Zoë", "Peter", "Hanne", "Ole", "Signe"]  # fmt: skip
LAST_NAMES = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
              "Sørensen", "Rasmussen", "Jørgensen", "Møller", "Kjær", "Bæk", "Østergaard",
              "Skårup", "Frøkjær"]  # fmt: skip
INDUSTRIES = ["10", "25", "28", "41", "43", "45", "46", "47", "49", "55", "56", "62", "68",
              "69", "70", "71", "73", "74", "81", "96"]  # fmt: skip
LEGAL_FORMS = ["ApS", "A/S", "Enkeltmandsvirksomhed", "I/S", "IVS"]
REFERRAL_TARGETS = ["Innovationsfonden", "Eksportrådet", "Danmarks Eksport- og Investeringsfond",
                    "Privat rådgiver", "Klyngeorganisation", "EU-kontoret"]  # fmt: skip
EHMJ_AREAS = ["Digitalisering og automatisering", "Bæredygtighed (ESG)", "Iværksætteri",
              "Innovation", "Internationalisering", "Beskæftigelse og uddannelse",
              "Aktualitet og resiliens", "Detailhandel, turisme og levende bymidter",
              "Ejerskifte", "Forsvar"]  # fmt: skip
VER_AREAS = ["Innovationsmiljøer", "Vidensoverførsel", "Tiltrækning af investeringer",
             "Arbejdskraft", "Iværksætteri", "Digitalisering og automatisering"]  # fmt: skip
VER_PROJECTS = [
    "Karriereby Viborg",
    "Start Up Viborg",
    "Invest in Viborg",
    "International Community",
]
MAIL_DOMAINS = ["firma.dk", "example.dk", "mail.dk"]

# names are kept as positions in these lists (one small integer per firm or person) and
# only become text when a chunk is written
PERSON_NAMES = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
FIRM_NAMES = [f"{person} {form}" for person in PERSON_NAMES for form in LEGAL_FORMS]
MAIL_NAMES = [  # 'Søren Bæk' -> 'sren.bk': lower case, dots, accents dropped
    unicodedata.normalize("NFKD", p.lower().replace(" ", ".")).encode("ascii", "ignore").decode()
    for p in PERSON_NAMES
]


def _days(year: int, month: int = 1, day: int = 1) -> int:
    return (dt.date(year, month, day) - dt.date(1970, 1, 1)).days


def _year(days: np.ndarray) -> np.ndarray:
    """The calendar year of days since 1970-01-01."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)``: sorted, without repeats (numpy's own is slow on millions)."""
    s = np.sort(values)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if s.size else s


class _Noise:
    """Normal noise of shape (firms, years), drawn from ``rng`` one block of firms at a time
    (the same numbers as one draw of the whole). Drawing it moves ``rng`` on as that would;
    iterating draws the same numbers again, block by block, from the saved state, so the
    whole block never has to be kept."""

    def __init__(self, rng: np.random.Generator, n: int, years: int, sd: float, block: int):
        self.kind, self.state = type(rng.bit_generator), rng.bit_generator.state
        self.n, self.years, self.sd, self.block = n, years, sd, block
        for lo, hi in blocks(n, block):
            rng.normal(0, sd, (hi - lo, years))

    def __iter__(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """(lo, hi, noise of firms lo:hi as a (year, firm) array)."""
        bits = self.kind()
        bits.state = self.state
        again = np.random.Generator(bits)
        for lo, hi in blocks(self.n, self.block):
            yield lo, hi, again.normal(0, self.sd, (hi - lo, self.years)).T


class _Panel:
    """The firms' financial figures, as (year, firm) arrays with one contiguous row a year.

    Turnover and full-time equivalents are kept as they would be without guidance. Gross
    profit, turnover x (margin + noise), is not kept: its noise is drawn again from the
    generator's saved state whenever it is needed (:class:`_Noise`), a block of firms at a
    time. :meth:`plant` records the effect of guidance, added to figures as they are read.
    """

    NEVER = 9999

    def __init__(
        self,
        years: list[int],
        turnover: np.ndarray,
        fte: np.ndarray,
        margin: np.ndarray,
        gross_noise: _Noise,
    ) -> None:
        self.years, self.col = years, {y: i for i, y in enumerate(years)}
        self.turnover, self.fte, self.margin, self.gross_noise = turnover, fte, margin, gross_noise
        n = turnover.shape[1]
        self.planted_from = np.full(n, self.NEVER, dtype=np.int16)  # first year with the effect
        self.grows = np.zeros(n, dtype=bool)  # the Vækst effect (else the Drift one)
        # Vækst: TAU_TURNOVER/100 x turnover in B; Drift: TAU_PRODUCTIVITY/100 x productivity in B
        self.effect = np.zeros(n)

    def gross_without(
        self, rows: np.ndarray, columns: np.ndarray, noise: np.ndarray, lo: int
    ) -> np.ndarray:
        """Gross profit without guidance of firms ``rows``, each in its own panel column;
        ``noise``: the gross-profit noise of the block of firms from ``lo`` that holds them."""
        return self.turnover[columns, rows] * (self.margin[rows] + noise[columns, rows - lo])

    def plant(self, end_year: np.ndarray, growth_segment: np.ndarray) -> None:
        """From the year E its (earliest ended) case ended on, a guided firm gains: in segment
        Vækst, TAU_TURNOVER % of its turnover in B = E-1 (gross profit: that times its margin)
        and TAU_EMPLOYMENT % of its full-time equivalents in B; in segment Drift,
        TAU_PRODUCTIVITY % of its gross profit per full-time equivalent in B, times its
        full-time equivalents. ``end_year``: E, or -1 for firms never guided."""
        first = self.years[0]
        baseline_known = (end_year - 1 >= first) & (end_year - 1 <= self.years[-1])
        self.planted_from[:] = np.where((end_year >= 0) & baseline_known, end_year, self.NEVER)
        self.grows[:] = growth_segment
        planted = self.planted_from < self.NEVER
        grow = np.flatnonzero(planted & growth_segment)
        base = self.planted_from[grow] - 1 - first  # each firm's baseline column
        self.effect[grow] = TAU_TURNOVER / 100 * self.turnover[base, grow]
        fte_gain = TAU_EMPLOYMENT / 100 * self.fte[base, grow]
        for t, year in enumerate(self.years):  # full-time equivalents: planted once, here
            gains = self.planted_from[grow] <= year
            self.fte[t, grow[gains]] += fte_gain[gains]
        drift = planted & ~growth_segment
        for lo, hi, noise in self.gross_noise:
            rows = lo + np.flatnonzero(drift[lo:hi])
            base = self.planted_from[rows] - 1 - first
            productivity = self.gross_without(rows, base, noise, lo) / self.fte[base, rows]
            self.effect[rows] = TAU_PRODUCTIVITY / 100 * productivity

    def turnover_in(self, year: int, rows: np.ndarray) -> np.ndarray:
        """Turnover of firms ``rows`` in ``year``, with the effect."""
        values = self.turnover[self.col[year], rows]
        gains = self.grows[rows] & (self.planted_from[rows] <= year)
        values[gains] += self.effect[rows[gains]]
        return values

    def fte_in(self, year: int, rows: np.ndarray) -> np.ndarray:
        """Full-time equivalents of firms ``rows`` in ``year``, with the effect."""
        return self.fte[self.col[year], rows]

    def gross_in(self, year: int, rows: np.ndarray, noise: np.ndarray, lo: int) -> np.ndarray:
        """Gross profit of firms ``rows`` in ``year``, with the effect (see gross_without)."""
        values = self.gross_without(rows, np.full(rows.size, self.col[year]), noise, lo)
        gains = self.planted_from[rows] <= year
        grows, drifts = gains & self.grows[rows], gains & ~self.grows[rows]
        values[grows] += self.effect[rows[grows]] * self.margin[rows[grows]]
        values[drifts] += self.effect[rows[drifts]] * self.fte_in(year, rows[drifts])
        return values


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random person names, as positions in PERSON_NAMES."""
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    return (first * len(LAST_NAMES) + last).astype(np.int16)


def _emails(names: np.ndarray, rng: np.random.Generator) -> pa.Array:
    domains = rng.integers(0, len(MAIL_DOMAINS), len(names))
    number = rng.integers(1, 999, len(names))
    return join(take(MAIL_NAMES, names), ints(number), "@", take(MAIL_DOMAINS, domains))


def _cprs(rng: np.random.Generator, n: int) -> pa.Array:
    day = rng.integers(1, 29, n)
    month = rng.integers(1, 13, n)
    year = rng.integers(40, 100, n)
    tail = rng.integers(1000, 10000, n)
    dash = rng.random(n) < 0.5
    return join(zero_padded(day, 2), zero_padded(month, 2), zero_padded(year, 2),
                take(["", "-"], dash), ints(tail))  # fmt: skip


def _str(values: pa.Array) -> pd.Series:
    """A text column for a pandas frame (pyarrow-backed, no copy)."""
    return pd.Series(values, dtype="str")


class _Population:
    """Real FOLK1A figures for 2020K1 and 2023K1; other K1 quarters extrapolated (synthetic)."""

    def __init__(self) -> None:
        ref = pd.read_csv(REFERENCE / "folketal_midtjylland.csv", sep=";", encoding="utf-8-sig")
        wide = ref.pivot(index="OMRÅDE", columns="TID", values="INDHOLD")
        self.names = list(wide.index)
        self.p2020 = wide["2020K1"].to_numpy(dtype=float)
        self.p2023 = wide["2023K1"].to_numpy(dtype=float)

    def quarter(self, year: int) -> np.ndarray:
        if year == 2020:
            return self.p2020
        if year == 2023:
            return self.p2023
        rate = (self.p2023 / self.p2020) ** (1 / 3)
        return np.round(self.p2020 * rate ** (year - 2020))

    def of(self, code: int) -> float:
        """The 2023K1 figure of municipality ``code``."""
        name = next(m.name for m in municipalities() if m.code == code)
        return float(self.p2023[self.names.index(name)])

    def extend(self, hubs: Sequence[HubPlan]) -> None:
        """Add every hub municipality outside Region Midtjylland, with SYNTHETIC figures:
        each hub's total is Midtjylland's real one times the hub's share of the framework's
        2024 distribution (which "follows the population"), split over its municipalities by
        the made-up SYNTHETIC_WEIGHTS (1 where a code has none); the growth from 2020 to 2023
        is Midtjylland's."""
        total_2023, total_2020 = self.p2023.sum(), self.p2020.sum()
        names = {m.code: m.name for m in municipalities()}
        for hub in hubs:
            codes = [c for c in hub.municipalities if names[c] not in self.names]
            if not codes:
                continue
            weights = np.array([SYNTHETIC_WEIGHTS.get(c, 1) for c in codes], dtype=float)
            p2023 = np.round(total_2023 * hub.ratio * weights / weights.sum())
            self.names += [names[c] for c in codes]
            self.p2023 = np.concatenate([self.p2023, p2023])
            self.p2020 = np.concatenate([self.p2020, np.round(p2023 * total_2020 / total_2023)])


@contextmanager
def _reporting(progress: bool | Callable[[str], None] | None, total: int) -> Iterator[Report]:
    """Where the writer's notes go: a progress bar or plain lines (True), a callback that
    takes each note, or nowhere."""
    if progress is True:
        with shown(total, "generating", unit="file") as bar:
            yield bar.update
    elif callable(progress):
        callback = progress
        yield lambda n, note: callback(note)
    else:
        yield lambda n, note: None


@dataclass(frozen=True)
class HubPlan:
    """One erhvervshus of the six-hub inbox: its organisation folder and name, its contract,
    its municipalities (the contract's budget key), its volume relative to Midtjylland's
    (its 2024 figure in the framework's Mål 2 distribution over Midtjylland's 275), and its
    case ids' prefix and office."""

    slug: str
    name: str
    contract: str
    municipalities: tuple[int, ...]
    ratio: float
    prefix: str
    office: str


def hub_plans() -> list[HubPlan]:
    """The six hubs, in the framework's order, from the framework agreement
    (``contracts/national/``) and each hub's contract: KKR Midtjylland's and the generated
    examples (``contracts/examples/``, loaded whatever the environment says)."""
    frameworks = load_frameworks()
    if not frameworks:
        raise ValueError("no framework agreement (contracts/national/): no hubs to generate")
    framework = frameworks[-1]
    baseline = framework.measure("M2").collective
    if baseline is None:
        raise ValueError(f"{framework.id}: M2 has no distribution over the hubs")
    contracts = load_contract_folder(examples=True).contracts.values()
    plans = []
    for hub in framework.hubs:
        mine = [
            c
            for c in contracts
            if c.organisation.slug == hub.slug and (not hub.contracts or c.id in hub.contracts)
        ]
        contract = min(mine, key=lambda c: c.period.first) if mine else None
        if contract is None or not isinstance(contract.budget, PopulationKeyBudget):
            raise ValueError(f"no contract with a population key for {hub.slug}")
        prefix, office = HUB_PREFIX.get(hub.slug, (hub.slug.upper()[:6], ""))
        plans.append(
            HubPlan(
                slug=hub.slug,
                name=contract.organisation.name,
                contract=contract.id,
                municipalities=tuple(contract.budget.municipalities),
                ratio=baseline.baseline[hub.slug] / baseline.baseline[EHMJ],
                prefix=prefix,
                office=office,
            )
        )
    return plans


def generate_inbox(
    out: Path,
    years: Sequence[int],
    scale: float = 1.0,
    seed: int = 20260101,
    progress: bool | Callable[[str], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    hubs: bool = False,
) -> dict[str, Any]:
    """Write a complete sample inbox under ``out`` and return the manifest (also written
    to ``out/manifest.json``).

    ``progress``: True shows progress on stderr (:mod:`resultatrapport.progress`); a
    callable receives each progress note instead. ``chunk_rows``: rows made and written at a
    time in the big tables; it bounds memory and does not change a byte of the output.
    ``hubs``: the inbox of all six erhvervshuse (the module's docstring), not only
    Midtjylland's.
    """
    years = sorted(set(int(y) for y in years))
    if not years:
        raise ValueError("no years")
    plans = hub_plans() if hubs else None
    per_year = 5 + (2 * (len(plans) - 1) if plans else 0)
    n_files = 3 + per_year * len(years) + len([y for y in years if y not in NO_AWARENESS_SURVEY])
    with _reporting(progress, n_files) as report:
        return _generate(Path(out), years, scale, seed, report, max(1, int(chunk_rows)), plans)


@dataclass
class _Planted:
    """What the generator planted, for the manifest: bad rows and the personal data written."""

    bad: list[dict[str, Any]] = field(default_factory=list)
    cprs: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def rows(self, relpath: str, rows: Iterable[Any], kind: str) -> None:
        """Bad rows of ``relpath`` at data rows ``rows`` (0 = the line below the header)."""
        self.bad += [{"file": relpath, "line": int(r) + 2, "kind": kind} for r in rows]


@dataclass
class _Firms:
    """The simulated firms, one array position per firm."""

    cvr: np.ndarray
    mun: np.ndarray  # municipality code
    ind: np.ndarray  # position in INDUSTRIES
    industry_number: np.ndarray  # Branchekode: the industry and this
    start_day: np.ndarray  # days since 1970-01-01
    end_day: np.ndarray  # days since 1970-01-01, -1 for firms that have not ceased
    ceased: np.ndarray
    start_year: np.ndarray
    end_year: np.ndarray  # 9999 for firms that have not ceased

    @property
    def n(self) -> int:
        return int(self.cvr.size)

    def alive(self, year: int) -> np.ndarray:
        return (self.start_year <= year) & (self.end_year >= year)


def _generate(
    out: Path,
    years: list[int],
    scale: float,
    seed: int,
    report: Report,
    chunk_rows: int,
    hubs: list[HubPlan] | None = None,
) -> dict[str, Any]:
    """Every source in turn, from one random generator: the order of the draws is the
    order of the calls below, so it must not change (the same seed gives the same bytes).
    ``hubs``: the six-hub inbox (its own order of draws; without it, Midtjylland's inbox as
    it always was)."""
    rng = np.random.default_rng(seed)
    w = InboxWriter(out, report, chunk_rows)
    planted = _Planted()
    first, last = years[0], years[-1]
    panel_years = list(range(first - 3, last + 1))  # three years of history before the first
    pop = _Population()
    if hubs:
        pop.extend(hubs)

    volume = sum(h.ratio for h in hubs) if hubs else 1.0  # the firms: one region's or six
    n = max(200, round(60_000 * scale * volume))
    report(0, f"simulating {n:,} firms over {len(panel_years)} years")
    firms = _simulate_firms(rng, n, first, last, pop, hubs)
    panel, attraction = _simulate_panel(rng, firms, panel_years, chunk_rows)
    hub_of = _hub_of(firms, hubs) if hubs else None
    if hubs is not None and hub_of is not None:
        segment_growth, guided_year = _guide_hubs(
            rng, firms, attraction, years, scale, hubs, hub_of
        )
    else:
        segment_growth, guided_year = _guide(rng, firms, attraction, years, scale)
    del attraction
    plans = hubs or [HubPlan(EHMJ, "Erhvervshus Midtjylland", "", (), 1.0, "EHMJ", "Århus")]
    cases_by_hub = {
        h.slug: {
            year: _cases(
                rng, firms, guided_year, segment_growth, year, last,
                among=None if hub_of is None else hub_of == i,
            )
            for year in years
        }
        for i, h in enumerate(plans)
    }  # fmt: skip
    cases_by_year = {
        year: pd.concat([c[year] for c in cases_by_hub.values()], ignore_index=True)
        for year in years
    }
    effects = _plant_effect(panel, firms, cases_by_year, guided_year, years)

    firm_name = _write_cvr_firms(w, rng, planted, firms, chunk_rows)
    _write_financials(w, rng, firms, panel, years, report)
    del panel
    _write_population(w, pop, years)
    _write_price_index(w, years)
    for year in years:
        if year not in NO_AWARENESS_SURVEY:
            _write_awareness(w, rng, year, scale, chunk_rows)
    written: dict[str, dict[int, int]] = {h.slug: {} for h in plans}
    for year in years:
        for hub in plans:
            cases, ids = _write_hub_crm(
                w, rng, planted, year, cases_by_hub[hub.slug][year], firms, firm_name, hub
            )
            # the six-hub inbox at a tiny scale: at least 75 answers, so that the 3 bad rows
            # planted stay under the 5 % a delivery may lose (a smaller hub's would be refused)
            least = 75 if hubs else 20
            _write_survey(w, rng, planted, year, scale, cases, ids, firms.cvr, hub, least)
            written[hub.slug][year] = len(cases)
    for i, year in enumerate(years):
        _write_ver_crm(w, rng, planted, year, firms, firm_name, scale)
        _write_time_registration(w, rng, planted, year, i)

    synthetic: dict[str, str] = {
        "real": "register/folketal.csv: the 2020K1 and 2023K1 figures of the 19 municipalities (Statistics Denmark FOLK1A, shared/reference)",
        "synthetic": "register/folketal.csv: every other quarter, extrapolated from the 2020-2023 growth; all firms, cases, answers and financial figures",
        "illustrative": "register/prisindeks.csv: the KL price index values are illustrative, not KL's published index",
    }
    if hubs:
        synthetic["synthetic_population"] = (
            "register/folketal.csv: every figure of the 79 municipalities outside Region "
            "Midtjylland (shared/reference has none): each hub's total is Midtjylland's times "
            "its share of the framework's 2024 distribution, split by made-up weights"
        )
    manifest: dict[str, Any] = {
        "seed": seed,
        "scale": scale,
        "years": years,
        "files": w.files,
        # the report owner's texts (Markdown, not a table): every declared section
        "texts": write_texts(
            out, years, seed, list(load_contract_folder(examples=bool(hubs)).contracts.values())
        ),
        "bad_rows": sorted(planted.bad, key=lambda b: (b["file"], b["line"], b["kind"])),
        "personal_data": {"cpr": sorted(planted.cprs), "emails": sorted(planted.emails)},
        "effects": effects,
        "synthetic": synthetic,
    }
    if hubs:
        manifest["hubs"] = {
            h.slug: {
                "contract": h.contract,
                "name": h.name,
                "municipalities": len(h.municipalities),
                "ratio": round(h.ratio, 6),
                "cases": {str(y): m for y, m in written[h.slug].items()},
            }
            for h in hubs
        }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def _hub_of(firms: _Firms, hubs: list[HubPlan]) -> np.ndarray:
    """Each firm's hub, as its position in ``hubs`` (-1: none of them)."""
    lookup = np.full(1000, -1, dtype=np.int8)
    for i, hub in enumerate(hubs):
        lookup[list(hub.municipalities)] = i
    return lookup[firms.mun]


# --- firms -------------------------------------------------------------------------------


def _simulate_firms(
    rng: np.random.Generator,
    n: int,
    first: int,
    last: int,
    pop: _Population,
    hubs: list[HubPlan] | None = None,
) -> _Firms:
    """``n`` firms: CVR numbers, municipalities (mostly Midtjylland, by population; with
    ``hubs``, every hub's municipalities by population), industries, start days (some during
    the period) and end days (a few cease)."""
    cvr = _sorted_unique(rng.integers(10_000_000, 100_000_000, int(n * 1.05)))
    cvr = rng.permutation(cvr)[:n].astype(np.int64)
    if hubs:
        home_codes = np.array(sorted(c for h in hubs for c in h.municipalities))
        weights = np.array([pop.of(int(c)) for c in home_codes])
        inside = 1.0
    else:
        midt = sorted(
            (m for m in municipalities() if m.region_code == MIDTJYLLAND), key=lambda m: m.name
        )
        home_codes = np.array([m.code for m in midt])
        weights = np.array([pop.p2023[pop.names.index(m.name)] for m in midt])
        inside = 0.98
    others = np.array([m.code for m in municipalities() if m.code not in set(home_codes)])
    mun = np.where(
        rng.random(n) < inside,
        rng.choice(home_codes, size=n, p=weights / weights.sum()),
        rng.choice(others if others.size else home_codes, size=n),
    ).astype(np.int16)
    ind = rng.choice(len(INDUSTRIES), size=n).astype(np.int8)  # the draws of choosing a code
    industry_number = rng.integers(1000, 10000, n).astype(np.int16)  # Branchekode: ind + this
    age_at_first = np.minimum(rng.exponential(11, n), 60)
    start_day = (_days(first) - age_at_first * 365.25).astype(int) + rng.integers(0, 365, n)
    del age_at_first
    # some firms start during the period (new firms: young at guidance)
    newcomers = rng.random(n) < 0.12
    start_day = np.where(
        newcomers, rng.integers(_days(first - 3), _days(last, 12, 1), n), start_day
    )
    del newcomers
    ceased = rng.random(n) < 0.06
    end_day = np.where(ceased, rng.integers(_days(first - 2), _days(last + 2), n), -1)
    end_day = np.where(ceased & (end_day <= start_day), start_day + 400, end_day)
    return _Firms(
        cvr=cvr,
        mun=mun,
        ind=ind,
        industry_number=industry_number,
        start_day=start_day.astype(np.int32),
        end_day=end_day.astype(np.int32),
        ceased=ceased,
        start_year=_year(start_day).astype(np.int16),
        end_year=np.where(ceased, _year(np.maximum(end_day, 0)), 9999).astype(np.int16),
    )


def _simulate_panel(
    rng: np.random.Generator, firms: _Firms, panel_years: list[int], chunk_rows: int
) -> tuple[_Panel, np.ndarray]:
    """The financial panel, as it would be without guidance (see _Panel), and how strongly
    guidance is drawn to each firm: selection on what the matching observes, fast-growing
    industries and larger firms. Not on the firm's own recent growth: later cohorts'
    selection would then depend on growth inside this cohort's outcome window."""
    n = firms.n
    fte0 = np.round(np.exp(rng.normal(1.6, 1.1, n)), 1) + 0.5
    ind_drift = np.array([rng.normal(3.0, 2.5) for _ in INDUSTRIES])  # one draw per industry
    drift = ind_drift[firms.ind]
    mu = drift - 0.6 * np.log(fte0)  # small firms grow faster
    T = len(panel_years)
    growth = np.empty((T, n))
    growth[0] = mu + rng.normal(0, 8, n)
    for t in range(1, T):  # AR(1) growth: growth before guidance persists after it
        growth[t] = mu + 0.5 * (growth[t - 1] - mu) + rng.normal(0, 8, n)
    del mu
    turnover = np.empty((T, n))
    turnover[0] = fte0 * np.exp(rng.normal(6.8, 0.5, n))  # 1,000 kr.
    for t in range(1, T):
        turnover[t] = turnover[t - 1] * (1 + growth[t] / 100)
    fte = _full_time_equivalents(rng, growth, fte0, chunk_rows)
    del growth
    margin = np.clip(rng.normal(0.32, 0.08, n), -0.2, 0.8)
    panel = _Panel(panel_years, turnover, fte, margin, _Noise(rng, n, T, 0.02, chunk_rows))
    attraction = np.exp(np.clip(1.5 * (drift - 3.0) + 0.35 * np.log(fte0), -20, 20))
    return panel, attraction


def _full_time_equivalents(
    rng: np.random.Generator, growth: np.ndarray, fte0: np.ndarray, chunk_rows: int
) -> np.ndarray:
    """Employment grows with half the turnover growth plus noise drawn as one (firm, year)
    block, here a block of firms at a time; the full-time equivalents replace ``growth``
    (which is returned, overwritten)."""
    T, n = growth.shape
    fte = growth
    for lo, hi in blocks(n, chunk_rows):
        emp_growth = 0.5 * growth[:, lo:hi] + rng.normal(0, 4, (hi - lo, T)).T
        fte[0, lo:hi] = fte0[lo:hi]
        for t in range(1, T):
            fte[t, lo:hi] = np.maximum(fte[t - 1, lo:hi] * (1 + emp_growth[t] / 100), 0.2)
        del emp_growth
    return fte


def _guide(
    rng: np.random.Generator,
    firms: _Firms,
    attraction: np.ndarray,
    years: list[int],
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Guidance episodes: each firm guided in at most one year, selected by ``attraction``.
    Returns each firm's segment (True: Vækst, else Drift) and guided year (-1: never)."""
    n = firms.n
    segment_growth = rng.random(n) < 0.45
    guided_year = np.full(n, -1, dtype=np.int16)
    free = np.ones(n, dtype=bool)
    per_year_firms = round(4_400 * scale)
    for year in years:
        eligible = free & firms.alive(year)
        score = attraction * eligible
        if score.sum() == 0:
            continue
        k = min(per_year_firms, int(eligible.sum()))
        chosen = rng.choice(n, size=k, replace=False, p=score / score.sum())
        guided_year[chosen] = year
        free[chosen] = False
    return segment_growth, guided_year


def _guide_hubs(
    rng: np.random.Generator,
    firms: _Firms,
    attraction: np.ndarray,
    years: list[int],
    scale: float,
    hubs: list[HubPlan],
    hub_of: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`_guide`, each hub choosing among its own municipalities' firms, as many a
    year as its share of the framework's distribution gives."""
    n = firms.n
    segment_growth = rng.random(n) < 0.45
    guided_year = np.full(n, -1, dtype=np.int16)
    free = np.ones(n, dtype=bool)
    for year in years:
        alive = firms.alive(year)
        for i, hub in enumerate(hubs):
            eligible = free & alive & (hub_of == i)
            score = attraction * eligible
            if score.sum() == 0:
                continue
            k = min(round(4_400 * scale * hub.ratio), int(eligible.sum()))
            chosen = rng.choice(n, size=k, replace=False, p=score / score.sum())
            guided_year[chosen] = year
            free[chosen] = False
    return segment_growth, guided_year


def _cases(
    rng: np.random.Generator,
    firms: _Firms,
    guided_year: np.ndarray,
    segment_growth: np.ndarray,
    year: int,
    last: int,
    among: np.ndarray | None = None,
) -> pd.DataFrame:
    """The guidance cases of ``year``'s guided firms (some firms have two), with start and
    end days (-1: still open), segment, form of guidance and case type; ``among``: of these
    firms only (a hub's)."""
    chosen = np.flatnonzero(
        (guided_year == year) if among is None else (guided_year == year) & among
    )
    repeat = 1 + (rng.random(chosen.size) < 0.25).astype(int)  # some firms: two cases
    idx = np.repeat(chosen, repeat)
    m = idx.size
    founders = rng.random(m) < 0.05
    start = rng.integers(_days(year), _days(year, 12, 31) + 1, m)
    start = np.maximum(start, np.minimum(firms.start_day[idx], _days(year, 12, 31)))
    duration = rng.integers(20, 200, m)
    end = np.minimum(start + duration, _days(year, 12, 31))  # most end within the year
    late = rng.random(m) < 0.12
    end = np.where(late, start + duration + 150, end)
    open_case = rng.random(m) < (0.3 if year == last else 0.03)
    individual = rng.random(m) < 0.75
    case_type = np.where(
        individual,
        rng.choice(3, size=m, p=[0.40, 0.43, 0.17]),  # the draws of choosing a type
        CASE_TYPES.index("Kollektivt forløb"),
    )
    return pd.DataFrame(
        {
            "firm": idx,
            "founder": founders,
            "start": start,
            "end": np.where(open_case, -1, end),
            "growth": segment_growth[idx],  # segment Vækst (else Drift)
            "individual": individual,  # Vejledningsform Individuel (else Kollektiv)
            "case_type": case_type.astype(np.int8),  # position in CASE_TYPES
        }
    )


def _plant_effect(
    panel: _Panel,
    firms: _Firms,
    cases_by_year: dict[int, pd.DataFrame],
    guided_year: np.ndarray,
    years: list[int],
) -> dict[str, Any]:
    """Plant the effect, once per firm, at the end of its guidance; return the manifest's
    ``effects``: the planted effect and, per cohort, the naive difference."""
    # each firm's earliest ended case (a firm's cases share its year and segment)
    end_year_of_firm = np.full(firms.n, -1, dtype=np.int16)
    growth_segment = np.zeros(firms.n, dtype=bool)  # that case's segment: Vækst (else Drift)
    for cases in cases_by_year.values():
        real = cases[~cases["founder"] & (cases["end"] >= 0)]
        order = np.argsort(_year(real["end"].to_numpy()), kind="stable")
        firm = real["firm"].to_numpy()[order]
        unique, at = np.unique(firm, return_index=True)  # the first: the earliest end
        end_year_of_firm[unique] = _year(real["end"].to_numpy()[order][at])
        growth_segment[unique] = real["growth"].to_numpy()[order][at]
    panel.plant(end_year_of_firm, growth_segment)
    return {
        "definition": (
            "Firms whose case (segment Vækst/Drift) ended in year E; baseline B = E-1, outcome "
            "year E+2; growth in percent from B to E+2. Planted on top of what the firm would "
            "otherwise have had, from E on."
        ),
        "tau_turnover_pp": TAU_TURNOVER,
        "tau_employment_pp": TAU_EMPLOYMENT,
        "tau_productivity_pp": TAU_PRODUCTIVITY,
        "cohorts": _naive_differences(
            panel, firms, guided_year, end_year_of_firm, growth_segment, years
        ),
    }


def _naive_differences(
    panel: _Panel,
    firms: _Firms,
    guided_year: np.ndarray,
    end_year_of_firm: np.ndarray,
    growth_segment: np.ndarray,
    years: list[int],
) -> dict[str, Any]:
    """Naive vs planted, per cohort, as a plain comparison would see it."""
    first, last = years[0], years[-1]
    everyone = np.arange(firms.n)
    cohorts: dict[str, Any] = {}
    for e in years:
        b, r = e - 1, e + 2
        if b - 2 < first or r > last:  # the pipeline needs financial files for B-2, B and R
            continue
        ok = firms.alive(b - 2) & firms.alive(r)
        g_t = 100 * (panel.turnover_in(r, everyone) / panel.turnover_in(b, everyone) - 1)
        cohort = ok & (end_year_of_firm == e) & growth_segment
        window = (guided_year >= b - 2) & (guided_year <= r)
        controls = ok & ~window
        cohorts[str(r)] = {
            "report_year": r,
            "cohort_end_year": e,
            "baseline_year": b,
            "treated_growth_firms": int(cohort.sum()),
            "controls": int(controls.sum()),
            "naive_turnover_difference_pp": float(g_t[cohort].mean() - g_t[controls].mean())
            if cohort.any() and controls.any()
            else None,
            "planted_turnover_pp": TAU_TURNOVER,
        }
        del g_t
    return cohorts


# --- registers ---------------------------------------------------------------------------


def _write_cvr_firms(
    w: InboxWriter, rng: np.random.Generator, planted: _Planted, firms: _Firms, chunk_rows: int
) -> np.ndarray:
    """The CVR extract, with planted seven-digit CVR numbers and unknown municipalities;
    returns the firms' names (positions in FIRM_NAMES), which the CRM files use too."""
    n, cvr = firms.n, firms.cvr
    firm_name = _names(rng, n) * len(LEGAL_FORMS) + rng.integers(0, len(LEGAL_FORMS), n)
    firm_name = firm_name.astype(np.int16)  # a position in FIRM_NAMES
    legal_form = rng.integers(0, len(LEGAL_FORMS), n).astype(np.int8)
    relpath = FORMATS["cvr_firms"].path
    k = max(2, n // 400)
    rows = rng.choice(n, size=2 * k, replace=False)
    # planted: seven digits (the number without its last digit); two firms whose numbers
    # differ only there would become a duplicate, which at scale 100 (15,000 planted among 6
    # million) happens, so only the first of such firms is planted
    short_rows = rows[:k][np.sort(np.unique(cvr[rows[:k]] // 10, return_index=True)[1])]
    short_cvr = np.zeros(n, dtype=bool)
    short_cvr[short_rows] = True
    unknown_mun = np.zeros(n, dtype=bool)  # planted: municipality 999
    unknown_mun[rows[k:]] = True
    planted.rows(relpath, short_rows, "malformed_cvr")
    planted.rows(relpath, rows[k:], "unknown_municipality")

    def cvr_chunks() -> Iterator[list[pa.Array]]:
        for lo, hi in blocks(n, chunk_rows):
            s = slice(lo, hi)
            yield [
                ints(np.where(short_cvr[s], cvr[s] // 10, cvr[s])),
                take(FIRM_NAMES, firm_name[s]),
                dates(firms.start_day[s], "%Y-%m-%d"),
                dates(firms.end_day[s], "%Y-%m-%d", missing=~firms.ceased[s]),
                ints(np.where(unknown_mun[s], 999, firms.mun[s])),
                join(take(INDUSTRIES, firms.ind[s]), ints(firms.industry_number[s])),
                take(LEGAL_FORMS, legal_form[s]),
            ]

    w.csv_chunks(relpath, FORMATS["cvr_firms"].headers, cvr_chunks(), "utf-8-sig", "\r\n",
                 trailing=2, rows=n)  # fmt: skip
    return firm_name


def _write_financials(
    w: InboxWriter,
    rng: np.random.Generator,
    firms: _Firms,
    panel: _Panel,
    years: list[int],
    report: Report,
) -> None:
    """The financial register: a file a year of the living firms (a few figures not
    reported), written side by side, so that gross profit's noise is drawn again once for
    all of them, block by block."""
    live = {year: firms.alive(year) for year in years}
    not_reported = {}
    for year in years:
        count = int(live[year].sum())
        not_reported[year] = (rng.random(count) < 0.03, rng.random(count) < 0.02)
    done = dict.fromkeys(years, 0)
    with ExitStack() as stack:
        files = {
            year: stack.enter_context(
                w.open_csv(
                    FORMATS["financials"].relpath(year),
                    FORMATS["financials"].headers,
                    "utf-8-sig" if i % 2 else "utf-8",
                    "\n" if i % 2 else "\r\n",
                    trailing=i % 2,
                )
            )
            for i, year in enumerate(years)
        }
        for lo, hi, noise in panel.gross_noise:
            for year in years:
                rows = lo + np.flatnonzero(live[year][lo:hi])
                these = slice(done[year], done[year] + rows.size)  # of the year's live firms
                done[year] += rows.size
                turnover_values = panel.turnover_in(year, rows)
                turnover_values[not_reported[year][0][these]] = np.nan
                gross_values = panel.gross_in(year, rows, noise, lo)
                gross_values[not_reported[year][1][these]] = np.nan
                files[year].write(
                    [
                        ints(firms.cvr[rows]),
                        text(str(year), rows.size),
                        comma(turnover_values, 1),
                        comma(gross_values, 1),
                        comma(np.round(panel.fte_in(year, rows), 1), 1),
                    ]
                )
            if hi < firms.n:
                report(0, f"financial register, {len(years)} years: {hi:,}/{firms.n:,} firms")
        for out_file in files.values():  # in year order (the stack would close them backwards)
            out_file.close()


def _write_population(w: InboxWriter, pop: _Population, years: list[int]) -> None:
    """Population by municipality, the first quarter of each year the pipeline may read."""
    pop_rows = []
    for year in sorted(set(years) | {2020, 2023, years[0] - 1}):
        values = pop.quarter(year)
        pop_rows.append(
            pd.DataFrame({"OMRÅDE": pop.names, "TID": f"{year}K1", "INDHOLD": values.astype(int)})
        )
    w.csv_frame(FORMATS["population"].path, pd.concat(pop_rows, ignore_index=True), "utf-8-sig",
                "\r\n")  # fmt: skip


def _write_price_index(w: InboxWriter, years: list[int]) -> None:
    """The (illustrative) KL price index of every year, 2020 = 100."""
    index_years = sorted(set(years) | {2020})
    index_values = np.array([PRICE_INDEX.get(y, 100 + 2.5 * (y - 2020)) for y in index_years])
    w.csv(FORMATS["price_index"].path, FORMATS["price_index"].headers,
          [np.array(index_years), comma(index_values, 1)], "cp1252", "\r\n", trailing=1)  # fmt: skip


def _write_awareness(
    w: InboxWriter, rng: np.random.Generator, year: int, scale: float, chunk_rows: int
) -> None:
    """The year's awareness survey: respondents by hub, weighted."""
    m = max(60, round(6_000 * scale))
    hub = rng.choice(len(HUBS), size=m)  # the draws of choosing a hub
    share = np.where(hub == HUBS.index("Midtjylland"), 0.55, rng.uniform(0.4, 0.6, m))
    knows = rng.random(m) < share
    offers = np.where(knows, np.where(rng.random(m) < 0.6, 1, 2), 0)  # '', Ja, Nej
    weight = np.exp(rng.normal(0, 0.4, m))
    w.csv_chunks(
        FORMATS["awareness"].relpath(year),
        FORMATS["awareness"].headers,
        _awareness_chunks(year, hub, weight, knows, offers, chunk_rows),
        "utf-8-sig",
        "\r\n",
        rows=m,
    )


# --- the erhvervshuse: CRM and user evaluation ---------------------------------------------


def _write_hub_crm(
    w: InboxWriter,
    rng: np.random.Generator,
    planted: _Planted,
    year: int,
    cases: pd.DataFrame,
    firms: _Firms,
    firm_name: np.ndarray,
    hub: HubPlan,
) -> tuple[pd.DataFrame, pa.Array]:
    """The year's CRM extract of an erhvervshus (Erhvervshus Midtjylland's, or another's in
    the six-hub inbox), with contact persons' e-mails, a few CPR numbers in the notes and the
    planted bad rows. Returns the cases in the file's order and their case ids (as the survey
    system knows them: before duplicates)."""
    cases = cases.sort_values("start", kind="stable").reset_index(drop=True)
    m = len(cases)
    firm = cases["firm"].to_numpy()
    start, end = cases["start"].to_numpy(), cases["end"].to_numpy()
    cvr_text = blank(ints(firms.cvr[firm]), cases["founder"].to_numpy())  # founders: no CVR yet
    ids = join(f"{hub.prefix}-{year}-", zero_padded(np.arange(1, m + 1), 5))
    contact = _names(rng, m)
    emails = _emails(contact, rng)
    refs = _referrals(rng, m, hub.name)
    notes = take(["Opfølgning aftalt", f"Møde afholdt på kontoret i {hub.office}"],
                 rng.random(m) >= 0.5)  # fmt: skip
    cpr_rows = np.flatnonzero(rng.random(m) < 0.02)
    cprs = _cprs(rng, cpr_rows.size)
    notes = _put(notes, cpr_rows, join("Ejer oplyste CPR ", cprs, " ved første møde"))
    planted.cprs.update(cprs.to_pylist())
    planted.emails.update(emails.to_pylist())
    frame = pd.DataFrame(
        {
            "Forløbs-ID": _str(ids),
            "CVR-nummer": _str(cvr_text.fill_null("")),
            "Virksomhedsnavn": _str(take(FIRM_NAMES, firm_name[firm])),
            "Kommunenr": _str(ints(firms.mun[firm])),
            "Startdato": _str(dates(start, "%d-%m-%Y")),
            "Slutdato": _str(dates(np.maximum(end, 0), "%d-%m-%Y", missing=end < 0)),
            "Vejledningsform": _str(take(["Kollektiv", "Individuel"], cases["individual"])),
            "Segment": _str(take(["Drift", "Vækst"], cases["growth"])),
            "Forløbstype": _str(take(CASE_TYPES, cases["case_type"])),
            "Fokusområde": rng.choice(EHMJ_AREAS, size=m),
            "Henvisninger": _str(refs),
            "Timer": _str(comma(np.round(rng.gamma(2.0, 6.0, m), 1), 1)),
            "Kontaktperson": _str(take(PERSON_NAMES, contact)),
            "Kontakt-e-mail": _str(emails),
            "Konsulent": _str(take(PERSON_NAMES, _names(rng, m))),
            "Note": _str(notes),
        }
    )
    relpath = FORMATS["crm_cases"].relpath(year, hub.slug)
    duplicates = (hub.slug, year) == DUPLICATE_FILE
    planted.bad += _plant_crm(frame, rng, relpath, year, duplicates=duplicates)
    w.csv_frame(relpath, frame, "utf-8-sig", "\r\n", trailing=1 if year % 2 else 0)
    return cases, ids


def _referrals(rng: np.random.Generator, m: int, own: str) -> pa.Array:
    """None, one or two different referral targets (``own`` hub among them), in random
    order, '|'-separated."""
    referral_targets = [own, *REFERRAL_TARGETS]
    n_ref = rng.integers(0, 3, m)
    ref1 = rng.integers(0, len(referral_targets), m)
    ref2 = rng.integers(0, len(referral_targets) - 1, m)
    ref2 = ref2 + (ref2 >= ref1)
    one = take(referral_targets, ref1)
    two = join(one, take(referral_targets, ref2), sep="|")
    return pc.if_else(pa.array(n_ref == 0), "", pc.if_else(pa.array(n_ref == 1), one, two))


def _write_survey(
    w: InboxWriter,
    rng: np.random.Generator,
    planted: _Planted,
    year: int,
    scale: float,
    cases: pd.DataFrame,
    ids: pa.Array,
    cvr: np.ndarray,
    hub: HubPlan,
    least: int = 20,
) -> None:
    """The user evaluation of a hub: answers about the year's cases (``cases`` in the CRM
    file's order, ``ids`` their case ids), as many as the hub's volume gives but at least
    ``least`` (where the cases allow), with a few bad cells and personal data in comments."""
    m = len(cases)
    k = min(max(least, round(1_500 * scale * hub.ratio)), m)
    pick = np.sort(rng.choice(m, size=k, replace=False))
    seg = _str(take(["Drift", "Vækst"], cases["growth"])).to_numpy()[pick]  # as in the CRM
    nps = _nps(rng, k)
    referred = rng.random(k) < 0.45
    used = np.where(referred, rng.choice(JA_NEJ_VED_IKKE, size=k, p=[0.6, 0.3, 0.1]), "")
    sust = rng.random(k) < 0.3
    better = np.where(
        sust,
        rng.choice(
            DEGREES,
            size=k,
            p=[0.72, 0.18, 0.05, 0.02, 0.03],
        ),
        "",
    )
    start = cases["start"].to_numpy()
    answered = np.minimum(start[pick] + rng.integers(10, 120, k), _days(year, 12, 31))
    comments = _survey_comments(rng, planted, k)
    relpath = FORMATS["survey_answers"].relpath(year, hub.slug)
    rows = rng.choice(k, size=3 * max(1, k // 300), replace=False)
    j = rows.size // 3  # nps out of range, malformed CVR, date outside the year: 1 % in all
    founder, firm = cases["founder"].to_numpy(), cases["firm"].to_numpy()
    survey = [
        Cells.texts(join(f"R{year}-", zero_padded(np.arange(1, k + 1), 5))),
        Cells.texts(ids.take(pa.array(pick))),
        Cells.numbers(np.where(founder[pick], np.nan, cvr[firm[pick]])).put(
            rows[j : 2 * j], TEXT, "1234567"
        ),
        Cells.dates(answered).put(rows[2 * j :], DATE, str(_days(year - 1, 12, 15) + EXCEL_1970)),
        Cells.texts(seg),
        Cells.numbers(nps).put(rows[:j][0::2], NUMBER, "11").put(rows[:j][1::2], NUMBER, "7.5"),
        Cells.texts(np.where(referred, YES, NO)),
        Cells.texts(used),
        Cells.texts(np.where(sust, YES, NO)),
        Cells.texts(better),
        Cells.texts(comments),
    ]
    planted.rows(relpath, rows[:j], "nps_out_of_range")
    planted.rows(relpath, rows[j : 2 * j], "malformed_cvr")
    planted.rows(relpath, rows[2 * j :], "date_outside_year")
    w.xlsx(relpath, "Besvarelser", FORMATS["survey_answers"].headers, survey)


def _nps(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` answers on the 0-10 recommendation scale, mostly promoters, a few missing."""
    u = rng.random(k)
    nps = np.where(
        u < 0.76,
        rng.integers(9, 11, k),
        np.where(u < 0.955, rng.integers(7, 9, k), rng.integers(0, 7, k)),
    ).astype(float)
    nps[rng.random(k) < 0.03] = np.nan
    return nps


def _survey_comments(rng: np.random.Generator, planted: _Planted, k: int) -> pa.Array:
    """``k`` free-text comments: most empty, a few thanks, 2 % with a name, e-mail and CPR."""
    comments = take(["", "Tak for hjælpen"], rng.random(k) < 0.1)
    c_rows = np.flatnonzero(rng.random(k) < 0.02)
    c_cpr = _cprs(rng, c_rows.size)
    c_names = _names(rng, c_rows.size)
    c_mail = _emails(c_names, rng)
    planted.cprs.update(c_cpr.to_pylist())
    planted.emails.update(c_mail.to_pylist())
    return _put(comments, c_rows, join("Kontakt ", take(PERSON_NAMES, c_names), " (",
                                       c_mail, "), cpr ", c_cpr))  # fmt: skip


def revise_survey(path: Path, seed: int = 1, share: float = 0.05) -> int:
    """A later delivery of a user evaluation this generator wrote (:func:`_write_survey`):
    the same answers, with ``share`` of the recommendations (0-10) answered again, drawn as
    the first delivery's were (a few now missing), and written by the same writer in place of
    the file. Deterministic for a seed; returns how many answers changed (at least one). The
    benchmark's "one delivery changed" (the manifest still describes the first delivery)."""
    headers, columns = read_xlsx(path)
    at = headers.index("Anbefaling (0-10)")
    before = columns[at]
    value = np.array(before.value.to_pylist(), dtype=object)
    valid = np.flatnonzero((before.kind == NUMBER) & np.isin(value, [str(v) for v in range(11)]))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(valid, size=max(1, round(share * valid.size)), replace=False))
    nps = _nps(rng, rows.size)
    kind = before.kind.copy()
    kind[rows] = np.where(np.isnan(nps), OMIT, NUMBER)
    value[rows] = [None if np.isnan(v) else str(int(v)) for v in nps]
    changed = (kind != before.kind) | (value != np.array(before.value.to_pylist(), dtype=object))
    if not changed.any():  # every answer drawn again as it was: one answered otherwise
        first = rows[0]
        kind[first], value[first] = NUMBER, "9" if value[first] == "10" else "10"
        changed[first] = True
    columns[at] = Cells(kind, pa.array(value.tolist(), pa.string()))
    sheet = FORMATS["survey_answers"].sheet or "Besvarelser"
    InboxWriter(path.parent).xlsx(path.name, sheet, headers, columns)
    return int(changed.sum())


# --- Viborgegnens Erhvervsråd: CRM and time registration ---------------------------------


def _write_ver_crm(
    w: InboxWriter,
    rng: np.random.Generator,
    planted: _Planted,
    year: int,
    firms: _Firms,
    firm_name: np.ndarray,
    scale: float,
) -> None:
    """The year's CRM extract of Viborgegnens Erhvervsråd: a few hundred cases of Viborg
    firms, in cp1252 in even years, with the planted bad rows."""
    m = max(30, round(300 * scale))
    viborg_firms = np.flatnonzero(firms.mun == 791)
    firm = rng.choice(viborg_firms, size=m) if viborg_firms.size else rng.integers(0, firms.n, m)
    founders = rng.random(m) < 0.1
    start = np.sort(rng.integers(_days(year), _days(year, 12, 31) + 1, m))
    end = np.where(
        rng.random(m) < 0.1, -1, np.minimum(start + rng.integers(1, 60, m), _days(year, 12, 31))
    )
    contact = _names(rng, m)
    emails = _emails(contact, rng)
    planted.emails.update(emails.to_pylist())
    ver_refs = np.where(
        rng.random(m) < 0.5,
        "Erhvervshus Midtjylland",
        np.where(
            rng.random(m) < 0.5,
            "Erhvervshus Midtjylland|Innovationsfonden",
            np.where(rng.random(m) < 0.5, "Privat rådgiver", ""),
        ),
    )
    frame = pd.DataFrame(
        {
            "Forløbs-ID": _str(join(f"VER-{year}-", zero_padded(np.arange(1, m + 1), 5))),
            "CVR-nummer": _str(blank(ints(firms.cvr[firm]), founders).fill_null("")),
            "Virksomhedsnavn": _str(take(FIRM_NAMES, firm_name[firm])),
            "Kommunenr": "791",
            "Startdato": _str(dates(start, "%d-%m-%Y")),
            "Slutdato": _str(dates(np.maximum(end, 0), "%d-%m-%Y", missing=end < 0)),
            "Vejledningsform": np.where(rng.random(m) < 0.85, "Individuel", "Kollektiv"),
            "Segment": np.where(rng.random(m) < 0.3, "Vækst", "Drift"),
            "Forløbstype": rng.choice(
                ["Afklaring", "Specialiseret vejledning"], size=m, p=[0.8, 0.2]
            ),
            "Fokusområde": rng.choice(VER_AREAS, size=m),
            "Henvisninger": ver_refs,
            "Timer": _str(comma(np.round(rng.gamma(1.5, 2.0, m), 1), 1)),
            "Kontaktperson": _str(take(PERSON_NAMES, contact)),
            "Kontakt-e-mail": _str(emails),
            "Konsulent": _str(take(PERSON_NAMES, _names(rng, m))),
            "Note": "Erhvervsrådgivning – første samtale",
        }
    )
    relpath = FORMATS["crm_cases"].relpath(year, VER)
    planted.bad += _plant_crm(frame, rng, relpath, year, duplicates=False)
    even = year % 2 == 0
    w.csv_frame(relpath, frame, "cp1252" if even else "utf-8-sig", "\r\n",
                trailing=2 if even else 0)  # fmt: skip


def _write_time_registration(
    w: InboxWriter, rng: np.random.Generator, planted: _Planted, year: int, i: int
) -> None:
    """Viborgegnens Erhvervsråd's time registration of the ``i``-th year: five staff, one
    row per working day and project, one date planted outside the year."""
    days = pd.bdate_range(dt.date(year, 1, 1), dt.date(year, 12, 31)).to_numpy()
    parts = [_staff_hours(rng, days, s) for s in range(5)]
    time = (
        pd.concat(parts, ignore_index=True)
        .sort_values(["date", "staff"], kind="stable")
        .reset_index(drop=True)
    )
    time["hours"] = time["hours"].clip(lower=0.5)
    tframe = pd.DataFrame(
        {
            "Medarbejder-ID": time["staff"],
            "Dato": pd.Series(pd.to_datetime(time["date"])).dt.strftime("%d-%m-%Y"),
            "Projekt": time["project"],
            "Timer": _str(comma(time["hours"].to_numpy(), 1)),
        }
    )
    relpath = FORMATS["time_registration"].relpath(year, VER)
    r = int(rng.integers(0, len(tframe)))
    tframe.loc[r, "Dato"] = f"15-06-{year + 1}"
    planted.rows(relpath, [r], "date_outside_year")
    w.csv_frame(relpath, tframe, "utf-8" if i % 2 else "utf-8-sig", "\n" if i % 2 else "\r\n")


def _staff_hours(rng: np.random.Generator, days: np.ndarray, s: int) -> pd.DataFrame:
    """Staff member ``s``'s hours on about 90 % of the working ``days``: the first holds the
    Karriereby Viborg position (about one årsværk a year), the others split their days
    between the other projects and administration."""
    keep = rng.random(days.size) < 0.9
    d = days[keep]
    if s == 0:
        return pd.DataFrame(
            {
                "staff": "M01",
                "date": d,
                "project": "Karriereby Viborg",
                "hours": np.round(rng.normal(7.4, 0.5, d.size) * 1650 / (7.4 * 0.9 * days.size), 1),
            }
        )
    return pd.DataFrame(
        {
            "staff": f"M{s + 1:02d}",
            "date": d,
            "project": rng.choice([*VER_PROJECTS[1:], "Drift og administration"], size=d.size),
            "hours": np.round(rng.normal(7.0, 1.0, d.size), 1),
        }
    )


def _put(values: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """``values`` with ``values[rows[i]] = new[i]`` (rows ascending, as flatnonzero gives)."""
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(values, pa.array(mask), new.cast(values.type))


def _awareness_chunks(
    year: int,
    hub: np.ndarray,
    weight: np.ndarray,
    knows: np.ndarray,
    offers: np.ndarray,
    chunk_rows: int,
) -> Iterator[list[pa.Array]]:
    """Rows of an awareness survey: respondent, hub, weight, knows the hub, knows the offers."""
    for lo, hi in blocks(hub.size, chunk_rows):
        yield [
            join(f"K{year}-", zero_padded(np.arange(lo + 1, hi + 1), 6)),
            take(HUBS, hub[lo:hi]),
            comma(weight[lo:hi], 3),
            take((NO, YES), knows[lo:hi]),
            take(("", YES, NO), offers[lo:hi]),
        ]


def _plant_crm(
    frame: pd.DataFrame, rng: np.random.Generator, relpath: str, year: int, duplicates: bool
) -> list[dict[str, Any]]:
    """Turn a few rows of a CRM frame into the bad rows real deliveries contain."""
    m = len(frame)
    count = max(1, int(m * 0.01))  # about 1 % of the rows, at least one, at any scale
    rows = rng.choice(np.arange(1, m), size=min(m - 1, count), replace=False)
    a, b, c = rows[0::3], rows[1::3], rows[2::3]
    planted = []
    has_cvr = frame.loc[a, "CVR-nummer"].str.len() == 8
    frame.loc[a, "CVR-nummer"] = np.where(
        has_cvr, "0" + frame.loc[a, "CVR-nummer"].str[1:], "12AB5678"
    )
    planted += [{"file": relpath, "line": int(r) + 2, "kind": "malformed_cvr"} for r in a]
    frame.loc[b, "Kommunenr"] = "999"
    planted += [{"file": relpath, "line": int(r) + 2, "kind": "unknown_municipality"} for r in b]
    frame.loc[c, "Startdato"] = f"28-12-{year - 1}"
    planted += [{"file": relpath, "line": int(r) + 2, "kind": "date_outside_year"} for r in c]
    if duplicates:
        clean = np.setdiff1d(np.arange(m), rows)
        pairs = rng.choice(clean, size=6, replace=False)
        for src, dst in zip(pairs[:3], pairs[3:], strict=True):
            frame.loc[dst, "Forløbs-ID"] = frame.loc[src, "Forløbs-ID"]
            planted += [{"file": relpath, "line": int(src) + 2, "kind": "duplicate_case_id"},
                        {"file": relpath, "line": int(dst) + 2, "kind": "duplicate_case_id"}]  # fmt: skip
    return planted
