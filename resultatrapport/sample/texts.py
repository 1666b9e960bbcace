"""Sample texts of the report owner: ``<org>/tekster/<contract-id>_<YYYY>.md`` with plausible
Danish prose for every section each contract declares (``narratives``), for the contract
years among the years generated, so the demo's draft shows them.

The prose is written for the two contracts of the repository (a section it does not know
gets a short general status). It states no figure: the figures of the report are the ones the
pipeline computes from the same sample, and a count written here (»61 afklaringsforløb«)
would contradict them (issue 26, point 8); the only numbers are years. What varies with the
sample's seed, contract and year (a generator seeded by them, so the same seed gives the same
bytes and the rest of the sample is not changed) is the wording of the headings and comments.
The files vary as real ones do: with and without a byte-order mark, LF and CRLF, lists, a
table, a link written out, a level-3 heading.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from resultatrapport import texts
from resultatrapport.contracts import Contract, KpiPlace, Narrative, load_contract_folder

Writer = Callable[[random.Random, int], str]


KKR_TEXTS: dict[str, Writer] = {
    "forord": lambda r, y: (
        f"Erhvervshus Midtjylland afrapporterer hermed status på resultatkontrakten med KKR "
        f"Midtjylland for {y}. Rapporten følger kontraktens mål: de nationale mål, de regionale "
        "mål og de midtjyske fokusområder og særlige indsatsområder.\n\n"
        "Tallene er dannet direkte fra erhvervshusets CRM-system, brugerevalueringen og de "
        "offentlige registre; de skrevne afsnit er erhvervshusets egen status. Direktøren har "
        "ansvaret for overholdelse af og afrapportering på resultatkontrakten."
    ),
    "F1-1": lambda r, y: (
        f"I {y} har erhvervshuset sammen med den lokale erhvervsservice arbejdet med detailhandel, "
        "turisme og bymidter i en række af regionens kommuner. Indsatsen har især "
        "handlet om digital synlighed, omstilling af butiksdriften og samarbejde om levende "
        "bymidter.\n\n"
        "- netværksforløb for detailhandlere i mindre byer\n"
        "- sparring om længere sæson med turismeaktører ved kysten og søerne\n"
        "- fælles oplæg med kommunerne om planer for bymidterne\n\n"
        "Efterspørgslen har været størst blandt de mindste butikker."
    ),
    "F1-2": lambda r, y: (
        "Ejerskifte har haft særligt fokus i samarbejde med den lokale erhvervsservice. "
        "Erhvervshuset har holdt informationsmøder og tilbudt individuel afklaring af "
        "mulighederne for at overdrage virksomheden.\n\n"
        "| Aktivitet | Indhold |\n|---|---|\n"
        "| Informationsmøder | sammen med den lokale erhvervsservice |\n"
        "| Individuelle afklaringer | ejerens muligheder for at overdrage virksomheden |\n"
        "| Henvisninger til private rådgivere | værdiansættelse, jura og finansiering |\n\n"
        "Flere ejere end ventet har ønsket hjælp til at finde en køber uden for familien; "
        "indsatsen fortsætter med et forløb for købere."
    ),
    "F1-3": lambda r, y: (
        f"Erhvervshuset har kortlagt midtjyske SMV'er med kompetencer, der er relevante for "
        f"forsvaret, og har i {y} gennemført afklaringsforløb om "
        "leverandørmuligheder, certificering og sikkerhedskrav.\n\n"
        "Virksomhederne er henvist til de nationale tilbud, bl.a. [Forsvarsministeriets "
        "Materiel- og Indkøbsstyrelse](https://www.fmi.dk), og til netværk af "
        "underleverandører."
    ),
    "F2-1": lambda r, y: (
        f"Erhvervshuset har i {y} afklaret innovationsprojekter med virksomhederne og henvist "
        "dem til klyngerne, Innovationsfonden og EU's programmer via Midtjyllands EU-kontor. "
        "Henvisningerne er spredt over hele regionen."
    ),
    "F2-2": lambda r, y: (
        "Erhvervshuset har kunnet omstille sin indsats hurtigt: ved cyberangreb og forstyrrede "
        "forsyningskæder er virksomhederne tilbudt akut sparring inden for få dage, og "
        "virksomheder i økonomisk krise er henvist til Early Warning."
    ),
    "F2-3": lambda r, y: (
        "Vejledningen har haft fokus på virksomhedernes behov for arbejdskraft. Virksomhederne "
        "er henvist til uddannelsesinstitutionerne og kommunernes jobcentre, og erhvervshuset "
        "har delt sin viden om SMV'ernes behov for kompetenceudvikling med dem."
    ),
    "F2-4": lambda r, y: (
        "Erhvervshuset har støttet den grønne omstilling med forløb om energieffektivisering, "
        "ressourceanvendelse og krav fra kunder i værdikæden. Hvor det var relevant, er "
        "kommunernes klimahandlingsplaner bragt ind i vejledningen."
    ),
    "F2-5": lambda r, y: (
        "Virksomhederne er vejledt om anvendelse af digitale teknologier, herunder kunstig "
        "intelligens i et forretningsmæssigt perspektiv, og om robusthed over for cyberangreb. "
        "En del af forløbene er gennemført i regi af European Digital Innovation Hub."
    ),
    "F2-6": lambda r, y: (
        "Iværksættere er vejledt med afsæt i de lokale styrker i den midtjyske geografi og den "
        "nationale Iværksætterguide, i samarbejde med Erhvervsstyrelsen og "
        "videninstitutionerne."
    ),
    "F2-7": lambda r, y: (
        "Erhvervshuset har bragt de nationale eksportordninger i anvendelse blandt midtjyske "
        "SMV'er og henvist virksomheder med eksportplaner til Eksportrådet og Danmarks "
        "Eksport- og Investeringsfond."
    ),
    "K-M1": lambda r, y: (
        f"Kendskabsmålingen gennemføres af Erhvervsstyrelsen og er ikke nødvendigvis holdt i {y}; "
        "målet kan først vurderes, når målingen foreligger."
    ),
    "K-M6": lambda r, y: (
        "Erhvervshuset har fra andet halvår tilpasset forløbene om bæredygtighed, så de ender "
        "med en konkret handleplan."
    ),
    "K-R3": lambda r, y: (
        "Kommuner under spændet inviteres til dialog om at styrke vejledningsindsatsen, som "
        "kontrakten foreskriver. Møderne holdes i første kvartal."
    ),
}

VIBORG_TEXTS: dict[str, Writer] = {
    "V3-S": lambda r, y: (
        "Bevillingsskrivelsen med CFI's resultatmål indgår ikke i "
        "afrapporteringsgrundlaget, og målene kan derfor ikke opgøres i tal. VER har i "
        f"{y} videreført CFI's aktiviteter for industrivirksomhederne: netværksmøder, "
        "produktionsfaglige temadage og sparring om automatisering. Status "
        "drøftes på månedsmøderne med Viborg Kommune."
    ),
    "V4-A1": lambda r, y: (
        f"VER har i {y} haft fast kontordag på Arsenalet og rådgivet iværksættere i miljøet om "
        "forretningsplaner, finansiering og netværk."
    ),
    "V4-A2": lambda r, y: (
        "VER har samarbejdet med Agro Business Park om tilbud til fødevare- og "
        "agrovirksomheder og henvist virksomheder til parkens forløb."
    ),
    "V4-B1": lambda r, y: (
        "VER har deltaget i arbejdet med AU's Demolab for digital transformation i Viborg "
        "Kommune og bidraget til at definere indholdet sammen med AU og de øvrige partnere."
    ),
    "V4-B2": lambda r, y: (
        "VER har formidlet projektsamarbejder og praktikpladser mellem "
        "studerende og lokale virksomheder."
    ),
    "V4-B3": lambda r, y: (
        "Virksomheder er koblet med vidensinstitutioner i og uden for kommunen, bl.a. gennem "
        "videnkuponer og temamøder om forskningssamarbejde."
    ),
    "V4-C1": lambda r, y: (
        "VER og Viborg Kommune har samarbejdet proaktivt med Invest in Viborg og Invest in "
        "Denmark om at tiltrække investeringer, herunder følgeinvesteringer omkring "
        "datacentret."
    ),
    "V4-D1": lambda r, y: (
        "Arbejdet med Karriereby Viborg har fulgt oplægget fra Viborg Kommune: matchmaking "
        "mellem studerende og virksomheder og arrangementer på uddannelsesinstitutionerne."
    ),
    "V4-D2": lambda r, y: (
        "International Community har tilbudt velkomst, netværk og hjælp til medfølgende "
        "ægtefæller; internationale medarbejdere og deres familier har deltaget i arrangementer."
    ),
    "V4-D3": lambda r, y: (
        "VER har arbejdet sammen med kommunen om kampagner for at tiltrække kvalificeret "
        "arbejdskraft, bl.a. på jobmesser og i samarbejde med jobcentret."
    ),
    "V4-D4": lambda r, y: (
        "VER har støttet kommunens arbejde for at tiltrække nye uddannelser med viden om "
        "virksomhedernes behov for kompetencer."
    ),
    "P4": lambda r, y: (
        "VER og Viborg Kommune har orienteret hinanden om strategiske tiltag, der involverer "
        "erhvervslivet.\n\n"
        "### Sammenhængsmodellen\n\n"
        "VER har bidraget til kommunens sammenhængsmodel ved at koordinere tilbud til "
        "virksomhederne med kommunens forvaltninger.\n\n"
        "### Kampagner og markedsføring\n\n"
        "Der er gennemført fælles kampagner, og VER har deltaget i fællesindkøb af "
        "annonceplads."
    ),
    "P5": lambda r, y: (
        "CFI's aktiviteter, opgaver og personale er integreret i VER. Arbejdet med House of "
        f"Industry i Banebyen er i {y} fortsat med projektering og dialog med kommende lejere."
    ),
}

KNOWN: dict[str, dict[str, Writer]] = {
    "kkr-midtjylland-2026": KKR_TEXTS,
    "viborg-ver-2020": VIBORG_TEXTS,
}


# a comment stands beneath its KPI: it needs not name it (a KPI's name may hold a number of
# the contract's own, »under 3 år«, which the report prints beside the figures anyway)
COMMENTS = (
    "Resultatet for {year} giver ikke anledning til særlige bemærkninger ud over det, tallene "
    "viser.",
    "Erhvervshuset følger målepunktet løbende og drøfter udviklingen med bestyrelsen hvert "
    "kvartal.",
    "Opgørelsen bygger på årets data, som de forelå ved afrapporteringen; tallet kan blive "
    "justeret, når de sidste leverancer foreligger.",
)


def _example_foreword(contract: Contract, year: int) -> str:
    """The foreword of a generated example contract's texts: it says what it is."""
    return (
        f"{contract.organisation.name} afrapporterer her status for {year}. Kontrakten er et "
        "genereret eksempel, og tallene bygger på genererede eksempeldata: rapporten viser, "
        "hvordan erhvervshusets afrapportering og landsoverblikket ser ud, og siger intet om "
        "erhvervshusets faktiske arbejde."
    )


def _general(narrative: Narrative, year: int, rng: random.Random) -> str:
    if isinstance(narrative.place, KpiPlace):
        return rng.choice(COMMENTS).format(year=year)
    return (
        f"Status for {year}: arbejdet med {narrative.title[:1].lower() + narrative.title[1:]} "
        "er gennemført som planlagt, og der er ingen væsentlige afvigelser at bemærke."
    )


def text_for(contract: Contract, year: int, seed: int) -> str:
    """The texts file of a contract and year: every declared section under its heading."""
    rng = random.Random(f"{seed}:{contract.id}:{year}")
    writers = KNOWN.get(contract.id, {})
    parts = []
    for n in contract.narratives:
        writer = writers.get(n.id)
        if writer:
            body = writer(rng, year)
        elif contract.example is not None and n.place == "foreword":
            body = _example_foreword(contract, year)
        else:
            body = _general(n, year, rng)
        # the id before the title in some headings, as report owners write them
        heading = f"{n.id} {n.title}" if rng.random() < 0.3 else n.title
        parts.append(f"## {heading}\n\n{body}\n")
    return "\n".join(parts)


def write_texts(
    out: Path, years: Sequence[int], seed: int, contracts: Sequence[Contract] | None = None
) -> dict[str, dict[str, Any]]:
    """Write the texts of every valid contract for its years among ``years``; returns the
    manifest's entry per file."""
    if contracts is None:
        contracts = list(load_contract_folder().contracts.values())
    written: dict[str, dict[str, Any]] = {}
    for contract in contracts:
        if not contract.narratives:
            continue
        for year in sorted(set(years) & set(contract.years)):
            text = text_for(contract, year, seed)
            crlf, bom = year % 2 == 1, year % 2 == 0
            data = (b"\xef\xbb\xbf" if bom else b"") + text.replace(
                "\n", "\r\n" if crlf else "\n"
            ).encode("utf-8")
            relpath = texts.relpath(contract, year)
            path = out / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written[relpath] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "sections": len(contract.narratives),
                "encoding": "utf-8-sig" if bom else "utf-8",
                "line_ending": "CRLF" if crlf else "LF",
            }
    return written
