"""The SWE-bench harness's pure parts: gold from a patch, and the metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import recorded
from benchmarks import swebench as sb
from benchmarks import token_savings as ts

PATCH = """\
diff --git a/pkg/core.py b/pkg/core.py
--- a/pkg/core.py
+++ b/pkg/core.py
@@ -10,7 +10,7 @@ def f():
     a = 1
     b = 2
     c = 3
-    d = 4
+    d = 5
     e = 5
     g = 6
     h = 7
@@ -40,6 +40,8 @@ def g():
     x = 1
     y = 2
     z = 3
+    new_line()
+    other()
     w = 4
     v = 5
     u = 6
diff --git a/pkg/tests/test_core.py b/pkg/tests/test_core.py
--- a/pkg/tests/test_core.py
+++ b/pkg/tests/test_core.py
@@ -1,3 +1,4 @@
 import pkg
+import pytest
 def test_a():
     pass
diff --git a/pkg/new.py b/pkg/new.py
new file mode 100644
--- /dev/null
+++ b/pkg/new.py
@@ -0,0 +1,2 @@
+def created():
+    pass
diff --git a/pkg/top.py b/pkg/top.py
--- a/pkg/top.py
+++ b/pkg/top.py
@@ -0,0 +1 @@
+import os
@@ -5,4 +6,3 @@ def k():
     one = 1
-    two = 2
-    three = 3
+    two_three = 23
     four = 4
"""


def test_parse_patch_edit_sites() -> None:
    files = sb.parse_patch(PATCH)
    assert set(files) == {"pkg/core.py", "pkg/tests/test_core.py", "pkg/new.py", "pkg/top.py"}
    # a changed line is its own old line; a pure insertion is the old line before it
    assert files["pkg/core.py"].edit_lines == {13, 42}
    assert files["pkg/new.py"].created
    # insertion at the top of the file → line 1; a replaced pair of lines → both lines
    assert files["pkg/top.py"].edit_lines == {1, 6, 7}
    assert files["pkg/tests/test_core.py"].edit_lines == {1}


def test_gold_drops_tests_and_created_files() -> None:
    inst = sb.Instance("x__y-1", "x/y", "abc", "problem", PATCH)
    gold = sb.gold_of(inst)
    assert gold.files == ("pkg/core.py", "pkg/top.py")
    assert gold.edit_sites == {"pkg/core.py": (13, 42), "pkg/top.py": (1, 6, 7)}
    assert gold.n_sites == 5


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_x.py", True),
        ("src/pkg/testing/util.py", True),
        ("pkg/test_utils.py", True),
        ("conftest.py", True),
        ("pkg/foo_test.py", True),
        ("src/_pytest/python.py", False),
        ("sphinx/testing/fixtures.py", True),
        ("doc/contest.rst", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert sb.is_test_path(path) is expected


def test_accuracy_at_k_needs_every_gold_unit() -> None:
    ranking = sb.distinct(["a.py", "b.py", "a.py", "c.py", "d.py"])
    assert ranking == ["a.py", "b.py", "c.py", "d.py"]
    assert sb.all_in_top_k(ranking, ["a.py"], 1)
    assert not sb.all_in_top_k(ranking, ["a.py", "c.py"], 2)
    assert sb.all_in_top_k(ranking, ["a.py", "c.py"], 3)
    assert not sb.all_in_top_k(ranking, ["z.py"], 10)
    assert not sb.all_in_top_k(ranking, [], 3)  # no gold: never counts as a hit


def test_reciprocal_rank_of_first_gold() -> None:
    assert sb.reciprocal_rank(["a", "b", "c"], ["c", "b"]) == pytest.approx(0.5)
    assert sb.reciprocal_rank(["a", "b"], ["z"]) == 0.0


def test_gold_units_innermost_chunk_and_split_functions() -> None:
    spans = [
        sb.Span("m.py", 1, 50, "C", "class"),
        sb.Span("m.py", 5, 20, "C.f", "method"),
        sb.Span("m.py", 21, 40, "C.f", "method"),  # second part of a split method
        sb.Span("m.py", 60, 70, "", "code"),
    ]
    units = sb.gold_units(spans, {"m.py": (6, 30), "n.py": (3,)})
    assert units == {("m.py", "C.f"), ("n.py", "<not indexed>")}
    # a site between chunks falls back to the chunk above; module code has no symbol
    assert sb.gold_units(spans, {"m.py": (55, 65)}) == {("m.py", "C"), ("m.py", "code@60")}
    assert sb.Span("m.py", 1, 50, "C", "class").unit == ("m.py", "C")


def test_sites_covered_needs_full_spans_over_every_site() -> None:
    sites = {"a.py": (3, 10), "b.py": (1,)}
    assert sb.sites_covered([("a.py", 1, 5), ("a.py", 8, 12), ("b.py", 1, 1)], sites)
    assert not sb.sites_covered([("a.py", 1, 5), ("b.py", 1, 1)], sites)
    gold = sb.Gold(("a.py", "b.py"), sites)
    assert ts.coverage([("a.py", 1, 12, "full"), ("b.py", 1, 1, "signature")], gold) == (
        True,
        False,
    )


def test_percentile_and_mean() -> None:
    assert sb.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert sb.percentile([5.0], 95) == 5.0
    assert sb.mean([True, False, True, True]) == pytest.approx(0.75)


def test_spread_quota_and_evenly() -> None:
    assert sb.spread_quota({"a": 1, "b": 10, "c": 3}, 6) == {"a": 1, "b": 3, "c": 2}
    assert sb.evenly(list(range(10)), 3) == [0, 3, 6]
    assert sb.evenly([1, 2], 5) == [1, 2]


def test_bm25_ranks_matching_file_first() -> None:
    assert ts.bm25_terms("parseHTTPResponse read_file") == [
        "parsehttpresponse",
        "parse",
        "http",
        "response",
        "read_file",
        "read",
        "file",
    ]
    docs = {
        "a.py": Counter(ts.bm25_terms("def read_file(path): return open(path).read()")),
        "b.py": Counter(ts.bm25_terms("def send_request(url): pass")),
    }
    assert ts.bm25_rank(docs, ts.bm25_terms("send_request fails on url"))[0] == "b.py"


def test_interleave_keeps_prefixes_proportional() -> None:
    merged = sb.interleave({"a": [1, 2, 3, 4], "b": [10, 20], "c": [100]})
    # each next item comes from the group least far through its own list
    assert merged == [1, 10, 2, 100, 3, 20, 4]


def _chunk(path: str, start: int, end: int, symbol: str, defines: bool = True) -> dict[str, object]:
    from dataclasses import asdict

    from codeintel.indexer.models import Chunk

    text = "\n".join(f"line {n}" for n in range(start, end + 1)) + "\n"
    chunk = Chunk(
        path, "python", "function", symbol, "", start, end, 0, 0, text, f"def {symbol}():", "",
        f"def {symbol}():\n    ...\n", [symbol] if defines else [], [], f"{path}:{start}",
    )  # fmt: skip
    return asdict(chunk)


def recorded_search() -> recorded.Record:
    """A search whose first result is the second part of a split ``run``."""
    chunks = {
        c["id"]: c
        for c in (
            _chunk("a.py", 1, 10, "run"),
            _chunk("a.py", 12, 20, "run", defines=False),
            _chunk("b.py", 1, 5, "stop"),
            _chunk("tests/test_a.py", 1, 5, "test_run"),
        )
    }
    return recorded.Record(
        query="how does run work",
        chunks=chunks,
        found=[("a.py:12", 0.9, {"bm25": 1}), ("b.py:1", 0.5, {"vector": 1})],
        siblings=["a.py:1", "a.py:12"],
        files={"a.py": ["a.py:1", "a.py:12"], "b.py": ["b.py:1"]},
        plain={"bm25": ["tests/test_a.py:1", "a.py:12", "b.py:1"], "vector": ["b.py:1"]},
        whole_files=[("a.py", 40), ("b.py", 20)],
    )


def test_a_record_survives_its_file(tmp_path: Path) -> None:
    found = recorded_search()
    found.save(tmp_path / "r.json.gz")
    assert recorded.Record.load(tmp_path / "r.json.gz") == found


def test_a_recorded_search_plays_the_searcher() -> None:
    search = recorded.RecordedSearch(recorded_search())
    results = search.search("how does run work", k=2)
    assert [r.chunk.id for r in results] == ["a.py:12", "b.py:1"]
    siblings = search.split_siblings(results, 0.5)
    assert [(s.chunk.id, s.score) for s in siblings] == [("a.py:1", 0.45)]
    assert [c.id for c in search.chunks_of(["b.py"])] == ["b.py:1"]
    with pytest.raises(ValueError, match="record"):
        search.search("q", k=recorded.DEPTH + 1)


def test_the_plain_baseline_leaves_tests_out_and_keeps_definitions_whole() -> None:
    found = recorded_search()
    ranked = ts._rrf(found)
    assert [c.id for c in ranked] == ["b.py:1", "a.py:12"]
    units = ts._whole_definitions(found, ranked)
    assert [[c.id for c in unit] for unit in units] == [["b.py:1"], ["a.py:1", "a.py:12"]]
