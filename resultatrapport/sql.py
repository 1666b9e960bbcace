"""SQL text built in Python, quoted once: identifiers and string literals for DuckDB."""

from __future__ import annotations


def q(identifier: str) -> str:
    """An identifier quoted for DuckDB (a double quote in it doubled)."""
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A string literal quoted for DuckDB (a single quote in it doubled)."""
    return "'" + value.replace("'", "''") + "'"
