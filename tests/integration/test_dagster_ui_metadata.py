"""What analysts and report owners see in the Dagster UI (issue 13): a target_met check per
KPI, typed metadata per year (also after a range run), code references to the contract
file, tags, descriptions that render as written, and runs that cannot fake success when a
delivery was never ingested. The Dagster runs of the module share one warehouse and
instance: Viborg 2020-2021 ingested, then its KPIs to the draft in one range run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, MetadataValue

from assets.kpis import kpi_key
from pipelines.automation import RANGE_END_TAG, RANGE_START_TAG
from pipelines.jobs import ingestion_job_name, job_name
from resultatrapport.kpis.status import OPFYLDT
from resultatrapport.report.rounding import value_decimals
from resultatrapport.sample.generate import generate_inbox
from resultatrapport.settings import PROJECT_ROOT
from tests.helpers import crm_row, write_crm

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"
# the checks by name (assets.common.INGESTED, assets.kpis.TARGET_MET)
INGESTED, TARGET_MET = "inputs_ingested", "target_met"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture(scope="module")
def defs():
    from pipelines.definitions import build_definitions

    return build_definitions()


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.vars = {
            "RESULTATRAPPORT_INBOX": str(root / "inbox"),
            "RESULTATRAPPORT_WAREHOUSE": str(root / "warehouse.duckdb"),
            "RESULTATRAPPORT_OUT": str(root / "out"),
            "DAGSTER_HOME": str(root / "dagster_home"),
        }
        self.results: dict[str, Any] = {}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, defs) -> Any:
    """Viborg 2020 and 2021 ingested, KPIs to draft for 2020-2021 in one single run, and the
    contract job for 2022, whose deliveries were never ingested."""
    root = tmp_path_factory.mktemp("ui")
    generate_inbox(root / "inbox", range(2020, 2023), scale=0.05, seed=7)
    (root / "dagster_home").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    env = Env(root)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.vars.items():
            mp.setenv(name, value)
        with DagsterInstance.get() as instance:
            ingest = defs.resolve_job_def(ingestion_job_name(VER))
            done = ingest.execute_in_process(  # both years in one run, as the CLI ingests them
                instance=instance,
                tags={RANGE_START_TAG: "2020", RANGE_END_TAG: "2021"},
                run_config=QUIET,
            )
            assert done.success
            job = defs.resolve_job_def(job_name(VER))
            env.results["range"] = job.execute_in_process(
                instance=instance,
                tags={RANGE_START_TAG: "2020", RANGE_END_TAG: "2021"},
                run_config=QUIET,
            )
            env.results["missing"] = job.execute_in_process(
                instance=instance, partition_key="2022", raise_on_error=False, run_config=QUIET
            )
            env.results["events"] = {
                key: {
                    r.partition_key: r.asset_materialization
                    for r in instance.fetch_materializations(key, limit=100).records
                    if r.run_id == env.results["range"].run_id
                }
                for key in [
                    *(kpi_key(c, k) for c in [_ver(defs)] for k in c.kpis),
                    AssetKey(["report", "viborg_ver_2020", "kpi_results"]),
                    AssetKey(["report", "viborg_ver_2020", "draft"]),
                ]
            }
            # the checks' state per partition as the UI reads it from the instance
            graph = defs.resolve_asset_graph()
            keys = [
                (AssetCheckKey(AssetKey(["kpi", "viborg_ver_2020", k]), TARGET_MET),
                 graph.get(AssetKey(["kpi", "viborg_ver_2020", k])).partitions_def)
                for k in ("v1", "v2")
            ]  # fmt: skip
            env.results["check_state"] = {
                key.asset_key.path[-1]: {
                    status.value: set(subset.subset_value.get_partition_keys())
                    for status, subset in state.subsets.items()
                    if not subset.is_empty
                }
                for key, state in instance.event_log_storage.get_asset_check_state(keys).items()
            }
    return env


def _ver(defs) -> Any:
    from resultatrapport.contracts import load_contracts

    return load_contracts()[VER]


def _kpi_nodes(defs) -> list[Any]:
    graph = defs.resolve_asset_graph()
    return [graph.get(k) for k in graph.get_all_asset_keys() if k.path[0] == "kpi"]


def test_every_kpi_has_a_partitioned_target_met_check_and_a_blocking_ingestion_check(defs):
    graph = defs.resolve_asset_graph()
    nodes = _kpi_nodes(defs)
    assert len(nodes) == 20  # 16 of KKR and 4 of Viborg
    for node in nodes:
        specs = {s.name: s for s in node.assets_def.check_specs}
        assert not specs[TARGET_MET].blocking, node.key
        assert specs[TARGET_MET].partitions_def == node.partitions_def
        assert not specs["status_certain"].blocking, node.key
        assert specs["status_certain"].partitions_def == node.partitions_def
        assert specs[INGESTED].blocking, node.key
    for scope in ("viborg_ver_2020", "kkr_midtjylland_2026"):
        for key in (["budget", scope, "distribution"], ["report", scope, "draft"]):
            checks = {k.name for k in graph.get(AssetKey(key)).check_keys}
            assert INGESTED in checks, key


def test_a_range_run_records_each_year_with_its_own_typed_and_rounded_figures(env):
    assert env.results["range"].success
    for key, by_partition in env.results["events"].items():
        assert set(by_partition) == {"2020", "2021"}, key
        if key.path[0] != "kpi":
            continue
        for partition, mat in by_partition.items():
            md = mat.metadata
            assert "results_by_year" not in md
            unit = md["unit"].value
            assert md["status"].value, (key, partition)
            value = md["value"]
            if value.value is not None:
                assert isinstance(value, type(MetadataValue.float(0.0))), key
                target, op = md["target"].value, md["operator"].value or None
                decimals = value_decimals(value.value, unit, target, op)
                assert round(value.value, decimals) == value.value
            for name in ("target", "low", "high"):
                assert name in md, (key, name)
                assert md[name].value is None or isinstance(md[name].value, float)
            assert isinstance(md["operator"].value, str)
    # the two years differ where the data do: each event carries its own year's figure
    v1 = env.results["events"][AssetKey(["kpi", "viborg_ver_2020", "v1"])]
    assert v1["2020"].metadata["value"].value != v1["2021"].metadata["value"].value


def test_target_met_passes_or_warns_per_year_and_is_skipped_without_a_target(env):
    result = env.results["range"]
    evaluations: dict[tuple[str, str | None], Any] = {}
    for e in result.get_asset_check_evaluations():
        if e.check_name == TARGET_MET:
            evaluations[(e.asset_key.path[-1], e.partition)] = e
    # V2 (årsværk) has a target each year; V1 and V4 have none, V3 cannot be measured
    assert {k for k in evaluations} == {("v2", "2020"), ("v2", "2021")}
    for (_, partition), e in evaluations.items():
        status = (
            env.results["events"][AssetKey(["kpi", "viborg_ver_2020", "v2"])][partition]
            .metadata["status"]
            .value
        )
        assert e.passed == (status == OPFYLDT)
        assert e.severity.value == "WARN"
        assert isinstance(e.metadata["target"].value, float)
    # in the instance, as the graph, the catalog and the checks tab show it: V1 skipped in
    # both years (no target), V2 passed or failed (warning) in each; 2022, whose run failed
    # for want of ingested deliveries, shows as not executed
    state = env.results["check_state"]
    assert state["v1"] == {"SKIPPED": {"2020", "2021"}, "EXECUTION_FAILED": {"2022"}}
    assert state["v2"]["EXECUTION_FAILED"] == {"2022"}
    judged = {k: v for k, v in state["v2"].items() if k != "EXECUTION_FAILED"}
    assert set(judged) <= {"SUCCEEDED", "FAILED"}
    assert set().union(*judged.values()) == {"2020", "2021"}
    ingested = [e for e in result.get_asset_check_evaluations() if e.check_name == INGESTED]
    assert ingested and all(e.passed and e.partition in ("2020", "2021") for e in ingested)


def test_the_results_asset_shows_each_years_kpis_as_a_table_of_its_own(env):
    """After a range run each year's materialisation of the results asset carries that
    year's KPIs as a typed table (status and uncertainty), so that an analyst sees what is
    met, missed or uncertain from the catalog without opening each KPI."""
    events = env.results["events"][AssetKey(["report", "viborg_ver_2020", "kpi_results"])]
    assert set(events) == {"2020", "2021"}
    for year, materialization in events.items():
        table = materialization.metadata["kpis"]
        assert [c.name for c in table.schema.columns] == [
            "kpi", "status", "usikker", "vaerdi", "maal",
        ]  # fmt: skip
        rows = {r.data["kpi"]: r.data for r in table.records}
        assert sorted(rows) == ["V1", "V2", "V3", "V4"], year
        status = env.results["events"][AssetKey(["kpi", "viborg_ver_2020", "v2"])][year]
        assert rows["V2"]["status"] == status.metadata["status"].value
        assert isinstance(rows["V2"]["usikker"], bool)
        assert materialization.metadata["dagster/row_count"].value == 4


def test_a_range_run_records_each_years_draft_with_its_file_and_data_hash(env):
    """The draft of each year of a range run is its own materialisation: the year's file,
    its appendix and the hash of the data it shows (once, one entry listed every year's path
    and no hash)."""
    events = env.results["events"][AssetKey(["report", "viborg_ver_2020", "draft"])]
    assert set(events) == {"2020", "2021"}
    hashes = set()
    for year, materialization in events.items():
        md = materialization.metadata
        assert md["path"].value.endswith(f"aarsrapport_viborg-ver-2020_{year}_udkast.pdf")
        assert Path(md["path"].value).is_file() and Path(md["appendix"].value).is_file()
        assert len(md["data_hash"].value) == 64
        hashes.add(md["data_hash"].value)
        assert "paths" not in md
    assert len(hashes) == 2


def test_code_references_point_at_the_kpi_in_its_contract_file(defs):
    for node in _kpi_nodes(defs):
        refs = node.metadata["dagster/code_references"].code_references
        assert len(refs) == 1
        ref = refs[0]
        kpi_id = node.metadata["kpi_id"]
        path = Path(ref.file_path)
        assert path.name.endswith(".yaml") and path.parent.name == "contracts"
        line = path.read_text(encoding="utf-8").splitlines()[ref.line_number - 1]
        assert line.strip() in (f"- id: {kpi_id}", f'- id: "{kpi_id}"'), (kpi_id, line)


def test_kpi_assets_are_tagged_with_contract_stage_and_organisation(defs):
    for node in _kpi_nodes(defs):
        tags = node.tags
        assert tags["stage"] == "kpi"
        assert tags["contract"].replace("-", "_") == node.key.path[1]
        assert tags["organisation"] in ("viborgegnens-erhvervsraad", "erhvervshus-midtjylland")


def test_descriptions_render_as_written(defs):
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    for node in _kpi_nodes(defs):
        html = md.render(node.description)
        assert "<blockquote>" not in html, node.key
        # emphasis only where the description means it: the title
        assert html.count("<strong>") == 1, node.key
        assert "**" not in html and "&gt;=" not in html, node.key
    # the contract's own words: a '>=' at a line start is no block quote, '**' no emphasis
    from assets.common import markdown_text

    assert md.render(markdown_text(">= 70 **vigtigt**")).strip() == ("<p>&gt;= 70 **vigtigt**</p>")


def test_a_year_never_ingested_fails_naming_the_deliveries_and_the_job(env):
    result = env.results["missing"]
    assert not result.success
    failed = [
        e for e in result.get_asset_check_evaluations() if e.check_name == INGESTED and not e.passed
    ]
    assert failed and all(e.partition == "2022" and e.blocking for e in failed)
    named = " ".join(e.description or "" for e in failed)
    assert "crm_cases" in named and "2022" in named
    assert {e.asset_key.path[0] for e in failed} >= {"kpi", "budget"}
    failures = [
        ev.step_failure_data.error.message
        for ev in result.all_events
        if ev.is_step_failure and ev.step_failure_data.error
    ]
    assert any(ingestion_job_name(VER) in m and "2022" in m for m in failures)
    # nothing that reads a delivery was computed for the year (V3 reads none: it is measured
    # outside the pipeline and says so), and neither the results table nor the draft ran
    materialised = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialised == {"v3"}
    import duckdb

    con = duckdb.connect(env.vars["RESULTATRAPPORT_WAREHOUSE"], read_only=True)
    assert con.execute(
        "SELECT kpi_id FROM kpi.results WHERE year = 2022 ORDER BY kpi_id"
    ).fetchall() == [("V3",)]


def test_an_untrusted_delivery_is_no_green_materialisation(tmp_path, defs):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1), crm_row(1), crm_row(2)])  # a case id twice
    raw = AssetKey(["raw", "erhvervshus_midtjylland", "crm_cases"])
    with DagsterInstance.get() as instance:
        result = (
            defs.resolve_implicit_global_asset_job_def()
            .get_subset(asset_selection={raw})
            .execute_in_process(
                instance=instance, partition_key="2026", raise_on_error=False, run_config=QUIET
            )
        )
        assert not result.success
        evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not evaluations["file_trustworthy"].passed
        assert not result.get_asset_materialization_events()
        assert "2026" not in instance.get_materialized_partitions(raw)


def test_contract_file_is_the_one_the_definitions_read(defs):
    from assets.kpis import contract_file

    contract = _ver(defs)
    assert contract_file(contract).is_file()


def test_a_met_but_uncertain_kpi_and_a_missed_one_fail_different_checks():
    """The badge of a KPI asset names the failing check: a met target whose interval holds
    the target passes target_met and warns on status_certain; a missed one warns on
    target_met (both once showed the same failed target_met, labelling a met target Failed)."""
    from types import SimpleNamespace

    from assets.kpis import certainty_outcome, target_outcome

    def result(status: str, uncertain: bool | None, target: float | None = 70.0) -> Any:
        return SimpleNamespace(
            status=status, uncertain=uncertain, value=72.157, target=target, operator=">=",
            unit="NPS", low=65.0, high=79.3,
        )  # fmt: skip

    met = target_outcome(result("Opfyldt", False))
    assert met is not None and met.passed and met.metadata["value"].value == 72.2
    sure = certainty_outcome(result("Opfyldt", False))
    assert sure is not None and sure.passed
    doubtful_met = target_outcome(result("Opfyldt", True))
    assert doubtful_met is not None and doubtful_met.passed  # met is met
    doubtful = certainty_outcome(result("Opfyldt", True))
    assert doubtful is not None and not doubtful.passed and doubtful.severity.value == "WARN"
    assert "Usikkert" in doubtful.description and "≥ 70" in doubtful.description
    missed = target_outcome(result("Ikke opfyldt", False))
    assert missed is not None and not missed.passed and missed.severity.value == "WARN"
    missed_sure = certainty_outcome(result("Ikke opfyldt", False))
    assert missed_sure is not None and missed_sure.passed
    for skipped in (result("Intet mål i år", None, None), result("Ikke målbar", None)):
        assert target_outcome(skipped) is None and certainty_outcome(skipped) is None
