"""The command line (`resultatrapport`) and the benchmark: on top of the Dagster layer
(`pipelines/`) and the domain library (`resultatrapport/`)."""
