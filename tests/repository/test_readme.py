"""The README is true to the repository: every repository path it names exists (or lies under
the ignored, generated ``var/``), every ``make`` target is in the Makefile and every
``resultatrapport`` subcommand is one the command line has. Only the README's code (inline
spans and fenced blocks) is read, as markdown-it-py parses it."""

from __future__ import annotations

import argparse
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from resultatrapport.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
# the first segment of an asset key (`kpi/kkr_midtjylland_2026/m3`), not a folder
ASSET_STAGES = {"raw", "ingest", "kpi", "budget", "report", "submission", "national"}
# a file named without its folder is a repository file when it has one of these endings;
# .csv, .pdf and .xlsx names are the inbox's and the output folder's (deliveries, reports)
# names that look like paths and are not: the run tag of a sign-off run
NOT_PATHS = {"resultatrapport/signer"}
REPOSITORY_ENDINGS = (".py", ".md", ".yaml", ".yml", ".toml", ".lock", ".j2", ".env")
PATH = re.compile(r"(?<![\w/.:=$-])(\.?[\w<>…-][\w.<>…-]*(?:/[\w.<>…*{},-]*)+)")
ENDINGS = "|".join(re.escape(e) for e in REPOSITORY_ENDINGS)
NAME = re.compile(rf"(?<![\w/.:$<-])([\w-]+(?:\.[\w-]+)*(?:{ENDINGS}))(?![\w/.])")
# a module of the checkout, or of the Dagster layer as an installed wheel names it
LAYER_IN_WHEEL = "resultatrapport_dagster."
MODULE = re.compile(
    r"(?<![\w./-])(?:resultatrapport_dagster\.)?"
    r"(?:resultatrapport|pipelines|assets|resources|commands)(?:\.\w+)+"
)
MAKE = re.compile(r"(?:^|[\s`(])make\s+([a-z][\w-]*)\b(?!=)", re.MULTILINE)
COMMAND = re.compile(r"(?:^|[\s`(])resultatrapport\s+([a-z][\w-]*)", re.MULTILINE)


def code(text: str) -> list[str]:
    """The inline code spans and the fenced or indented blocks of a Markdown text."""
    found: list[str] = []

    def walk(tokens) -> None:  # type: ignore[no-untyped-def]
        for token in tokens:
            if token.type in ("code_inline", "fence", "code_block"):
                found.append(token.content)
            if token.children:
                walk(token.children)

    walk(MarkdownIt("commonmark").enable("table").parse(text))
    return found


@cache
def repository_files() -> frozenset[str]:
    """Tracked and new (not ignored) files, as paths from the repository root."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return frozenset(line for line in listed.splitlines() if (PROJECT_ROOT / line).exists())


def glob_of(path: str) -> str:
    """A path with placeholders (`contracts/<id>.yaml`, `aarsrapport_…_udkast.pdf`,
    `{a,b}`) as a glob pattern."""
    pattern = re.sub(r"<[^>]*>|…|\{[^}]*\}", "*", path)
    return re.sub(r"\*+", "*", pattern)


def path_problem(path: str) -> str | None:
    """Why ``path`` (as the README names it) is not a path of this repository, or None."""
    first = path.split("/", 1)[0]
    if path in NOT_PATHS or first in ASSET_STAGES or "<" in first or "…" in first:
        return None  # an asset key, or a path relative to something else (the inbox)
    if first == "var":
        # generated state, made by the commands the README gives; ignored by git
        ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
        return None if "/var/" in ignored else f"{path}: var/ is not in .gitignore"
    wanted = glob_of(path.rstrip("/"))
    if path.endswith("/") and "/" not in wanted:  # a folder named without its parent
        wanted = f"**/{wanted}"
    if path.endswith("/"):
        matches = [p for p in PROJECT_ROOT.glob(wanted) if p.is_dir()]
    else:
        files = repository_files()
        matches = [
            p
            for p in PROJECT_ROOT.glob(wanted)
            if p.relative_to(PROJECT_ROOT).as_posix() in files or p.is_dir()
        ]
    return None if matches else f"{path}: no such file or folder in the repository"


def name_problem(name: str) -> str | None:
    pattern = glob_of(name)
    if any(Path(f).match(pattern) for f in repository_files()):
        return None
    return f"{name}: no file of that name in the repository"


def module_problem(module: str) -> str | None:
    in_checkout = module.removeprefix(LAYER_IN_WHEEL)
    if in_checkout != module and in_checkout.split(".")[0] == "resultatrapport":
        return f"{module}: no such module (the library is not in {LAYER_IN_WHEEL[:-1]})"
    base = PROJECT_ROOT / in_checkout.replace(".", "/")
    if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
        return None
    return f"{module}: no such module"


def make_targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))


def subcommands() -> set[str]:
    from commands.cli import build_parser

    parser = build_parser()
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def problems(text: str) -> list[str]:
    found = []
    targets, commands = make_targets(), subcommands()
    for snippet in code(text):
        snippet = re.sub(r"<[^<>\n]*>", "<x>", snippet)  # `<id with _>`: one placeholder
        paths = [m.group(1) for m in PATH.finditer(snippet)]
        found += [p for p in map(path_problem, paths) if p]
        rest = PATH.sub(" ", snippet)
        found += [p for p in map(name_problem, NAME.findall(rest)) if p]
        found += [p for p in map(module_problem, MODULE.findall(snippet)) if p]
        found += [
            f"make {t}: no such Makefile target" for t in MAKE.findall(snippet) if t not in targets
        ]
        found += [
            f"resultatrapport {c}: no such subcommand"
            for c in COMMAND.findall(snippet)
            if c not in commands
        ]
    return sorted(set(found))


def test_every_path_target_and_subcommand_the_readme_names_exists():
    assert problems(README.read_text("utf-8")) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("`shared/formats/sources.md`", "shared/formats/sources.md: no such file"),
        ("`docs/nothing.md`", "docs/nothing.md: no such file"),
        ("`nothing_here.py`", "nothing_here.py: no file of that name"),
        ("```sh\nmake nowhere\n```", "make nowhere: no such Makefile target"),
        ("`uv run resultatrapport frobnicate --year 2026`", "resultatrapport frobnicate: no such"),
        ("`-m pipelines.nothing`", "pipelines.nothing: no such"),
        ("`resultatrapport_dagster.pipelines.nothing`", "resultatrapport_dagster.pipelines.no"),
        ("`resultatrapport_dagster.resultatrapport.settings`", "resultatrapport_dagster.res"),
    ],
)
def test_what_the_readme_check_would_flag(text, problem):
    [found] = problems(text)
    assert found.startswith(problem)


def test_what_the_readme_check_lets_pass():
    text = (
        "`kpi/kkr_midtjylland_2026/m3` `report/<id>/signed:current` `contracts/<id>.yaml` "
        "`<org>/tekster/<contract-id>_<YYYY>.md` `var/out/x/aarsrapport_…_udkast.pdf` "
        "`DAGSTER_HOME=$PWD/var/dagster_home` `docs/formats/` `regnskaber_2022_rettet.csv` "
        "`make dev` `make run CONTRACT=x` `resultatrapport sign-off` `compute.py` `.ci/run` "
        "`resultatrapport_dagster.pipelines.definitions`\n\n"
        "```sh\nuv run dg launch --assets 'key:\"kpi/viborg_ver_2020/*\"'\n```\n"
    )
    assert problems(text) == []


def test_the_groups_the_readme_names_are_the_groups_of_the_definitions(contracts):
    from pipelines.definitions import build_definitions

    defs = build_definitions()

    text = README.read_text("utf-8")
    sentence = re.search(r"Groups:(.*?)\.\s", text, re.DOTALL)
    assert sentence, "the README names the asset groups in a sentence 'Groups: …'"
    named = set(code(sentence.group(1)))
    scopes = [c.scope for c in contracts.values()]
    expected = {g.replace("<contract>", s) for g in named for s in scopes}
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == expected


def test_dg_knows_the_project_and_make_dev_runs_it():
    import tomllib

    dg = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dg"]
    assert dg["directory_type"] == "project"
    project = dg["project"]
    for key in ("root_module", "defs_module", "code_location_target_module"):
        assert module_problem(project[key]) is None, key
    assert project["code_location_target_module"] == "pipelines.definitions"
    dev = re.search(r"^dev:.*\n((?:\t.*\n)+)", (PROJECT_ROOT / "Makefile").read_text(), re.M)
    assert dev and "uv run dg dev" in dev.group(1)


def test_make_setup_compiles_the_bytecode_of_every_first_party_package():
    """`make setup` compiles the project's own modules (where Python may not write bytecode
    itself, each process compiled them again): the packages it names are the wheel's, the
    library and the Dagster layer's folders (which hatch_build.py puts into the wheel)."""
    import tomllib

    wheel = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    packages = re.search(r"^PACKAGES := (.*)$", makefile, re.M)
    shipped = [*wheel["packages"], *wheel["hooks"]["custom"]["layer"]]
    assert packages and sorted(packages.group(1).split()) == sorted(shipped)
    setup = re.search(r"^setup:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert setup and "python -m compileall -q $(PACKAGES)" in setup.group(1)
