"""build_context with the real tokenizer: exact budgets, overlaps, layout and the JSON shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeintel.agent.context import (
    Candidate,
    Context,
    ContextItem,
    _fit,
    _Item,
    _items,
    _View,
    build_context,
    solver_groups,
)
from codeintel.agent.packer import Option
from codeintel.agent.render import chunk_piece, ends_first, render
from codeintel.errors import ConfigError
from codeintel.indexer.models import Chunk
from codeintel.indexer.tokens import TokenCounter
from codeintel.settings import ContextSettings

COUNTER = TokenCounter("cl100k_base")
CODE_LINES = [
    "def handle(self, request):",
    '    """Route one request to its handler."""',
    "    return self.routes[request.path](request)",
    "",
    "    for key, value in sorted(items.items()):",
    "        total += value * weights.get(key, 1.0)",
    "class Cache(dict):",
    "    if not isinstance(value, (int, float)) and value is not None:",
    "        raise ValueError(f'bad value: {value!r}')",
    "\t# tab-indented comment with ünïcödé",
    "x = [i ** 2 for i in range(10) if i % 3]",
    "    ",
]


def chunk(
    path: str,
    start: int,
    lines: list[str],
    symbol: str = "f",
    parent: str = "",
    skeleton: str | None = None,
    kind: str = "function",
) -> Chunk:
    """A chunk of ``lines`` starting at line ``start`` defining ``symbol``; skeleton: first
    line plus a marker."""
    return Chunk(
        path=path,
        language="python",
        kind=kind,
        symbol=symbol,
        parent=parent,
        start_line=start,
        end_line=start + len(lines) - 1,
        start_byte=0,
        end_byte=0,
        text="\n".join(lines) + "\n",
        signature=lines[0],
        docstring="",
        skeleton=skeleton if skeleton is not None else lines[0] + "\n    ...\n",
        defines=[symbol.rsplit(".", 1)[-1]] if kind != "code" else [],
    )


def body(name: str, size: int) -> list[str]:
    return [f"def {name}(arg):"] + [f"    value_{i} = arg + {i}  # step {i}" for i in range(size)]


@st.composite
def candidate_sets(draw: st.DrawFn) -> list[Candidate]:
    """Random chunks in a few files; ranges may overlap, nest, touch or repeat."""
    result = []
    for index in range(draw(st.integers(0, 12))):
        lines = draw(st.lists(st.sampled_from(CODE_LINES), min_size=1, max_size=25))
        lines[0] = f"def fn_{index}(a, b):"
        item = chunk(
            path=draw(st.sampled_from(["a.py", "pkg/b.py", "pkg/deep/c.py"])),
            start=draw(st.integers(1, 60)),
            lines=lines,
            symbol=f"S{index}",
            parent=draw(st.sampled_from(["", "S0", "S1"])),
        )
        result.append(Candidate(item, draw(st.floats(0, 1))))
    return result


def covers(outer: ContextItem, inner: ContextItem) -> bool:
    return (
        outer.path == inner.path
        and outer.start_line <= inner.start_line <= inner.end_line <= outer.end_line
    )


def check_invariants(result: Context, budget: int) -> None:
    assert result.tokens == COUNTER.count(result.text) <= budget
    assert sum(item.tokens for item in result.items) == result.tokens
    for i, first in enumerate(result.items):
        for second in result.items[i + 1 :]:
            overlap = first.path == second.path and (
                first.start_line <= second.end_line and second.start_line <= first.end_line
            )
            nested = covers(first, second) or covers(second, first)
            assert not overlap or nested, "partially overlapping chunks both chosen"
            for outer, inner in ((first, second), (second, first)):
                assert not covers(outer, inner) or outer.view != "full", "a nested chunk paid twice"


@settings(max_examples=120, deadline=None)
@given(candidates=candidate_sets(), budget=st.integers(0, 1500), numbered=st.booleans())
def test_the_rendered_text_never_exceeds_the_budget(
    candidates: list[Candidate], budget: int, numbered: bool
) -> None:
    result = build_context(candidates, budget, COUNTER, ContextSettings(line_numbers=numbered))
    check_invariants(result, budget)


@pytest.mark.parametrize("budget", [0, 1, 5])
def test_zero_or_tiny_budgets_give_empty_text(budget: int) -> None:
    result = build_context([Candidate(chunk("a.py", 1, body("f", 5)), 1.0)], budget, COUNTER)
    assert (result.text, result.tokens, result.items) == ("", 0, ())


def test_a_negative_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="budget"):
        build_context([], -1, COUNTER)


def test_json_has_exactly_the_contract_shape() -> None:
    candidates = [Candidate(chunk("src/app.py", 10, body("run", 3), symbol="run"), 0.8)]
    data = json.loads(json.dumps(build_context(candidates, 500, COUNTER).to_json()))
    assert set(data) == {"budget", "tokens", "encoding", "items", "text"}
    assert (data["budget"], data["encoding"]) == (500, "cl100k_base")
    assert data["tokens"] == COUNTER.count(data["text"])
    assert data["items"] == [
        {
            "kind": "code",
            "path": "src/app.py",
            "start_line": 10,
            "end_line": 13,
            "symbol": "run",
            "view": "full",
            "shape": "definition",
            "tokens": data["tokens"],
            "score": 0.8,
        }
    ]
    assert data["text"].startswith("src/app.py:10-13 run\ndef run(arg):\n")


def test_files_go_most_relevant_first_and_second_last_in_source_order() -> None:
    scores = {"one.py": 0.9, "two.py": 0.8, "three.py": 0.7, "four.py": 0.6}
    candidates = [
        Candidate(
            chunk(path, start, body(name := f"{path[:-3]}_{start}", 2), symbol=name),
            score - start / 1000,
        )
        for path, score in scores.items()
        for start in (40, 10)
    ]
    result = build_context(candidates, 10_000, COUNTER)
    paths = list(dict.fromkeys(item.path for item in result.items))
    assert paths == ["one.py", "three.py", "four.py", "two.py"]
    starts = [item.start_line for item in result.items if item.path == "one.py"]
    assert starts == [10, 40]
    assert result.text.index("one.py:10-12 one_10\n") < result.text.index("one.py:40-42 one_40\n")


def test_ends_first_puts_the_least_relevant_in_the_middle() -> None:
    assert ends_first([1, 2, 3, 4, 5]) == [1, 3, 5, 4, 2]
    assert ends_first([]) == []


def test_adjacent_chunks_share_one_header_naming_their_symbols() -> None:
    first = chunk("a.py", 1, body("f", 3))
    second = chunk("a.py", 5, body("g", 2), symbol="g")
    result = build_context([Candidate(first, 1.0), Candidate(second, 0.9)], 1000, COUNTER)
    assert result.text == "a.py:1-7 f, g\n" + first.text + second.text + "\n"
    assert [item.view for item in result.items] == ["full", "full"]


def test_views_other_than_full_are_labelled() -> None:
    documented = 'def f(arg):\n    """Adds every step to arg."""\n    ...\n'
    big = chunk("a.py", 1, body("f", 200), skeleton=documented)
    result = build_context([Candidate(big, 1.0)], 60, COUNTER)
    assert [(item.view, item.shape) for item in result.items] == [("skeleton", "skeleton")]
    assert result.text.startswith("a.py:1-201 f (skeleton)\n")


def test_a_skeleton_saying_no_more_than_the_signature_is_not_offered() -> None:
    big = chunk("a.py", 1, body("f", 200))  # skeleton: the signature line and "..."
    assert [
        view.piece.view
        for view in _items([Candidate(big, 1.0)], COUNTER, ContextSettings())[0].views
    ] == [
        "full",
        "signature",
    ]
    result = build_context([Candidate(big, 1.0)], 60, COUNTER)
    assert result.text == "a.py:1-201 f (signature)\ndef f(arg):\n\n"


def test_module_code_and_prose_are_shown_in_full_or_not_at_all() -> None:
    head = chunk("a.py", 1, ["from os import path", "import sys", "LIMIT = 3"], kind="code")
    section = chunk("README.md", 1, ["Usage", "=====", "Run it."], "Usage", kind="section")
    for candidate in (Candidate(head, 1.0, head=True), Candidate(section, 1.0)):
        assert [v.piece.view for v in _items([candidate], COUNTER, ContextSettings())[0].views] == [
            "full"
        ]


def test_duplicates_never_pay_twice() -> None:
    lines = body("f", 4)
    candidates = [
        Candidate(chunk("a.py", 1, lines), 0.9),
        Candidate(chunk("copy/a.py", 1, lines), 0.8),  # identical text elsewhere
        Candidate(chunk("a.py", 1, body("g", 4)), 0.7),  # same lines, other text
    ]
    result = build_context(candidates, 5000, COUNTER)
    assert [(item.path, item.score) for item in result.items] == [("a.py", 0.9)]


def test_a_view_identical_to_another_is_not_offered() -> None:
    tiny = chunk("a.py", 1, ["x = 1"], skeleton="x = 1\n")
    assert len(solver_groups([Candidate(tiny, 1.0)], COUNTER)) == 1
    assert len(solver_groups([Candidate(tiny, 1.0)], COUNTER)[0]) == 1


def split_function() -> tuple[Chunk, Chunk]:
    """One function stored as two parts with a blank line between them (lines 1-21, 23-42)."""
    shared = 'def f(arg):\n    """Steps."""\n    ...\n'
    first = chunk("a.py", 1, body("f", 20), skeleton=shared)
    second = chunk("a.py", 23, [f"    tail_{i} = {i}" for i in range(20)], skeleton=shared)
    second.signature, second.defines = first.signature, []
    return first, second


def test_a_split_function_is_one_item_shown_whole_or_summarised() -> None:
    first, second = split_function()
    groups = solver_groups([Candidate(first, 0.9), Candidate(second, 0.8)], COUNTER)
    assert [len(group) for group in groups] == [3]  # whole, skeleton, signature
    result = build_context([Candidate(second, 0.9), Candidate(first, 0.2)], 5000, COUNTER)
    assert [(i.start_line, i.end_line, i.shape) for i in result.items] == [(1, 42, "definition")]
    assert result.text == "a.py:1-42 f\n" + first.text + "\n" + second.text + "\n"
    for budget in range(0, 400, 25):  # never a part alone
        for item in build_context([Candidate(second, 0.9)], budget, COUNTER).items:
            assert (item.start_line, item.end_line) == (23, 42) or item.view != "full"


def test_two_definitions_of_one_name_stay_two_items() -> None:
    getter = chunk("a.py", 1, ["@property", "def size(self):", "    return self._size"], "size")
    setter = chunk("a.py", 9, ["@size.setter", "def size(self, v):", "    self._size = v"], "size")
    assert len(solver_groups([Candidate(getter, 0.9), Candidate(setter, 0.8)], COUNTER)) == 2


def class_with_method() -> tuple[Chunk, Chunk]:
    members = [f"    def m{i}(self):" for i in range(8)]
    lines = ["class Big:"] + [line for m in members for line in (m, "        pass")]
    method_lines = body("m7", 30)
    lines[-2:] = ["    " + line for line in method_lines]
    skeleton = "class Big:\n" + "".join(f"{m}\n        ...\n" for m in members)
    big = chunk("m.py", 1, lines, symbol="Big", skeleton=skeleton)
    method = chunk("m.py", 16, ["    " + line for line in method_lines], "Big.m7", parent="Big")
    return big, method


def test_a_method_inside_a_class_shown_in_full_is_not_repeated() -> None:
    big, method = class_with_method()
    result = build_context([Candidate(big, 1.0), Candidate(method, 0.9)], 5000, COUNTER)
    assert [(item.symbol, item.view) for item in result.items] == [("Big", "full")]


def test_a_method_shown_in_full_goes_with_its_class_skeleton_not_its_signature() -> None:
    big, method = class_with_method()
    budget = 560  # the method in full and the class skeleton fit, the whole class does not
    result = build_context([Candidate(method, 1.0), Candidate(big, 0.6)], budget, COUNTER)
    shown = {(item.symbol, item.view) for item in result.items}
    assert shown == {("Big.m7", "full"), ("Big", "skeleton")}
    check_invariants(result, budget)


def test_a_method_signature_is_never_shown_beside_its_class_skeleton() -> None:
    big, method = class_with_method()
    candidates = [Candidate(big, 1.0), Candidate(method, 0.05)]
    for budget in range(60, 400, 20):
        views = {
            item.symbol: item.view for item in build_context(candidates, budget, COUNTER).items
        }
        assert not (views.get("Big") == "skeleton" and views.get("Big.m7") == "signature")


def test_underpriced_views_are_tightened_until_the_text_fits() -> None:
    # Real prices are per block and never undercount a layout, so the re-solve path is
    # reached here by pricing every view at one token on purpose.
    pieces = [
        chunk_piece(chunk("a.py", 10 * i + 1, body(f"f{i}", 3)), "full", 1.0) for i in range(6)
    ]
    items = [_Item("", (_View(piece, Option(1, 1.0)),)) for piece in pieces]
    views = _fit(items, 100, COUNTER, ContextSettings())
    assert 0 < len(views) < len(pieces)
    assert COUNTER.count(render([view.piece for view in views]).text) <= 100
