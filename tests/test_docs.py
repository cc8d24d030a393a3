"""Every CLI command, option and setting is documented in README.md or under docs/.

The rules, applied to the Markdown of ``README.md`` and every ``*.md`` file under ``docs/``:

Commands. The click tree of the ``codeintel`` entry point (``[project.scripts]`` in
pyproject.toml, so a move of the CLI module needs no edit here) is walked recursively
(hidden commands and options are skipped). Each command's full name (``codeintel index build``)
must appear verbatim.

Options. Each long flag (``--no-embed``; both halves of ``--x/--no-x``; ``--help`` is
skipped) must appear, as a whole flag, next to the command it belongs to: on the same line
of a code block as the command's name (``codeintel search QUERY [--here]``), in the same
prose paragraph (``index build --rebuild builds beside ...``), or in the section under a
heading that names the command (``## codeintel search``). A command is named by its words
without the program (``index build``, ``search``); the root group's options (``--debug``,
``--version``) go with the word ``codeintel``. So a flag documented for one command does
not count for another that gains it later.

Help. Every command has a help text and every visible option a ``help=``, as ``--help``
shows them.

Settings. README.md must mention every section of ``Settings`` as ``[section]``. A key of
a section is documented when it appears as ``section.key``, as its environment variable
``CODEINTEL_SECTION_KEY``, or as a word inside a ``[section]`` table of a fenced code block
(the lines after ``[section]`` up to the next table header or the end of the block; a
commented ``# key = ...`` counts). A ``weight_<signal>`` key is also documented by a line of
that table that mentions "weight" and the signal's name (``# fusion weights: bm25, vector``).
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from codeintel.settings import Settings

PROGRAM = "codeintel"
ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_TABLE = re.compile(r"^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$")


@dataclass(frozen=True)
class Snippet:
    """A piece of the docs: ``name`` is where a command must be named, ``text`` where its
    options are looked for."""

    name: str
    text: str


@dataclass(frozen=True)
class Markdown:
    snippets: list[Snippet]
    tables: dict[str, str]  # [section] -> the text of its tables in fenced code blocks


def _parse(text: str) -> Markdown:
    lines = text.splitlines()
    snippets: list[Snippet] = []
    tables: dict[str, list[str]] = {}
    headings: list[tuple[int, int, str]] = []  # (line, level, title)
    paragraph: list[str] = []
    fenced = False
    table: str | None = None

    def end_paragraph() -> None:
        if paragraph:
            joined = " ".join(paragraph)
            snippets.append(Snippet(joined, joined))
            paragraph.clear()

    for number, line in enumerate(lines):
        if _FENCE.match(line):
            end_paragraph()
            fenced, table = not fenced, None
            continue
        if fenced:
            snippets.append(Snippet(line, line))
            header = _TABLE.match(line)
            if header:
                table = header.group(1)
            elif table is not None:
                tables.setdefault(table, []).append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            end_paragraph()
            headings.append((number, len(heading.group(1)), heading.group(2)))
        elif line.strip():
            paragraph.append(line.strip())
        else:
            end_paragraph()
    end_paragraph()
    for index, (start, level, title) in enumerate(headings):
        end = next((line for line, other, _ in headings[index + 1 :] if other <= level), None)
        snippets.append(Snippet(title, "\n".join(lines[start + 1 : end])))
    return Markdown(snippets, {name: "\n".join(body) for name, body in tables.items()})


def _read_docs() -> tuple[str, Markdown]:
    texts = [path.read_text(encoding="utf-8") for path in DOC_FILES if path.is_file()]
    parsed = [_parse(text) for text in texts]
    tables: dict[str, str] = {}
    for doc in parsed:
        for name, body in doc.tables.items():
            tables[name] = tables.get(name, "") + "\n" + body
    return "\n".join(texts), Markdown([s for doc in parsed for s in doc.snippets], tables)


DOCS_TEXT, DOCS = _read_docs()
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _words(term: str) -> re.Pattern[str]:
    """``term`` as whole words (``--k`` is not ``--keep``; ``search`` is not ``searcher``)."""
    return re.compile(r"(?<![\w-])" + r"\s+".join(map(re.escape, term.split())) + r"(?![\w-])")


# The CLI ----------------------------------------------------------------------------------


def _entry_point() -> click.Command:
    """The command ``[project.scripts]`` installs as ``codeintel``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    module, _, attribute = str(project["scripts"][PROGRAM]).partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command), f"{module}:{attribute} is not a click command"
    return command


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every visible command under ``command`` (itself first), with its words after the
    program name."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=" ".join((PROGRAM, *path)))
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, (*path, name))


def _flags(command: click.Command) -> list[str]:
    """The long flags of ``command``'s visible options (short ones where it has no long)."""
    found: list[str] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = [*param.opts, *param.secondary_opts]
        longs = [name for name in names if name.startswith("--")]
        found.extend(name for name in longs or names if name not in found)
    return [flag for flag in found if flag != "--help"]


COMMANDS = list(_commands(_entry_point()))
OPTIONS = [(path, flag) for path, command in COMMANDS for flag in _flags(command)]


def _full_name(path: tuple[str, ...]) -> str:
    return " ".join((PROGRAM, *path))


def test_the_walk_finds_the_cli() -> None:
    names = {_full_name(path) for path, _ in COMMANDS}
    assert {"codeintel index build", "codeintel search", "codeintel context"} <= names
    assert ((), "--debug") in OPTIONS
    assert ((), "--version") in OPTIONS


@pytest.mark.parametrize(
    "path", [path for path, _ in COMMANDS], ids=[_full_name(path) for path, _ in COMMANDS]
)
def test_command_is_documented(path: tuple[str, ...]) -> None:
    name = _full_name(path)
    assert _words(name).search(DOCS_TEXT), f"`{name}` is not in README.md or docs/"


@pytest.mark.parametrize(
    ("path", "flag"), OPTIONS, ids=[f"{_full_name(path)} {flag}" for path, flag in OPTIONS]
)
def test_option_is_documented(path: tuple[str, ...], flag: str) -> None:
    command = _words(" ".join(path) or PROGRAM)
    option = _words(flag)
    assert any(
        command.search(snippet.name) and option.search(snippet.text) for snippet in DOCS.snippets
    ), (
        f"`{_full_name(path)} {flag}` is not documented: name it beside the command in "
        "README.md or docs/ (a usage line, a paragraph, or a section headed by the command)"
    )


@pytest.mark.parametrize(
    "path", [path for path, _ in COMMANDS], ids=[_full_name(path) for path, _ in COMMANDS]
)
def test_command_and_its_options_have_help(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    assert command.help, f"`{_full_name(path)}` has no help text (its docstring)"
    missing = [
        flag
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
        for flag in param.opts[:1]
    ]
    assert not missing, f"`{_full_name(path)}` options without help: {', '.join(missing)}"


# The settings -----------------------------------------------------------------------------


def _section_model(section: str) -> type[BaseModel]:
    annotation = Settings.model_fields[section].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation


SECTIONS = list(Settings.model_fields)
KEYS = [(section, key) for section in SECTIONS for key in _section_model(section).model_fields]


@pytest.mark.parametrize("section", SECTIONS)
def test_settings_section_is_in_readme(section: str) -> None:
    assert f"[{section}]" in README, f"README.md does not mention the section [{section}]"


def _key_documented(section: str, key: str) -> bool:
    if _words(f"{section}.{key}").search(DOCS_TEXT):
        return True
    if _words(f"CODEINTEL_{section}_{key}".upper()).search(DOCS_TEXT):
        return True
    table = DOCS.tables.get(section, "")
    if _words(key).search(table):
        return True
    signal = key.removeprefix("weight_")
    return signal != key and any(
        "weight" in line and _words(signal).search(line) for line in table.splitlines()
    )


@pytest.mark.parametrize(("section", "key"), KEYS, ids=[f"{s}.{k}" for s, k in KEYS])
def test_setting_is_documented(section: str, key: str) -> None:
    assert _key_documented(section, key), (
        f"setting {section}.{key} is not documented: write `{section}.{key}` in README.md or "
        f"docs/, or put it in a [{section}] table of a code block"
    )
