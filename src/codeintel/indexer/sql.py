"""Quoting values into the SQL filters LanceDB takes."""

from __future__ import annotations

from collections.abc import Iterable


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    return ", ".join(sql_string(value) for value in values)
