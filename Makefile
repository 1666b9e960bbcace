# The two commands of the README: `make demo` (set up + run the pipeline on a generated
# sample inbox) and `make test` (lint, types, tests). Everything lands in ignored var/.
UV_VERSION := 0.13.8
CONTRACT ?= kkr-midtjylland-2026
YEAR ?= 2026
SCALE ?= 1
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home

.PHONY: setup demo sample run test lint dev clean

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	uv sync --frozen
	@mkdir -p "$(DAGSTER_HOME)" && cp -f dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

sample: setup
	uv run resultatrapport sample-data --out var/inbox --scale $(SCALE)

run: setup
	uv run resultatrapport run --contract $(CONTRACT) --year $(YEAR) --inbox var/inbox

demo: sample run

lint: setup
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

test: lint
	uv run pytest

dev: setup
	uv run dagster dev

clean:
	rm -rf var
