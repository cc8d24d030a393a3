"""Prior odds that a chunk is what a code question is after, by the file it lives in.

Questions about behaviour are answered by source code; prose (READMEs, changelogs, docs)
and tests repeat the question's words without holding the answer, and win BM25 on long
issue texts. Their fused scores are scaled down, not dropped: a docs question still finds
docs when nothing in the code matches it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

PROSE_LANGUAGES = frozenset({"markdown", "rst", "text"})
_TEST_FOLDERS = frozenset({"test", "tests", "testing", "__tests__", "spec"})
_TEST_SUFFIXES = ("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.js", ".spec.ts")


def is_test_path(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name
    return (
        bool(_TEST_FOLDERS & set(pure.parts[:-1]))
        or name.startswith("test_")
        or name.endswith(_TEST_SUFFIXES)
        or name.endswith("Test.java")
        or name == "conftest.py"
    )


def file_prior(path: str, language: str, prose: float, tests: float) -> float:
    if language in PROSE_LANGUAGES:
        return prose
    return tests if is_test_path(path) else 1.0
