"""The report owner's texts (``<org>/tekster/<contract-id>_<YYYY>.md``): the contract's
declaration of the sections, the parser's sections and its located Danish errors, the HTML
the report gets, and the delivery in the warehouse."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from resultatrapport import texts
from resultatrapport.contracts import (
    Contract,
    ContractError,
    KpiPlace,
    SectionPlace,
    load_contract,
)

KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"
FILE = "erhvervshus-midtjylland/tekster/kkr-midtjylland-2026_2026.md"


def parse(text: str, contract: Contract) -> dict[str, str]:
    return {s.id: s.markdown for s in texts.parse(text.encode("utf-8"), contract, FILE)}


def error(text: str | bytes, contract: Contract) -> texts.TextsError:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(texts.TextsError) as raised:
        texts.parse(data, contract, FILE)
    return raised.value


# --- what the contracts declare -------------------------------------------------------------


def test_kkr_declares_each_special_effort_and_focus_area_after_its_kpi(kkr: Contract) -> None:
    by_kpi: dict[str, list[str]] = {}
    for n in kkr.narratives:
        if isinstance(n.place, KpiPlace):
            by_kpi.setdefault(n.place.kpi, []).append(n.title)
    # the areas exactly as F1 and F2 name them, in their order
    assert by_kpi["F1"] == kkr.kpi("F1").params.areas  # type: ignore[union-attr]
    assert by_kpi["F2"] == kkr.kpi("F2").params.areas  # type: ignore[union-attr]
    required = {n.id for n in kkr.narratives if n.required}
    assert required == {f"F1-{i}" for i in range(1, 4)} | {f"F2-{i}" for i in range(1, 8)}
    foreword = [n for n in kkr.narratives if n.place == "foreword"]
    assert [n.title for n in foreword] == ["Forord"] and not foreword[0].required
    comments = {n.place.kpi for n in kkr.narratives if n.id.startswith("K-")}  # type: ignore[union-attr]
    assert comments == {k.id for k in kkr.kpis} - {"F1", "F2"}


def test_viborg_declares_sections_3_4_5_and_kpi_c_all_required(ver: Contract) -> None:
    titles = {n.id: n.title for n in ver.narratives}
    assert all(n.required for n in ver.narratives)
    for title in ("Arsenalet", "Agro Business Park", "AU digital transformation (Demo Lab)",
                  "Invest in Viborg og Invest in Denmark", "Karriereby Viborg",
                  "International Community", "Generelt samarbejde",
                  "Integration af CFI og House of Industry"):  # fmt: skip
        assert title in titles.values()
    v3 = next(n for n in ver.narratives if n.place == KpiPlace(kpi="V3"))
    assert "CFI" in v3.title and "bilag 2" in v3.contract_text
    others = [n for n in ver.narratives if isinstance(n.place, SectionPlace)]
    assert {n.place.section for n in others} == {"Kontraktens øvrige punkter"}  # type: ignore[union-attr]
    assert "Kontraktens øvrige punkter" in ver.report_sections


def _broken(tmp_path: Path, change: Any) -> str:
    source = Path(__file__).parents[2] / "contracts" / f"{KKR}.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    change(data)
    path = tmp_path / f"{KKR}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["narratives"][2].update(id="F1-1"), "narratives[2].id: 'F1-1' is used twice"),
        (
            lambda d: d["narratives"][3].update(title="ejerskifte  "),
            "narratives[3].title: 'ejerskifte  ' is used twice (narratives[2])",
        ),
        (
            lambda d: d["narratives"][1].update(place={"kpi": "F9"}),
            "narratives[1].place.kpi: 'F9' is not a KPI",
        ),
        (
            lambda d: d["narratives"][1].update(place={"section": "Bilag"}),
            "narratives[1].place.section: 'Bilag' is not in report_sections",
        ),
        (lambda d: d["narratives"][1].pop("required"), "narratives[1].required"),
        (lambda d: d["narratives"][1].update(title="## Ejerskifte"), "narratives[1].title"),
        (lambda d: d["narratives"][1].update(id="F1 1"), "narratives[1].id"),
        (lambda d: d["narratives"][1].update(place="bagerst"), "narratives[1].place"),
    ],
)
def test_a_narrative_that_breaks_the_rules_names_file_and_field(tmp_path, change, expected):
    message = _broken(tmp_path, change)
    assert f"{KKR}.yaml" in message and expected in message


# --- sections ---------------------------------------------------------------------------------


def test_headings_by_title_or_id_prefixed_in_any_case_and_spacing(kkr: Contract) -> None:
    found = parse(
        "## F1 Detailhandel, turisme og levende bymidter\n\nByerne.\n\n"
        "## F1-2 Ejerskifte\n\nGenerationsskifte.\n\n"
        "##   forsvar  \n\nForsvar.\n\n"
        "## F2-5: Digitalisering  og automatisering ##\n\nAI.\n\n"
        "## *Kommentar til M6*\n\nHvorfor.\n",
        kkr,
    )
    assert found == {
        "F1-1": "Byerne.",
        "F1-2": "Generationsskifte.",
        "F1-3": "Forsvar.",
        "F2-5": "AI.",
        "K-M6": "Hvorfor.",
    }


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_bom_and_line_ends_do_not_change_the_sections(kkr, bom, eol) -> None:
    text = "## Ejerskifte\n\nFørste linje\nanden linje.\n\n- æ\n- ø\n\n## Forsvar\n\nÅ.\n"
    sections = texts.parse(bom + text.replace("\n", eol).encode("utf-8"), kkr, FILE)
    assert [(s.id, s.line, s.markdown) for s in sections] == [
        ("F1-2", 1, "Første linje\nanden linje.\n\n- æ\n- ø"),
        ("F1-3", 9, "Å."),
    ]


def test_a_heading_with_nothing_under_it_counts_as_missing(kkr: Contract) -> None:
    found = parse("## Ejerskifte\n\n\n## Forsvar\n\nTekst.\n", kkr)
    assert found == {"F1-3": "Tekst."}
    missing = [n.id for n in texts.missing_required(kkr, found)]
    assert "F1-2" in missing and "F1-3" not in missing and "forord" not in missing


def test_level_3_headings_and_lists_stay_inside_their_section(kkr: Contract) -> None:
    found = parse("## Ejerskifte\n\n### Aktiviteter\n\n1. Et\n2. To\n\n## Forsvar\n\nX\n", kkr)
    assert found["F1-2"] == "### Aktiviteter\n\n1. Et\n2. To"


# --- errors: each one located (file, line, heading), in Danish ------------------------------


def test_text_before_the_first_heading_is_an_error_at_its_line(kkr: Contract) -> None:
    err = error("\n\nIndledning uden overskrift.\n\n## Ejerskifte\n\nX\n", kkr)
    assert err.messages == [
        f"{FILE}, linje 3: tekst før første overskrift er ikke tilladt; hvert afsnit begynder "
        "med en overskrift på niveau 2 (## …)"
    ]


def test_an_unknown_heading_names_file_line_and_heading(kkr: Contract) -> None:
    err = error("## Ejerskifte\n\nX\n\n## Status på turisme\n\nY\n", kkr)
    (message,) = err.messages
    assert message.startswith(f"{FILE}, linje 5: overskriften '## Status på turisme' svarer ")
    assert KKR in message
    assert str(err) == message


def test_an_unknown_heading_close_to_a_title_suggests_it(kkr: Contract) -> None:
    (message,) = error("## Forsvarr\n\nX\n", kkr).messages
    assert "linje 1" in message and "mente du '## Forsvar'?" in message


def test_a_long_unknown_heading_is_excerpted(kkr: Contract) -> None:
    heading = "Meget lang overskrift " * 20
    (message,) = error(f"## {heading}\n\nX\n", kkr).messages
    assert "…" in message and len(message) < 300 and heading not in message


def test_an_id_that_is_not_the_sections_is_an_unknown_heading(kkr: Contract) -> None:
    (message,) = error("## F2 Ejerskifte\n\nX\n", kkr).messages
    assert "linje 1" in message and "'## F2 Ejerskifte'" in message


def test_two_headings_for_one_section(kkr: Contract) -> None:
    err = error("## Ejerskifte\n\nX\n\n## F1-2 ejerskifte\n\nY\n", kkr)
    assert err.messages == [
        f"{FILE}, linje 5: afsnittet 'Ejerskifte' har allerede en overskrift i linje 1"
    ]


def test_a_level_1_heading_is_an_error(kkr: Contract) -> None:
    (message,) = error("# Årsrapport\n\n## Ejerskifte\n\nX\n", kkr).messages
    assert message.startswith(f"{FILE}, linje 1: overskriften '# Årsrapport' er på niveau 1")


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("<div>blok</div>\n", 5),
        ("Tekst med <b>fed</b> skrift.\n", 5),
        ("Første linje\nanden <script>alert(1)</script>\n", 6),
        ("<!-- en kommentar -->\n", 5),
    ],
)
def test_raw_html_is_an_error_at_its_line_under_its_heading(kkr, body, line) -> None:
    err = error(f"## Forsvar\n\nX\n\n{body}", kkr)
    assert err.messages == [
        f"{FILE}, linje {line} (under '## Forsvar'): HTML er ikke tilladt i teksterne; skriv "
        "almindelig tekst (Markdown)"
    ]


@pytest.mark.parametrize(
    "image", ["![kort](https://example.dk/kort.png)", "![kort][1]\n\n[1]: https://x.dk/k.png"]
)
def test_an_image_is_an_error(kkr: Contract, image: str) -> None:
    (message,) = error(f"## Forsvar\n\nTekst.\n{image}\n", kkr).messages
    assert message.startswith(f"{FILE}, linje 4 (under '## Forsvar'): billeder er ikke tilladt")


@pytest.mark.parametrize("cpr", ["010190-1234", "0101901234", "cprnr0101901234"])
def test_a_cpr_shaped_number_is_an_error_and_never_quoted(kkr: Contract, cpr: str) -> None:
    (message,) = error(f"## Ejerskifte\n\nEjeren ({cpr}) overdrager.\n", kkr).messages
    assert message.startswith(f"{FILE}, linje 3 (under '## Ejerskifte'): et tal af samme form")
    assert cpr not in message and "1234" not in message


def test_a_cpr_number_in_a_heading_is_masked_in_the_message(kkr: Contract) -> None:
    err = error("## Ejer 010190-1234\n\nX\n", kkr)
    assert all("010190" not in m for m in err.messages)
    assert len(err.messages) == 2  # the unknown heading and the number


def test_numbers_that_are_no_cpr_or_phone_number_pass(kkr: Contract) -> None:
    text = "## Ejerskifte\n\n44.815.000 kr., 2026, 12345678901, 1.234.567,89 kr., 12345678.\n"
    assert "44.815.000" in parse(text, kkr)["F1-2"]


# (the file's text under '## Ejerskifte' from line 3, the line the finding is on, what it is)
PRINTED = [
    ("Ejeren (&#48;10190-1234) overdrager.", 3, "CPR-nummer"),  # an entity for the 0
    ("Ejeren (&#x30;10190-1234) overdrager.", 3, "CPR-nummer"),
    ("Ejeren (020290\\-4321) overdrager.", 3, "CPR-nummer"),  # an escaped hyphen
    ("Ejeren har CPR 030390-\n1234 og overdrager.", 3, "CPR-nummer"),  # a soft break
    ("Ejeren har CPR\n030390 1234.", 4, "CPR-nummer"),
    ("Ejeren (010190–1234) overdrager.", 3, "CPR-nummer"),  # an en dash
    ("| Ejer | CPR |\n|---|---|\n| A | 010190 1234 |", 5, "CPR-nummer"),  # a table cell
    ("```\n0101901234\n```", 4, "CPR-nummer"),  # a code block prints as written
    ("Ring på 20 30 40 50.", 3, "telefonnummer"),
    ("Ring på +45 2030 4050.", 3, "telefonnummer"),
    ("Ring på 2030&#52;050.", 3, "telefonnummer"),
    ("Skriv til jens.hansen@firma.dk.", 3, "e-mailadresse"),
    ("Skriv til <jens.hansen@firma.dk>.", 3, "e-mailadresse"),
    ("Skriv [her](mailto:jens.hansen@firma.dk).", 3, "e-mailadresse"),  # the address is printed
]


@pytest.mark.parametrize(("body", "line", "what"), PRINTED)
def test_personal_data_is_found_in_the_text_as_printed(kkr, body, line, what) -> None:
    """The CPR, phone and e-mail checks read the text as the report prints it (entities
    decoded, escapes removed, line breaks joined), and name the source line it starts on,
    never the number or the address."""
    (message,) = error(f"## Ejerskifte\n\n{body}\n", kkr).messages
    assert message.startswith(f"{FILE}, linje {line} (under '## Ejerskifte'): ")
    assert what in message
    for secret in ("1234", "4321", "4050", "jens"):
        assert secret not in message


def test_a_section_over_the_size_limit_is_refused_at_its_heading(kkr: Contract) -> None:
    body = "Ord og ord. " * (texts.MAX_SECTION_CHARS // 12 + 1)
    (message,) = error(f"## Forsvar\n\nKort.\n\n## Ejerskifte\n\n{body}\n", kkr).messages
    assert message.startswith(f"{FILE}, linje 5 (under '## Ejerskifte'): afsnittet har ")
    assert "et afsnit må højst have 20.000 tegn" in message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, kkr) -> None:
    inbox = tmp_path / "inbox"
    path = inbox / texts.relpath(kkr, 2026)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"## Forsvar\n\n" + b"x" * texts.MAX_FILE_BYTES)
    with pytest.raises(texts.TextsError) as raised:
        texts.read(inbox, kkr, 2026)
    assert str(raised.value) == (
        f"{FILE}: filen fylder 200.012 byte; teksterne må højst fylde 200.000 byte; "
        "skriv kortere afsnit"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("## Ejerskifte\n\nÆ\n".encode("utf-16"), "linje 1: filen er gemt som UTF-16"),
        ("## Ejerskifte\n\nBøf\n".encode("cp1252"), "linje 3: filen er ikke UTF-8"),
        (b"## Ejerskifte\n\nA\x00B\n", "linje 3 (under '## Ejerskifte'): et kontroltegn"),
    ],
)
def test_an_unreadable_file_is_located(kkr: Contract, data: bytes, expected: str) -> None:
    assert f"{FILE}, {expected}" in str(error(data, kkr))


def test_every_problem_is_listed_and_the_first_summarises(kkr: Contract) -> None:
    err = error("Intro\n\n## Ukendt\n\n## Forsvar\n\n<i>x</i> ![a](b.png)\n", kkr)
    assert [p.line for p in err.problems] == [1, 3, 7, 7]
    assert str(err).startswith(f"{FILE}, linje 1: ") and str(err).endswith("(og 3 fejl mere)")


# --- the HTML the report gets -------------------------------------------------------------------


def test_render_gives_commonmark_with_tables_and_headings_below_the_title() -> None:
    html = str(
        texts.render(
            "Et *godt* år.\n\n### Aktiviteter\n\n| Område | Forløb |\n|---|---:|\n| A | 12 |\n", 4
        )
    )
    assert "<em>godt</em>" in html and '<h5 class="sub">Aktiviteter</h5>' in html
    assert "<table>" in html and '<td style="text-align:right">12</td>' in html


@pytest.mark.parametrize(
    ("title_level", "levels"), [(2, ["h3", "h4", "h5"]), (3, ["h4", "h5", "h6"]), (5, ["h6"] * 3)]
)
def test_a_texts_headings_nest_one_level_below_its_title_wherever_it_is_placed(
    title_level, levels
) -> None:
    """A tagged PDF's headings must not skip a level (PDF/UA-1): a '###' under a section text
    placed as an h3 was an h5."""
    html = str(texts.render("### A\n\n#### B\n\n##### C\n", title_level))
    found = re.findall(r"<(h\d) class=\"(\w+)\">([ABC])</h\d>", html)
    assert found == [
        (levels[0], "sub", "A"),
        (levels[1], "subsub", "B"),
        (levels[2], "subsub", "C"),
    ]


def test_links_are_written_out_and_nothing_is_fetched_or_clickable() -> None:
    html = str(
        texts.render(
            "Se [KKR](https://www.kkr.dk/midt), <https://erhvervshusmidt.dk> og "
            "[klik](javascript:alert(1)).\n\n![x](https://evil.example/p.png)\n",
            3,
        )
    )
    assert "KKR (https://www.kkr.dk/midt)" in html
    assert "https://erhvervshusmidt.dk" in html and "(https://erhvervshusmidt.dk)" not in html
    assert "<a" not in html and "<img" not in html and "href" not in html
    assert "javascript:alert" not in html.replace("[klik](javascript:alert(1))", "")


def test_raw_html_that_reaches_render_is_escaped_text() -> None:
    html = str(texts.render("<script>alert(1)</script>\n\nA <b>b</b>\n", 3))
    assert "<script>" not in html and "<b>" not in html and "&lt;script&gt;" in html


# --- the delivery in the warehouse --------------------------------------------------------------


def test_read_commit_and_stored(tmp_path: Path, con, kkr: Contract) -> None:
    inbox = tmp_path / "inbox"
    assert texts.read(inbox, kkr, 2026).missing
    path = inbox / texts.relpath(kkr, 2026)
    assert texts.relpath(kkr, 2026) == FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(
        "\ufeff## Forsvar\r\n\r\nSikkerhed.\r\n\r\n## Ejerskifte\r\n\r\nSkifte.\r\n".encode()
    )
    delivery = texts.read(inbox, kkr, 2026)
    assert delivery.encoding == "utf-8-sig" and delivery.sha256 and len(delivery.sections) == 2
    texts.commit(con, kkr, 2026, delivery, "2 afsnit", "run-1")
    assert texts.stored(con, KKR, 2026) == {"F1-3": "Sikkerhed.", "F1-2": "Skifte."}
    assert texts.previous(con, kkr, 2026) == (delivery.sha256, 2)
    checks = con.execute(
        "SELECT source, org, check_name, passed, blocking, sha256 FROM ingest.checks"
    ).fetchall()
    assert checks == [
        (f"report_texts:{KKR}", "erhvervshus-midtjylland", "texts_valid", True, True,
         delivery.sha256)
    ]  # fmt: skip
    # a bad file: the check fails against it, the sections stay the last good file's
    texts.refuse(con, kkr, 2026, "linje 1: …", "abc", "run-2")
    assert texts.stored(con, KKR, 2026) == {"F1-3": "Sikkerhed.", "F1-2": "Skifte."}
    assert con.execute("SELECT passed, sha256 FROM ingest.checks").fetchall() == [(False, "abc")]


def test_a_link_out_of_the_inbox_is_not_read(tmp_path: Path, kkr: Contract) -> None:
    inbox = tmp_path / "inbox"
    outside = tmp_path / "secret.md"
    outside.write_text("## Forsvar\n\nHemmeligt.\n", encoding="utf-8")
    path = inbox / texts.relpath(kkr, 2026)
    path.parent.mkdir(parents=True)
    path.symlink_to(outside)
    with pytest.raises(texts.TextsError, match="ikke en almindelig fil"):
        texts.read(inbox, kkr, 2026)


def test_the_path_pattern_classifies_texts_files() -> None:
    from resultatrapport.inventory import Delivery, classify

    assert classify(FILE) == Delivery(FILE, "report_texts", "erhvervshus-midtjylland", 2026, KKR)
    other = "viborgegnens-erhvervsraad/tekster/viborg-ver-2020_2021.md"
    assert classify(other) == Delivery(
        other, "report_texts", "viborgegnens-erhvervsraad", 2021, VER
    )
    for other in (
        "erhvervshus-midtjylland/tekster/kkr-midtjylland-2026_2026 (kopi).md",
        "erhvervshus-midtjylland/tekster/kkr-midtjylland-2026_2026.docx",
        "erhvervshus-midtjylland/crm/kkr-midtjylland-2026_2026.md",
    ):
        assert not isinstance(classify(other), Delivery)


# --- a delivery like the others: inventory, sensor, schedules, lineage --------------------------


def test_the_inventory_counts_a_texts_file_as_a_delivery(tmp_path: Path) -> None:
    from resultatrapport.inventory import is_delivery, unrecognised_files

    inbox = tmp_path / "inbox"
    folder = inbox / "erhvervshus-midtjylland/tekster"
    folder.mkdir(parents=True)
    (folder / "kkr-midtjylland-2026_2026.md").write_text("## Forsvar\n\nX\n", encoding="utf-8")
    (folder / "kkr-midtjylland-2026_2026 (kopi).md").write_text("x", encoding="utf-8")
    assert is_delivery(FILE)
    assert [s.relpath for s in unrecognised_files(inbox)] == [
        "erhvervshus-midtjylland/tekster/kkr-midtjylland-2026_2026 (kopi).md"
    ]


def test_the_inbox_sensor_reingests_a_new_or_changed_text_like_any_delivery(contracts) -> None:
    from pipelines.automation import inbox_requests

    crm = "erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv"
    state = {FILE: [10, 1, "sha-new"], crm: [10, 1, "sha-crm"]}
    requests, ignored = inbox_requests(contracts.values(), [FILE, crm], 2026, state, {})
    [request] = requests
    assert request.partition_key == "2026" and not ignored
    chosen = {k.to_user_string() for k in request.asset_selection or []}
    assert "ingest/erhvervshus_midtjylland/report_texts/kkr_midtjylland_2026" in chosen
    assert "ingest/erhvervshus_midtjylland/crm_cases" in chosen
    assert FILE in request.tags["files"]
    # the same content as the warehouse holds: nothing to do
    held = {(f"report_texts:{KKR}", "erhvervshus-midtjylland", 2026): "sha-new"}
    requests, ignored = inbox_requests(contracts.values(), [FILE], 2026, state, held)
    assert not requests and ignored == [f"{FILE}: already ingested with this content"]
    # a changed text is a new run (another run key)
    again, _ = inbox_requests(contracts.values(), [FILE], 2026, {FILE: [11, 2, "sha-newer"]}, held)
    first, _ = inbox_requests(contracts.values(), [FILE], 2026, state, {})
    assert again[0].run_key != first[0].run_key


def test_the_sensor_ignores_texts_of_no_contract_or_of_a_future_year(contracts) -> None:
    from pipelines.automation import inbox_requests

    other = "erhvervshus-midtjylland/tekster/ukendt-kontrakt_2026.md"
    wrong_org = "viborgegnens-erhvervsraad/tekster/kkr-midtjylland-2026_2026.md"
    later = "erhvervshus-midtjylland/tekster/kkr-midtjylland-2026_2027.md"
    state = {p: [1, 1, "x"] for p in (other, wrong_org, later)}
    requests, ignored = inbox_requests(contracts.values(), list(state), 2026, state, {})
    assert not requests and len(ignored) == 3


def test_after_ingesting_texts_the_contract_year_is_rebuilt(contracts) -> None:
    from assets.texts import texts_key
    from pipelines.automation import texts_contract_years

    key = texts_key(contracts[KKR])
    found = texts_contract_years(contracts.values(), [key], [2025, 2026, 2027], 2026)
    assert [(c.id, y) for c, y in found] == [(KKR, 2026)]


def test_the_draft_reads_the_texts_and_the_ingestion_jobs_run_them() -> None:
    from dagster import AssetKey

    from pipelines.definitions import build_definitions

    defs = build_definitions()

    texts_key = AssetKey(
        ["ingest", "erhvervshus_midtjylland", "report_texts", "kkr_midtjylland_2026"]
    )
    graph = defs.resolve_asset_graph()
    draft = AssetKey(["report", "kkr_midtjylland_2026", "draft"])
    assert texts_key in graph.get(draft).parent_keys
    for job in ("ingest_kkr_midtjylland_2026", "ingest_all"):
        assert texts_key in defs.resolve_job_def(job).asset_layer.executable_asset_keys
    contract_job = defs.resolve_job_def("contract_kkr_midtjylland_2026")
    assert texts_key not in contract_job.asset_layer.executable_asset_keys


def test_the_nightly_and_january_refresh_read_the_texts_too(contracts) -> None:
    from pipelines.automation import refresh_request

    request = refresh_request(contracts.values(), 2026, "nightly")
    chosen = {k.to_user_string() for k in request.asset_selection or []}  # type: ignore[union-attr]
    assert "ingest/erhvervshus_midtjylland/report_texts/kkr_midtjylland_2026" in chosen
    assert not any("viborg" in k for k in chosen)


# --- the sample generator ---------------------------------------------------------------------


def test_the_sample_writes_every_declared_section_for_each_contract_year(tmp_path, contracts):
    from resultatrapport.sample.texts import write_texts

    written = write_texts(tmp_path, range(2020, 2028), seed=7)
    assert sorted(written) == [
        f"erhvervshus-midtjylland/tekster/{KKR}_2026.md",
        f"erhvervshus-midtjylland/tekster/{KKR}_2027.md",
        *(f"viborgegnens-erhvervsraad/tekster/{VER}_{y}.md" for y in range(2020, 2024)),
    ]
    assert {w["line_ending"] for w in written.values()} == {"LF", "CRLF"}
    assert {w["encoding"] for w in written.values()} == {"utf-8", "utf-8-sig"}
    from resultatrapport.inventory import Delivery, classify

    for relpath in written:
        found = classify(relpath)
        assert isinstance(found, Delivery) and found.contract
        contract, year = contracts[found.contract], found.year
        sections = texts.parse((tmp_path / relpath).read_bytes(), contract, relpath)
        assert [s.id for s in sections] == [n.id for n in contract.narratives]
        assert all(str(year) in s.markdown for s in sections if s.id in ("F1-1", "V4-A1"))
        assert not texts.missing_required(contract, {s.id: s.markdown for s in sections})
    again = write_texts(tmp_path / "again", [2026], seed=7)
    assert again[FILE]["sha256"] == written[FILE]["sha256"]
    other = write_texts(tmp_path / "other", [2026], seed=8)
    assert other[FILE]["sha256"] != written[FILE]["sha256"]


def test_a_file_named_like_the_texts_file_blocks_the_year_it_carries(tmp_path: Path) -> None:
    from resultatrapport.inventory import shown_name, texts_refusal, texts_strays

    folder = tmp_path / "erhvervshus-midtjylland" / "tekster"
    folder.mkdir(parents=True)
    for name in (
        "kkr-midtjylland-2026_2026.md",  # the file itself
        "kkr-midtjylland-2026_2026 (kopi).md",
        "KKR-midtjylland-2026_2027.md",
        "kkr-midtjylland-2026_rettet.md",  # no year: blocks every year
        "andet.md",  # not named like it: only listed
    ):
        (folder / name).write_text("## Forsvar\n\nx\n", encoding="utf-8")
    org = "erhvervshus-midtjylland"
    assert texts_strays(tmp_path, org, KKR, 2026) == [
        f"{org}/tekster/kkr-midtjylland-2026_2026 (kopi).md",
        f"{org}/tekster/kkr-midtjylland-2026_rettet.md",
    ]
    assert texts_strays(tmp_path, org, KKR, 2027) == [
        f"{org}/tekster/KKR-midtjylland-2026_2027.md",
        f"{org}/tekster/kkr-midtjylland-2026_rettet.md",
    ]
    (folder / "kkr-midtjylland-2026_rettet.md").unlink()
    reason = texts_refusal(tmp_path, org, KKR, 2026, FILE)
    assert reason == (
        f"ukendt fil i tekstmappen: '{org}/tekster/kkr-midtjylland-2026_2026 (kopi).md'; den "
        f"forventede fil hedder '{FILE}'. Omdøb eller fjern filen, og kør igen"
    )
    assert shown_name("a\nOK - 99 assets materialised\r\x07\u2028\\ æ") == (
        "a\\nOK - 99 assets materialised\\r\\x07\\u2028\\\\ æ"
    )
