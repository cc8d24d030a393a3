"""Invariants every chunking must keep, for any input, plus Markdown and RST sections."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.languages import LANGUAGES, language_for
from codeintel.indexer.models import Chunk

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
    chunks = chunk_file(path, text, language_for(path), limits)
    lines = text.split("\n")
    data = text.encode("utf-8")
    covered: list[int] = []
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert chunk.text == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert data[chunk.start_byte : chunk.end_byte] == chunk.text.encode("utf-8")
        assert len(chunk.text) <= limits.max_chars or chunk.start_line == chunk.end_line
        assert "\n" not in chunk.signature
        covered += range(chunk.start_line, chunk.end_line + 1)
    assert all(a.end_line < b.start_line for a, b in pairwise(chunks))
    non_blank = [number for number, line in enumerate(lines, 1) if line.strip()]
    assert set(non_blank) <= set(covered)
    assert len({chunk.id for chunk in chunks}) == len(chunks)
    return chunks


def _joined(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(fragments), max_size=40).map("".join)


@given(text=_joined(PYTHONISH), limit=st.integers(40, 400))
def test_pythonish_sources(text: str, limit: int) -> None:
    check_invariants("m.py", text, ChunkLimits(max_chars=limit, window_lines=12))


@given(text=_joined(BRACEISH), path=st.sampled_from(PATHS))
def test_braceish_sources_in_every_language(text: str, path: str) -> None:
    check_invariants(path, text)


@given(text=st.text(max_size=600), path=st.sampled_from(PATHS))
@example(text="{\U0010ffff", path="f.sh")  # crashed tree-sitter-bash's scanner, by chance
def test_arbitrary_text_in_every_language(text: str, path: str) -> None:
    check_invariants(path, text)


@given(text=_joined(PYTHONISH + BRACEISH), blank=st.integers(1, 5), path=st.sampled_from(PATHS))
@example(text="/** Doc. */\ndef f(x):\n    return x\n", blank=1, path="f.py")
@example(text="/** Doc. */\n    def m(self):\n// comment\n", blank=1, path="f.py")
@example(
    text="{ {\nclass C:\n    '''Doc.'''\n\n    def m(self):\n        pass\n", blank=4, path="f.rs"
)
@example(text='\n\n{ {\n\n\n"""Module doc."""\n', blank=4, path="f.sh")
@example(
    text="x = 1\ndef f(x):\n    return x\nfunc (s *S) M() {\nvalue = 'é ☃ 𝄞'\n    indented = 2\n",
    blank=3,
    path="f.java",
)
def test_a_chunk_that_only_moves_keeps_its_id(text: str, blank: int, path: str) -> None:
    before = check_invariants(path, text)
    after = check_invariants(path, "\n" * blank + text)
    assert [(c.id, c.start_line + blank) for c in before] == [(c.id, c.start_line) for c in after]


_C_COMMENTS = ["// Doc.\n", "/* Doc. */\n", "/** Doc. */\n", "/**\n * Doc.\n */\n"]
# Each language's comments and docstrings, a line or more each; a blank line detaches the
# comments above it from the definition below.
COMMENTS = {
    "python": ["# Doc.\n", '"""Doc."""\n', '"""\nDoc.\n"""\n', "#!/usr/bin/env python\n"],
    "javascript": [*_C_COMMENTS, "#!/usr/bin/env node\n"],
    "typescript": _C_COMMENTS,
    "tsx": _C_COMMENTS,
    "go": ["// Doc.\n", "/* Doc. */\n"],
    "rust": ["// Doc.\n", "/// Doc.\n", "//! Doc.\n", "/* Doc. */\n", "#[inline]\n"],
    "java": _C_COMMENTS,
    "c": _C_COMMENTS,
    "cpp": _C_COMMENTS,
    "csharp": ["// Doc.\n", "/// <summary>Doc.</summary>\n", "/* Doc. */\n"],
    "ruby": ["# Doc.\n", "=begin\nDoc.\n=end\n", "#!/usr/bin/env ruby\n"],
    "php": ["# Doc.\n", *_C_COMMENTS],
    "kotlin": _C_COMMENTS,
    "swift": ["/// Doc.\n", *_C_COMMENTS],
    "scala": _C_COMMENTS,
    "bash": ["# Doc.\n", "#!/bin/sh\n"],
    "markdown": ["<!-- Doc. -->\n"],
    "rst": [".. Doc.\n"],
    "text": ["# Doc.\n"],
}
# Comments as other languages write them, wherever they are: any of these can start a file.
ANY_COMMENTS = sorted(
    {comment for comments in COMMENTS.values() for comment in comments}
    | {"-- Doc.\n", "(* Doc. *)\n", "; Doc.\n", "  # indented\n", "@decorator\n", "<?php\n"}
)
DEFINITIONS = {
    "python": [
        "def f(x):\n    return x\n",
        "class C:\n    def m(self):\n        pass\n",
        "@cache\ndef g():\n    pass\n",
    ],
    "javascript": [
        "function f(a) {\n  return a;\n}\n",
        "class A {\n  m() { return 1; }\n}\n",
        "const h = () => {\n  return 1;\n};\n",
    ],
    "typescript": [
        "export function f(a: number): number {\n  return a;\n}\n",
        "interface I {\n  x: number;\n}\n",
        "namespace n {\n  export const y = 1;\n}\n",
    ],
    "tsx": ["function App() {\n  return <div />;\n}\n", "type T = { x: number };\n"],
    "go": [
        "func F(x int) int {\n\treturn x\n}\n",
        "func (s *S) M() {\n}\n",
        "type S struct {\n\tx int\n}\n",
    ],
    "rust": [
        "fn g() -> i32 {\n    1\n}\n",
        "impl T for U {\n    fn m(&self) {}\n}\n",
        "#[derive(Debug)]\nstruct S {\n    x: i32,\n}\n",
    ],
    "java": ["class A {\n    void m() {}\n}\n", "interface I {\n    int x();\n}\n"],
    "c": ["int f(int x) {\n    return x;\n}\n", "struct S {\n    int x;\n};\n"],
    "cpp": [
        "int A::g() {\n    return 0;\n}\n",
        "namespace n {\nint f() { return 1; }\n}\n",
        "template <typename T>\nclass B {\n};\n",
    ],
    "csharp": ["class A {\n    void M() {}\n}\n", "namespace N {\n    class B {}\n}\n"],
    "ruby": ["def f(x)\n  x\nend\n", "class C\n  def m; end\nend\n", "module M\nend\n"],
    "php": ["function f($x) {\n    return $x;\n}\n", "class A {\n    function m() {}\n}\n"],
    "kotlin": [
        "fun f(x: Int): Int {\n    return x\n}\n",
        "class C {\n    fun m() {}\n}\n",
        "object O {\n}\n",
    ],
    "swift": ["func f(x: Int) -> Int {\n    return x\n}\n", "struct S {\n    func m() {}\n}\n"],
    "scala": ["def f(x: Int): Int = x\n", "object O {\n  def m = 1\n}\n", "trait T\n"],
    "bash": ["f() {\n  echo hi\n}\n", "function g {\n  echo\n}\n"],
    "markdown": ["# Title\n\nText.\n"],
    "rst": ["Title\n=====\n\nText.\n"],
    "text": ["Some text.\n"],
}
ANY_DEFINITIONS = [text for texts in DEFINITIONS.values() for text in texts]
OPENINGS = {"php": "<?php\n"}  # what a file must start with to hold code
BLANK_LINES = st.lists(st.sampled_from(["\n", " \n", "\t\n", "  \t \n"]), min_size=1, max_size=4)


@st.composite
def commented_definitions(draw: st.DrawFn, any_language: bool) -> tuple[str, str]:
    """A path and its text: comments, then distinct definitions, of its language or any."""
    path = draw(st.sampled_from(PATHS))
    name = language_for(path).name
    comments, definitions = st.sampled_from(COMMENTS[name]), st.sampled_from(DEFINITIONS[name])
    if any_language:
        comments |= st.sampled_from(ANY_COMMENTS)
        definitions |= st.sampled_from(ANY_DEFINITIONS)
    parts = draw(st.lists(comments | st.just("\n"), min_size=1, max_size=3))
    parts += draw(st.lists(definitions, min_size=1, max_size=2, unique=True))
    return path, ("" if any_language else OPENINGS.get(name, "")) + "".join(parts)


def _moved(chunks: list[Chunk], lines: int) -> list[tuple[str, int, int]]:
    return [(c.id, c.start_line + lines, c.end_line + lines) for c in chunks]


@given(case=commented_definitions(any_language=True), above=BLANK_LINES, below=BLANK_LINES)
@example(case=("f.py", "/* Doc. */\ndef f(x):\n    return x\n"), above=["\n"], below=["\n"])
@example(
    case=("f.py", "/**\n * Doc.\n */\n\n@cache\ndef g():\n    pass\n"), above=["\n"], below=["\n"]
)
@example(
    case=("f.cs", "(* Doc. *)\nfunction f($x) {\n    return $x;\n}\n"),
    above=["\n"],
    below=["\n", "\n", "\n"],
)
@example(
    case=("f.cs", "\n-- Doc.\n\nclass A {\n    void M() {}\n}\n"),
    above=[" \n", "\n", "  \t \n"],
    below=[" \n", "\n", " \n", "  \t \n"],
)
@example(
    case=("f.cs", "\n\n\n@cache\ndef g():\n    pass\n"),
    above=["\n", "\t\n", "\n"],
    below=["\n", "\t\n", "\t\n"],
)
@example(
    case=("f.cc", '\n"""Doc."""\n    def m(self):\n        pass\nfunction f($x) {\n}\n'),
    above=["\n", "\n"],
    below=["\n"],
)
@example(  # blank lines at the end only
    case=("f.swift", "{ {\ndef f(x):\n    return x\n"), above=[], below=["\n", "\n", "\t\n", " \n"]
)
def test_comments_before_a_definition_at_the_top_only_move(
    case: tuple[str, str], above: list[str], below: list[str]
) -> None:
    path, text = case
    before = check_invariants(path, text)
    after = check_invariants(path, "".join(above) + text + "".join(below))
    assert _moved(before, len(above)) == _moved(after, 0)


@given(case=commented_definitions(any_language=False), blank=BLANK_LINES, data=st.data())
def test_definitions_below_added_blank_lines_keep_their_ids(
    case: tuple[str, str], blank: list[str], data: st.DataObject
) -> None:
    path, text = case
    lines = text.splitlines(keepends=True)
    row = data.draw(st.integers(0, len(lines)), label="row")
    before = check_invariants(path, text)
    after = check_invariants(path, "".join(lines[:row] + blank + lines[row:]))
    below = [c for c in before if c.kind not in ("code", "lines") and c.start_line > row]
    assert set(_moved(below, len(blank))) <= set(_moved(after, 0))


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
    assert chunk_file(path, "", language_for(path)) == []
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
