"""A generated example contract (contracts/examples/) says so in its report: on the cover under
the title, at the foot of every page and in the provenance, so that no reader takes it for a
real contract; a real contract's report says nothing of the kind."""

from __future__ import annotations

import re

from resultatrapport.contracts import Contract, load_contract
from resultatrapport.settings import contracts_dir
from tests.unit.report.test_quality import report_html

NOTE = "Genereret eksempel – ikke en rigtig kontrakt"


def test_an_example_contract_s_report_says_it_is_one_on_every_page(con):
    fyn = load_contract(contracts_dir() / "examples" / "eksempel-fyn-2026.yaml")
    assert fyn.example is not None
    html = report_html(con, fyn)
    cover = html[html.index('<section class="cover">') : html.index("</section>")]
    # under the title, before the parties
    assert re.search(rf"</h1>\s*<div class=\"example\">{NOTE}\. Dannet af resultatrapport", cover)
    assert cover.index('class="example"') < cover.index('class="parties"')
    assert f'@bottom-right {{ content: "{NOTE}"' in html  # the foot of every page
    provenance = html[html.index("<h2>Bilag: Proveniens</h2>") :]
    assert "Kontrakten er et genereret eksempel" in provenance and fyn.example in provenance


def test_a_real_contract_s_report_has_no_example_note(con, kkr: Contract):
    html = report_html(con, kkr)
    assert 'class="example"' not in html and "Genereret eksempel" not in html
