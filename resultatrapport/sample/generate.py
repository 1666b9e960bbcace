"""A realistic sample inbox: every delivery of `sources.md`, deterministic for a seed.

Volumes at scale 1 are one region's year (about 60,000 firms in the CVR extract with a
financial row each year, 5,500 guidance cases and 1,500 evaluation answers for Erhvervshus
Midtjylland; a few hundred cases and a time registration for Viborgegnens Erhvervsråd).
Everything is generated column-wise with numpy; files carry the quirks real deliveries have
(cp1252, BOMs, CRLF, trailing blank lines), a small known share of bad rows, and personal
data where the formats have it. The manifest records what was planted, so tests can check
that the pipeline finds it:

- ``bad_rows``: file, line and kind of every planted bad row;
- ``personal_data``: every CPR number and e-mail written, which must never reach the warehouse;
- ``effects``: the growth effect planted on guided firms, and the naive difference a plain
  comparison would report (guidance is selected on pre-guidance growth and size, which
  persist, so the naive difference is biased).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resultatrapport.formats import FORMATS
from resultatrapport.rules import municipalities

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
HUBS = ["Hovedstaden", "Midtjylland", "Nordjylland", "Sjælland", "Syddanmark", "Fyn"]


class _Writer:
    """Writes files with a given encoding, line ending and trailing blank lines; records them."""

    def __init__(self, root: Path, progress: Callable[[str], None] | None):
        self.root, self.progress = root, progress
        self.files: dict[str, dict[str, Any]] = {}

    def csv(
        self,
        relpath: str,
        frame: pd.DataFrame,
        encoding: str = "utf-8-sig",
        newline: str = "\r\n",
        trailing: int = 0,
    ) -> None:
        buffer = io.StringIO()
        frame.to_csv(buffer, sep=";", index=False, lineterminator=newline, na_rep="")
        self._write(relpath, (buffer.getvalue() + newline * trailing).encode(encoding), len(frame),
                    encoding, newline, trailing)  # fmt: skip

    def xlsx(self, relpath: str, frame: pd.DataFrame, sheet: str) -> None:
        import zipfile

        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        fixed = dt.datetime(2026, 1, 1)  # no save time in the file: same seed, same bytes
        wb.properties.created = wb.properties.modified = fixed
        ws = wb.create_sheet(sheet)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False, name=None):
            ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
        raw = io.BytesIO()
        wb.save(raw)
        # rewrite the zip with fixed entry times (openpyxl stamps entries with the clock)
        buffer = io.BytesIO()
        with zipfile.ZipFile(raw) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                entry = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                data = src.read(info.filename)
                if info.filename == "docProps/core.xml":
                    data = re.sub(
                        rb"<dcterms:modified([^>]*)>[^<]*<",
                        rb"<dcterms:modified\1>2026-01-01T00:00:00Z<",
                        data,
                    )
                dst.writestr(entry, data)
        self._write(relpath, buffer.getvalue(), len(frame), "xlsx", None, 0)

    def _write(self, relpath, data, rows, encoding, newline, trailing) -> None:  # type: ignore[no-untyped-def]
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[relpath] = {
            "rows": int(rows),
            "encoding": encoding,
            "line_ending": {"\r\n": "CRLF", "\n": "LF", None: None}[newline],
            "trailing_blank_lines": trailing,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if self.progress:
            self.progress(f"{relpath}: {rows:,} rows")


def _dmy(days: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(days, unit="D")).dt.strftime("%d-%m-%Y")


def _comma(values: np.ndarray, decimals: int) -> pd.Series:
    s = pd.Series(np.round(values, decimals)).map(f"{{:.{decimals}f}}".format)
    return s.str.replace(".", ",", regex=False).where(~np.isnan(values), "")


def _days(year: int, month: int = 1, day: int = 1) -> int:
    return (dt.date(year, month, day) - dt.date(1970, 1, 1)).days


def _names(rng: np.random.Generator, n: int) -> pd.Series:
    first = np.asarray(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    return pd.Series(first) + " " + pd.Series(last)


def _emails(names: pd.Series, rng: np.random.Generator) -> pd.Series:
    local = names.str.lower().str.replace(" ", ".", regex=False)
    local = local.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    domains = np.asarray(["firma.dk", "example.dk", "mail.dk"])[rng.integers(0, 3, len(names))]
    return local + pd.Series(rng.integers(1, 999, len(names))).astype(str) + "@" + domains


def _cprs(rng: np.random.Generator, n: int) -> list[str]:
    day = rng.integers(1, 29, n)
    month = rng.integers(1, 13, n)
    year = rng.integers(40, 100, n)
    tail = rng.integers(1000, 10000, n)
    dash = rng.random(n) < 0.5
    return [
        f"{d:02d}{m:02d}{y:02d}{'-' if s else ''}{t}"
        for d, m, y, s, t in zip(day, month, year, dash, tail, strict=True)
    ]


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


def generate_inbox(
    out: Path,
    years: Sequence[int],
    scale: float = 1.0,
    seed: int = 20260101,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a complete sample inbox under ``out`` and return the manifest (also written
    to ``out/manifest.json``)."""
    years = sorted(set(int(y) for y in years))
    if not years:
        raise ValueError("no years")
    rng = np.random.default_rng(seed)
    out = Path(out)
    w = _Writer(out, progress)
    bad: list[dict[str, Any]] = []
    personal: dict[str, list[str]] = {"cpr": [], "emails": []}
    first, last = years[0], years[-1]
    panel_years = list(range(first - 3, last + 1))  # three years of history before the first

    # --- firms and their financial panel -------------------------------------------------
    n = max(200, round(60_000 * scale))
    cvr = np.unique(rng.integers(10_000_000, 100_000_000, int(n * 1.05)))
    cvr = rng.permutation(cvr)[:n].astype(np.int64)
    midt = [m for m in municipalities() if m.region_code == 1082]
    pop = _Population()
    midt_codes = np.array([m.code for m in sorted(midt, key=lambda m: m.name)])
    name_order = {m.name: m.code for m in midt}
    weights = np.array(
        [pop.p2023[pop.names.index(m.name)] for m in sorted(midt, key=lambda m: m.name)]
    )
    others = np.array([m.code for m in municipalities() if m.region_code != 1082])
    mun = np.where(
        rng.random(n) < 0.98,
        rng.choice(midt_codes, size=n, p=weights / weights.sum()),
        rng.choice(others, size=n),
    )
    ind = rng.choice(INDUSTRIES, size=n)
    industry_code = pd.Series(ind) + pd.Series(rng.integers(1000, 10000, n)).astype(str)
    age_at_first = np.minimum(rng.exponential(11, n), 60)
    start_day = (_days(first) - age_at_first * 365.25).astype(int) + rng.integers(0, 365, n)
    # some firms start during the period (new firms: young at guidance)
    newcomers = rng.random(n) < 0.12
    start_day = np.where(
        newcomers, rng.integers(_days(first - 3), _days(last, 12, 1), n), start_day
    )
    ceased = rng.random(n) < 0.06
    end_day = np.where(ceased, rng.integers(_days(first - 2), _days(last + 2), n), -1)
    end_day = np.where(ceased & (end_day <= start_day), start_day + 400, end_day)
    start_year = pd.to_datetime(start_day, unit="D").year.to_numpy()
    end_year = np.where(
        ceased, pd.to_datetime(np.maximum(end_day, 0), unit="D").year.to_numpy(), 9999
    )

    fte0 = np.round(np.exp(rng.normal(1.6, 1.1, n)), 1) + 0.5
    ind_drift = {code: rng.normal(3.0, 2.5) for code in INDUSTRIES}
    mu = np.array([ind_drift[i] for i in ind]) - 0.6 * np.log(fte0)  # small firms grow faster
    T = len(panel_years)
    growth = np.empty((n, T))
    growth[:, 0] = mu + rng.normal(0, 8, n)
    for t in range(1, T):  # AR(1) growth: growth before guidance persists after it
        growth[:, t] = mu + 0.5 * (growth[:, t - 1] - mu) + rng.normal(0, 8, n)
    turnover = np.empty((n, T))
    turnover[:, 0] = fte0 * np.exp(rng.normal(6.8, 0.5, n))  # 1,000 kr.
    for t in range(1, T):
        turnover[:, t] = turnover[:, t - 1] * (1 + growth[:, t] / 100)
    emp_growth = 0.5 * growth + rng.normal(0, 4, (n, T))
    fte = np.empty((n, T))
    fte[:, 0] = fte0
    for t in range(1, T):
        fte[:, t] = np.maximum(fte[:, t - 1] * (1 + emp_growth[:, t] / 100), 0.2)
    margin = np.clip(rng.normal(0.32, 0.08, n), -0.2, 0.8)
    gross = turnover * (margin[:, None] + rng.normal(0, 0.02, (n, T)))
    alive = (start_year[:, None] <= np.array(panel_years)[None, :]) & (
        end_year[:, None] >= np.array(panel_years)[None, :]
    )
    col = {y: i for i, y in enumerate(panel_years)}

    # --- guidance episodes: each firm guided in at most one year, selected on observables --
    segment_growth = rng.random(n) < 0.45
    guided_year = np.full(n, -1)
    free = np.ones(n, dtype=bool)
    per_year_firms = round(4_400 * scale)
    for year in years:
        # selection on what the matching observes: fast-growing industries and larger firms
        # are guided more. Not on the firm's own recent growth: later cohorts' selection
        # would then depend on growth inside this cohort's outcome window.
        eligible = free & (start_year <= year) & (end_year >= year)
        drift = np.array([ind_drift[i] for i in ind])
        score = np.exp(np.clip(1.5 * (drift - 3.0) + 0.35 * np.log(fte0), -20, 20)) * eligible
        if score.sum() == 0:
            continue
        k = min(per_year_firms, int(eligible.sum()))
        chosen = rng.choice(n, size=k, replace=False, p=score / score.sum())
        guided_year[chosen] = year
        free[chosen] = False

    # --- cases --------------------------------------------------------------------------
    firm_idx_by_year = {y: np.flatnonzero(guided_year == y) for y in years}
    cases_by_year: dict[int, pd.DataFrame] = {}
    for year in years:
        firms = firm_idx_by_year[year]
        repeat = 1 + (rng.random(firms.size) < 0.25).astype(int)  # some firms: two cases
        idx = np.repeat(firms, repeat)
        m = idx.size
        founders = rng.random(m) < 0.05
        start = rng.integers(_days(year), _days(year, 12, 31) + 1, m)
        start = np.maximum(start, np.minimum(start_day[idx], _days(year, 12, 31)))
        duration = rng.integers(20, 200, m)
        end = np.minimum(start + duration, _days(year, 12, 31))  # most end within the year
        late = rng.random(m) < 0.12
        end = np.where(late, start + duration + 150, end)
        open_case = rng.random(m) < (0.3 if year == last else 0.03)
        is_growth = segment_growth[idx]
        form = np.where(rng.random(m) < 0.75, "Individuel", "Kollektiv")
        case_type = np.where(
            form == "Kollektiv",
            "Kollektivt forløb",
            rng.choice(["Afklaring", "Specialiseret vejledning", "Vækstforløb"], size=m,
                       p=[0.40, 0.43, 0.17]),
        )  # fmt: skip
        cases_by_year[year] = pd.DataFrame(
            {
                "firm": idx,
                "founder": founders,
                "start": start,
                "end": np.where(open_case, -1, end),
                "segment": np.where(is_growth, "Vækst", "Drift"),
                "form": form,
                "case_type": case_type,
            }
        )

    # --- plant the effect, once per firm, at the end of its guidance -----------------------
    effects: dict[str, Any] = {
        "definition": (
            "Firms whose case (segment Vækst/Drift) ended in year E; baseline B = E-1, outcome "
            "year E+2; growth in percent from B to E+2. Planted on top of what the firm would "
            "otherwise have had, from E on."
        ),
        "tau_turnover_pp": TAU_TURNOVER,
        "tau_employment_pp": TAU_EMPLOYMENT,
        "tau_productivity_pp": TAU_PRODUCTIVITY,
        "cohorts": {},
    }
    end_year_of_firm = np.full(n, -1)
    seg_of_firm = np.array([""] * n, dtype=object)
    for cases in cases_by_year.values():
        real = cases[~cases["founder"] & (cases["end"] >= 0)]
        ends = pd.to_datetime(real["end"], unit="D").dt.year.to_numpy()
        firms = real["firm"].to_numpy()
        order = np.argsort(ends)  # earliest end per firm
        for f, e, s in zip(
            firms[order][::-1],
            ends[order][::-1],
            real["segment"].to_numpy()[order][::-1],
            strict=True,
        ):
            end_year_of_firm[f] = e
            seg_of_firm[f] = s
    treated = end_year_of_firm >= 0
    for f_year in sorted(set(end_year_of_firm[treated].tolist())):
        b = f_year - 1
        if b not in col:
            continue
        sel = end_year_of_firm == f_year
        later = [t for t in panel_years if t >= f_year]
        grow = sel & (seg_of_firm == "Vækst")
        drift = sel & (seg_of_firm == "Drift")
        base_t, base_f = turnover[:, col[b]].copy(), fte[:, col[b]].copy()
        base_p = gross[:, col[b]] / fte[:, col[b]]
        for t in later:
            turnover[grow, col[t]] += TAU_TURNOVER / 100 * base_t[grow]
            gross[grow, col[t]] += TAU_TURNOVER / 100 * base_t[grow] * margin[grow]
            fte[grow, col[t]] += TAU_EMPLOYMENT / 100 * base_f[grow]
            gross[drift, col[t]] += TAU_PRODUCTIVITY / 100 * base_p[drift] * fte[drift, col[t]]

    # naive vs planted, per cohort, as a plain comparison would see it
    for e in years:
        b, r = e - 1, e + 2
        if b - 2 < first or r > last:  # the pipeline needs financial files for B-2, B and R
            continue
        ok = alive[:, col[b - 2]] & alive[:, col[r]]
        g_t = 100 * (turnover[:, col[r]] / turnover[:, col[b]] - 1)
        cohort = ok & (end_year_of_firm == e) & (seg_of_firm == "Vækst")
        window = (guided_year >= b - 2) & (guided_year <= r)
        controls = ok & ~window
        effects["cohorts"][str(r)] = {
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

    # --- CVR extract --------------------------------------------------------------------
    firm_names = _names(rng, n) + " " + pd.Series(np.asarray(LEGAL_FORMS)[rng.integers(0, 5, n)])
    cvr_frame = pd.DataFrame(
        {
            "CVR-nummer": cvr.astype(str),
            "Navn": firm_names,
            "Startdato": pd.Series(pd.to_datetime(start_day, unit="D")).dt.strftime("%Y-%m-%d"),
            "Ophørsdato": pd.Series(pd.to_datetime(np.maximum(end_day, 0), unit="D"))
            .dt.strftime("%Y-%m-%d")
            .where(ceased, ""),
            "Kommunenr": mun.astype(str),
            "Branchekode": industry_code,
            "Virksomhedsform": np.asarray(LEGAL_FORMS)[rng.integers(0, 5, n)],
        }
    )
    relpath = FORMATS["cvr_firms"].path
    k = max(2, n // 400)
    rows = rng.choice(n, size=2 * k, replace=False)
    cvr_frame.loc[rows[:k], "CVR-nummer"] = cvr_frame.loc[rows[:k], "CVR-nummer"].str[:7]
    cvr_frame.loc[rows[k:], "Kommunenr"] = "999"
    bad += [{"file": relpath, "line": int(i) + 2, "kind": "malformed_cvr"} for i in rows[:k]]
    bad += [{"file": relpath, "line": int(i) + 2, "kind": "unknown_municipality"} for i in rows[k:]]
    w.csv(relpath, cvr_frame, "utf-8-sig", "\r\n", trailing=2)

    # --- financial register -------------------------------------------------------------
    for i, year in enumerate(years):
        live = np.flatnonzero(alive[:, col[year]])
        t = turnover[live, col[year]].copy()
        g = gross[live, col[year]].copy()
        t[rng.random(live.size) < 0.03] = np.nan  # not reported
        g[rng.random(live.size) < 0.02] = np.nan
        frame = pd.DataFrame(
            {
                "CVR-nummer": cvr[live].astype(str),
                "År": str(year),
                "Omsætning": _comma(t, 1),
                "Bruttofortjeneste": _comma(g, 1),
                "Årsværk": _comma(np.round(fte[live, col[year]], 1), 1),
            }
        )
        w.csv(FORMATS["financials"].relpath(year), frame, "utf-8-sig" if i % 2 else "utf-8",
              "\n" if i % 2 else "\r\n", trailing=i % 2)  # fmt: skip

    # --- population and price index -----------------------------------------------------
    pop_rows = []
    for year in sorted(set(years) | {2020, 2023, first - 1}):
        values = pop.quarter(year)
        pop_rows.append(
            pd.DataFrame({"OMRÅDE": pop.names, "TID": f"{year}K1", "INDHOLD": values.astype(int)})
        )
    w.csv(FORMATS["population"].path, pd.concat(pop_rows, ignore_index=True), "utf-8-sig", "\r\n")
    index_years = sorted(set(years) | {2020})
    w.csv(
        FORMATS["price_index"].path,
        pd.DataFrame(
            {
                "År": index_years,
                "Indeks": _comma(
                    np.array([PRICE_INDEX.get(y, 100 + 2.5 * (y - 2020)) for y in index_years]), 1
                ),
            }
        ),
        "cp1252",
        "\r\n",
        trailing=1,
    )

    # --- awareness survey ---------------------------------------------------------------
    for year in years:
        if year in NO_AWARENESS_SURVEY:
            continue
        m = max(60, round(6_000 * scale))
        hub = rng.choice(HUBS, size=m)
        share = np.where(hub == "Midtjylland", 0.55, rng.uniform(0.4, 0.6, m))
        knows = rng.random(m) < share
        offers = np.where(knows, np.where(rng.random(m) < 0.6, "Ja", "Nej"), "")
        frame = pd.DataFrame(
            {
                "Respondent-ID": [f"K{year}-{i:06d}" for i in range(1, m + 1)],
                "Erhvervshus": hub,
                "Vægt": _comma(np.exp(rng.normal(0, 0.4, m)), 3),
                "Kender erhvervshuset": np.where(knows, "Ja", "Nej"),
                "Kender tilbuddene": offers,
            }
        )
        w.csv(FORMATS["awareness"].relpath(year), frame, "utf-8-sig", "\r\n")

    # --- Erhvervshus Midtjylland: CRM and user evaluation -------------------------------
    for year in years:
        cases = cases_by_year[year].sort_values("start", kind="stable").reset_index(drop=True)
        m = len(cases)
        firm = cases["firm"].to_numpy()
        cvr_text = pd.Series(cvr[firm].astype(str)).where(~cases["founder"], "")
        ids = pd.Series([f"EHMJ-{year}-{i:05d}" for i in range(1, m + 1)])
        contact = _names(rng, m)
        emails = _emails(contact, rng)
        n_ref = rng.integers(0, 3, m)
        refs = [
            "|".join(
                rng.choice(["Erhvervshus Midtjylland", *REFERRAL_TARGETS], size=k, replace=False)
            )
            if k
            else ""
            for k in n_ref
        ]
        notes = np.where(
            rng.random(m) < 0.5, "Opfølgning aftalt", "Møde afholdt på kontoret i Århus"
        )
        cpr_rows = np.flatnonzero(rng.random(m) < 0.02)
        cprs = _cprs(rng, cpr_rows.size)
        notes = notes.astype(object)
        for r, c in zip(cpr_rows.tolist(), cprs, strict=True):
            notes[r] = f"Ejer oplyste CPR {c} ved første møde"
        personal["cpr"] += cprs
        personal["emails"] += emails.tolist()
        frame = pd.DataFrame(
            {
                "Forløbs-ID": ids,
                "CVR-nummer": cvr_text,
                "Virksomhedsnavn": firm_names.iloc[firm].to_numpy(),
                "Kommunenr": mun[firm].astype(str),
                "Startdato": _dmy(cases["start"].to_numpy()),
                "Slutdato": _dmy(np.maximum(cases["end"].to_numpy(), 0)).where(
                    cases["end"].to_numpy() >= 0, ""
                ),
                "Vejledningsform": cases["form"],
                "Segment": cases["segment"],
                "Forløbstype": cases["case_type"],
                "Fokusområde": rng.choice(EHMJ_AREAS, size=m),
                "Henvisninger": refs,
                "Timer": _comma(np.round(rng.gamma(2.0, 6.0, m), 1), 1),
                "Kontaktperson": contact,
                "Kontakt-e-mail": emails,
                "Konsulent": _names(rng, m),
                "Note": notes,
            }
        )
        relpath = FORMATS["crm_cases"].relpath(year, EHMJ)
        answer_ids = frame["Forløbs-ID"].to_numpy().copy()  # as the survey system knows them
        bad += _plant_crm(frame, rng, relpath, year, duplicates=(EHMJ, year) == DUPLICATE_FILE)
        w.csv(relpath, frame, "utf-8-sig", "\r\n", trailing=1 if year % 2 else 0)

        # user evaluation: answers about this year's cases
        k = min(max(20, round(1_500 * scale)), m)
        pick = np.sort(rng.choice(m, size=k, replace=False))
        seg = frame["Segment"].to_numpy()[pick]
        u = rng.random(k)
        nps = np.where(
            u < 0.76,
            rng.integers(9, 11, k),
            np.where(u < 0.955, rng.integers(7, 9, k), rng.integers(0, 7, k)),
        ).astype(float)
        nps[rng.random(k) < 0.03] = np.nan
        referred = rng.random(k) < 0.45
        used = np.where(
            referred, rng.choice(["Ja", "Nej", "Ved ikke"], size=k, p=[0.6, 0.3, 0.1]), ""
        )
        sust = rng.random(k) < 0.3
        better = np.where(
            sust,
            rng.choice(
                ["I høj grad", "I nogen grad", "I mindre grad", "Slet ikke", "Ved ikke"],
                size=k,
                p=[0.72, 0.18, 0.05, 0.02, 0.03],
            ),
            "",
        )
        answered = pd.to_datetime(
            np.minimum(
                cases["start"].to_numpy()[pick] + rng.integers(10, 120, k), _days(year, 12, 31)
            ),
            unit="D",
        )
        comments = np.where(rng.random(k) < 0.1, "Tak for hjælpen", "").astype(object)
        c_rows = np.flatnonzero(rng.random(k) < 0.02)
        c_cpr = _cprs(rng, c_rows.size)
        c_names = _names(rng, c_rows.size)
        c_mail = _emails(c_names, rng)
        for r, c, nm, em in zip(c_rows.tolist(), c_cpr, c_names, c_mail, strict=True):
            comments[r] = f"Kontakt {nm} ({em}), cpr {c}"
        personal["cpr"] += c_cpr
        personal["emails"] += c_mail.tolist()
        survey = pd.DataFrame(
            {
                "Respondent-ID": [f"R{year}-{i:05d}" for i in range(1, k + 1)],
                "Forløbs-ID": answer_ids[pick],
                "CVR-nummer": [int(v) if v else None for v in cvr_text.to_numpy()[pick]],
                "Besvarelsesdato": [d.date() for d in answered],
                "Segment": seg,
                "Anbefaling (0-10)": [None if np.isnan(v) else int(v) for v in nps],
                "Henvist": np.where(referred, "Ja", "Nej"),
                "Anvendt henvisning": used,
                "Vejledt om bæredygtighed": np.where(sust, "Ja", "Nej"),
                "Bæredygtighed – bedre i stand": better,
                "Kommentar": comments,
            }
        )
        relpath = FORMATS["survey_answers"].relpath(year, EHMJ)
        rows = rng.choice(k, size=3 * max(1, k // 300), replace=False)
        j = rows.size // 3  # nps out of range, malformed CVR, date outside the year: 1 % in all
        survey["Anbefaling (0-10)"] = survey["Anbefaling (0-10)"].astype(object)
        survey["CVR-nummer"] = survey["CVR-nummer"].astype(object)
        for r, v in zip(rows[:j], [11, 7.5] * j, strict=False):
            survey.at[r, "Anbefaling (0-10)"] = v
        survey.loc[rows[j : 2 * j], "CVR-nummer"] = "1234567"
        for r in rows[2 * j :]:
            survey.at[r, "Besvarelsesdato"] = dt.date(year - 1, 12, 15)
        bad += [{"file": relpath, "line": int(r) + 2, "kind": "nps_out_of_range"} for r in rows[:j]]
        bad += [
            {"file": relpath, "line": int(r) + 2, "kind": "malformed_cvr"} for r in rows[j : 2 * j]
        ]
        bad += [
            {"file": relpath, "line": int(r) + 2, "kind": "date_outside_year"}
            for r in rows[2 * j :]
        ]
        w.xlsx(relpath, survey, "Besvarelser")

    # --- Viborgegnens Erhvervsråd: CRM and time registration ----------------------------
    viborg_firms = np.flatnonzero(mun == 791)
    for i, year in enumerate(years):
        m = max(30, round(300 * scale))
        firm = rng.choice(viborg_firms, size=m) if viborg_firms.size else rng.integers(0, n, m)
        founders = rng.random(m) < 0.1
        start = np.sort(rng.integers(_days(year), _days(year, 12, 31) + 1, m))
        end = np.where(
            rng.random(m) < 0.1, -1, np.minimum(start + rng.integers(1, 60, m), _days(year, 12, 31))
        )
        contact = _names(rng, m)
        emails = _emails(contact, rng)
        personal["emails"] += emails.tolist()
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
                "Forløbs-ID": [f"VER-{year}-{j:05d}" for j in range(1, m + 1)],
                "CVR-nummer": pd.Series(cvr[firm].astype(str)).where(~founders, ""),
                "Virksomhedsnavn": firm_names.iloc[firm].to_numpy(),
                "Kommunenr": "791",
                "Startdato": _dmy(start),
                "Slutdato": _dmy(np.maximum(end, 0)).where(end >= 0, ""),
                "Vejledningsform": np.where(rng.random(m) < 0.85, "Individuel", "Kollektiv"),
                "Segment": np.where(rng.random(m) < 0.3, "Vækst", "Drift"),
                "Forløbstype": rng.choice(
                    ["Afklaring", "Specialiseret vejledning"], size=m, p=[0.8, 0.2]
                ),
                "Fokusområde": rng.choice(VER_AREAS, size=m),
                "Henvisninger": ver_refs,
                "Timer": _comma(np.round(rng.gamma(1.5, 2.0, m), 1), 1),
                "Kontaktperson": contact,
                "Kontakt-e-mail": emails,
                "Konsulent": _names(rng, m),
                "Note": "Erhvervsrådgivning – første samtale",
            }
        )
        relpath = FORMATS["crm_cases"].relpath(year, VER)
        bad += _plant_crm(frame, rng, relpath, year, duplicates=False)
        even = year % 2 == 0
        w.csv(relpath, frame, "cp1252" if even else "utf-8-sig", "\r\n", trailing=2 if even else 0)

        # time registration: five staff, one row per working day and project
        days = pd.bdate_range(dt.date(year, 1, 1), dt.date(year, 12, 31)).to_numpy()
        parts: list[pd.DataFrame] = []
        for s in range(5):
            keep = rng.random(days.size) < 0.9
            d = days[keep]
            if s == 0:  # the Karriereby Viborg position: about one årsværk a year
                parts.append(
                    pd.DataFrame(
                        {
                            "staff": "M01",
                            "date": d,
                            "project": "Karriereby Viborg",
                            "hours": np.round(
                                rng.normal(7.4, 0.5, d.size) * 1650 / (7.4 * 0.9 * days.size), 1
                            ),
                        }
                    )
                )
            else:
                parts.append(
                    pd.DataFrame(
                        {
                            "staff": f"M{s + 1:02d}",
                            "date": d,
                            "project": rng.choice(
                                [*VER_PROJECTS[1:], "Drift og administration"], size=d.size
                            ),
                            "hours": np.round(rng.normal(7.0, 1.0, d.size), 1),
                        }
                    )
                )
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
                "Timer": _comma(time["hours"].to_numpy(), 1),
            }
        )
        relpath = FORMATS["time_registration"].relpath(year, VER)
        r = int(rng.integers(0, len(tframe)))
        tframe.loc[r, "Dato"] = f"15-06-{year + 1}"
        bad.append({"file": relpath, "line": r + 2, "kind": "date_outside_year"})
        w.csv(relpath, tframe, "utf-8" if i % 2 else "utf-8-sig", "\n" if i % 2 else "\r\n")

    manifest = {
        "seed": seed,
        "scale": scale,
        "years": years,
        "files": w.files,
        "bad_rows": sorted(bad, key=lambda b: (b["file"], b["line"], b["kind"])),
        "personal_data": {
            "cpr": sorted(set(personal["cpr"])),
            "emails": sorted(set(personal["emails"])),
        },
        "effects": effects,
        "synthetic": {
            "real": "register/folketal.csv: the 2020K1 and 2023K1 figures of the 19 municipalities (Statistics Denmark FOLK1A, shared/reference)",
            "synthetic": "register/folketal.csv: every other quarter, extrapolated from the 2020-2023 growth; all firms, cases, answers and financial figures",
            "illustrative": "register/prisindeks.csv: the KL price index values are illustrative, not KL's published index",
        },
    }
    del name_order
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


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
