from __future__ import annotations

import io

from resultatrapport.progress import progress, track


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal():
    out = io.StringIO()
    with progress(3, "generating", stream=out) as shown:
        shown.update(note="register/cvr_virksomheder.csv")
        shown.update(0, note="register/regnskaber_2024.csv: 1,000,000/6,000,000 rows")
        shown.update()
        shown.update(1, "financials 2024")
    assert out.getvalue().splitlines() == [
        "generating: register/cvr_virksomheder.csv (1/3)",
        "generating: register/regnskaber_2024.csv: 1,000,000/6,000,000 rows (1/3)",
        "generating: (2/3)",
        "generating: financials 2024 (3/3)",
    ]
    assert "\r" not in out.getvalue()


def test_plain_lines_at_most_every_min_interval_but_always_the_last():
    out = io.StringIO()
    with progress(1_000, "backfill", stream=out, min_interval=3600) as shown:
        for _ in range(1_000):
            shown.update()
    assert out.getvalue().splitlines() == ["backfill: (1/1000)", "backfill: (1000/1000)"]


def test_a_bar_on_a_terminal():
    out = _Terminal()
    with progress(2, "ingesting", stream=out, unit="year") as shown:
        shown.update(note="2024")
        shown.update(note="2025")
    text = out.getvalue()
    assert "\r" in text and "ingesting" in text and "2/2" in text and "2025" in text


def test_track_counts_each_item_once_it_is_done():
    out = io.StringIO()
    seen = []
    for year in track([2024, 2025], "ingesting", stream=out, note=lambda y: f"year {y}"):
        seen.append((year, out.getvalue().count("\n")))
    assert seen == [(2024, 0), (2025, 1)]
    assert out.getvalue().splitlines() == [
        "ingesting: year 2024 (1/2)",
        "ingesting: year 2025 (2/2)",
    ]
