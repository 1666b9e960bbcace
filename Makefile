# The two commands of the README: `make demo` (set up + run the pipeline on a generated
# sample inbox) and `make test` (lint, types, tests). Everything lands in ignored var/.
UV_VERSION := 0.13.8
CONTRACT ?= kkr-midtjylland-2026
YEAR ?= 2026
SCALE ?= 1
export DAGSTER_HOME ?= $(CURDIR)/var/dagster_home
SIGNER ?=
ROLE ?=
PACKAGES := resultatrapport pipelines assets resources commands

.PHONY: setup demo sample run sign-off test test-fast bench lint dev clean

# Debian packages: pango for WeasyPrint (the PDF), poppler-utils for the tests that read it
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils

setup:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
	  else echo "Missing Debian packages: $$missing (sudo apt-get install $$missing)"; exit 1; fi; \
	fi
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)"
	uv sync --frozen --compile-bytecode
	@# the project's own modules too: where Python may not write bytecode itself
	@# (PYTHONDONTWRITEBYTECODE, as on these machines) every process compiled them again,
	@# 0.5 s of each CLI call and of each test's subprocess
	uv run --frozen python -m compileall -q $(PACKAGES)
	@mkdir -p "$(DAGSTER_HOME)" && cp -f dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

sample: setup
	uv run resultatrapport sample-data --out var/inbox --scale $(SCALE)

run: setup
	uv run resultatrapport run --contract $(CONTRACT) --year $(YEAR) --inbox var/inbox

sign-off: setup
	@test -n "$(SIGNER)" -a -n "$(ROLE)" || { echo 'usage: make sign-off SIGNER="Name" ROLE="direktør" [CONTRACT=… YEAR=…] [PRELIMINARY=1]'; exit 2; }
	uv run resultatrapport sign-off --contract $(CONTRACT) --year $(YEAR) --by "$(SIGNER)" --role "$(ROLE)" $(if $(PRELIMINARY),--preliminary)

demo: sample run

lint: setup
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy

# the tests in two workers (pytest-xdist; a test file whole to one worker, pyproject.toml),
# the 20 slowest named at the end; test-fast: the inner loop's subset of the README, the unit
# tests and one small end-to-end run
TEST_WORKERS ?= 2
test: lint
	uv run pytest -n $(TEST_WORKERS) --durations=20

test-fast: setup
	uv run pytest -n $(TEST_WORKERS) tests/unit tests/integration/test_smoke.py

# the whole benchmark (docs/benchmarks.md; an hour and more on 2 cores with scale 100): make
# bench [SCALES=1,100] [LAKE_SERVER='host=… port=… user=…'] [BENCH_DIR=/tmp/benchwork]; the
# test suite runs only its quick form (`resultatrapport bench --quick`)
SCALES ?= 1,10,100
LAKE_SERVER ?=
BENCH_DIR ?=
bench: setup
	uv run resultatrapport bench --scales $(SCALES) $(if $(BENCH_DIR),--workdir "$(BENCH_DIR)") $(if $(LAKE_SERVER),--lake-server "$(LAKE_SERVER)")

# the UI and the daemon on the instance in var/dagster_home (DAGSTER_HOME above); schedules
# and sensors start stopped unless RESULTATRAPPORT_AUTOMATION=running (switch them on in the UI)
dev: setup
	uv run dg dev

clean:
	rm -rf var
