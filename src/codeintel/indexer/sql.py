"""Quoting values into the SQL filters LanceDB takes."""

from __future__ import annotations

from collections.abc import Iterable


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    return ", ".join(sql_string(value) for value in values)


def sql_in(column: str, values: Iterable[str]) -> str:
    """``column IN (...)``; an empty list matches nothing (``IN ()`` is a syntax error)."""
    listed = sql_list(values)
    return f"{column} IN ({listed})" if listed else "false"


def sql_like_escaped(value: str) -> str:
    """``value`` with LIKE's wildcards (``%``, ``_``) and the escape itself escaped by ``\\``."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
