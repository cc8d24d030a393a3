"""Invariants every chunking must keep, for any input, plus Markdown and RST sections."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.languages import LANGUAGES, language_for
from codeintel.indexer.models import Chunk
from codeintel.indexer.tokens import TokenCounter

COUNTER = TokenCounter()
SMALL = ChunkLimits(max_chars=160, window_lines=8)
PATHS = [f"f{spec.extensions[0]}" if spec.extensions else "notes.txt" for spec in LANGUAGES]

PYTHONISH = [
    "def f(x):\n    return x\n",
    "class C:\n    '''Doc.'''\n\n    def m(self):\n        pass\n",
    "@decorator\n",
    "x = 1\n",
    "# a comment\n",
    "    indented = 2\n",
    "if x:\n    y = [\n        1,\n    ]\n",
    '"""Module doc."""\n',
    "\n",
    "    \n",
    "async def g():\n    await h()  # trailing\n",
    "value = 'é ☃ 𝄞'\n",
    "data = '" + "a" * 300 + "'\n",
    "def broken(:\n",
    ")]}\n",
]
BRACEISH = [
    "function f(a) {\n",
    "}\n",
    "class A {\n",
    "  m() { return 1; }\n",
    "int x = 1;\n",
    "/** Doc. */\n",
    "// comment\n",
    "fn g() -> i32 { 1 }\n",
    "impl T for U {\n",
    "const h = () => {\n",
    "namespace n {\n",
    "func (s *S) M() {\n",
    "\t\n",
    "\n",
    "{ {\n",
    's = "' + "b" * 250 + '";\n',
]


def check_invariants(path: str, text: str, limits: ChunkLimits = SMALL) -> list[Chunk]:
    chunks = chunk_file(path, text, language_for(path), COUNTER, limits)
    lines = text.split("\n")
    data = text.encode("utf-8")
    covered: list[int] = []
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert data[chunk.start_byte : chunk.end_byte] == chunk.text.encode("utf-8")
        assert len(chunk.text) <= limits.max_chars or chunk.start_line == chunk.end_line
        assert "\n" not in chunk.signature
        assert (chunk.tokens_full, chunk.tokens_skeleton, chunk.tokens_signature) == (
            COUNTER.count(chunk.text),
            COUNTER.count(chunk.skeleton),
            COUNTER.count(chunk.signature),
        )
        covered += range(chunk.start_line, chunk.end_line + 1)
    assert all(a.end_line < b.start_line for a, b in pairwise(chunks))
    non_blank = [number for number, line in enumerate(lines, 1) if line.strip()]
    assert set(non_blank) <= set(covered)
    assert len({chunk.id for chunk in chunks}) == len(chunks)
    return chunks


def _joined(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(fragments), max_size=40).map("".join)


_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(text=_joined(PYTHONISH), limit=st.integers(40, 400))
def test_pythonish_sources(text: str, limit: int) -> None:
    check_invariants("m.py", text, ChunkLimits(max_chars=limit, window_lines=12))


@_FAST
@given(text=_joined(BRACEISH), path=st.sampled_from(PATHS))
def test_braceish_sources_in_every_language(text: str, path: str) -> None:
    check_invariants(path, text)


@_FAST
@given(text=st.text(max_size=600), path=st.sampled_from(PATHS))
def test_arbitrary_text_in_every_language(text: str, path: str) -> None:
    check_invariants(path, text)


@_FAST
@given(text=_joined(PYTHONISH + BRACEISH), blank=st.integers(1, 5), path=st.sampled_from(PATHS))
def test_a_chunk_that_only_moves_keeps_its_id(text: str, blank: int, path: str) -> None:
    before = check_invariants(path, text)
    after = check_invariants(path, "\n" * blank + text)
    assert [(c.id, c.start_line + blank) for c in before] == [(c.id, c.start_line) for c in after]


def test_definitions_keep_their_ids_when_code_is_added_above() -> None:
    text = "def a():\n    return 1\n\n\nclass B:\n    def m(self):\n        return 2\n"
    before = check_invariants("m.py", text)
    after = check_invariants("m.py", "import os\n\n\ndef new():\n    pass\n\n\n" + text)
    assert {c.id for c in before} <= {c.id for c in after}


def test_identical_chunks_get_distinct_ids() -> None:
    chunks = check_invariants("m.py", "def f():\n    pass\n\n\ndef f():\n    pass\n")
    assert [c.text for c in chunks] == ["def f():\n    pass"] * 2


@pytest.mark.parametrize("path", PATHS)
def test_syntax_errors_still_give_chunks(path: str) -> None:
    text = "def f(:\n  {{ class ( ]\n\x00 } end fn ) {\n" * 5
    assert check_invariants(path, text)


@pytest.mark.parametrize("path", PATHS)
def test_empty_and_blank_files_give_no_chunks(path: str) -> None:
    assert chunk_file(path, "", language_for(path), COUNTER) == []
    assert check_invariants(path, "\n \n\t\n") == []


def test_a_line_longer_than_the_bound_is_a_chunk_of_its_own() -> None:
    text = "x = 1\n" + "y = '" + "z" * 500 + "'\nw = 2\n"
    chunks = check_invariants("m.py", text)
    assert [c.start_line for c in chunks if len(c.text) > SMALL.max_chars] == [2]


MARKDOWN = """\
# Project

Intro text.

## Install

```sh
# not a heading
pip install project
```

### From source

Clone it.

## Usage

Run it.
"""


def test_markdown_sections_follow_heading_paths() -> None:
    chunks = check_invariants("README.md", MARKDOWN, ChunkLimits())
    assert [(c.symbol, c.parent, c.start_line) for c in chunks] == [
        ("Project", "", 1),
        ("Project > Install", "Project", 5),
        ("Project > Install > From source", "Project > Install", 12),
        ("Project > Usage", "Project", 16),
    ]
    assert chunks[1].signature == "## Install"
    assert "# not a heading" in chunks[1].text
    assert {c.kind for c in chunks} == {"section"}


RST = """\
=======
Project
=======

Intro.

Install
=======

From source
-----------

Clone it.

Usage
=====

Run it.
"""


def test_rst_sections_from_overlined_and_underlined_titles() -> None:
    chunks = check_invariants("index.rst", RST, ChunkLimits())
    assert [(c.symbol, c.start_line) for c in chunks] == [
        ("Project", 1),
        ("Project > Install", 7),
        ("Project > Install > From source", 10),
        ("Project > Usage", 15),
    ]


def test_plain_text_becomes_line_windows() -> None:
    text = "\n".join(f"line {n}" for n in range(30))
    chunks = check_invariants("notes.txt", text, ChunkLimits(window_lines=8))
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [
        ("lines", 1, 8),
        ("lines", 9, 16),
        ("lines", 17, 24),
        ("lines", 25, 30),
    ]
