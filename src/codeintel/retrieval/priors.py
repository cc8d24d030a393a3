"""Prior odds that a chunk is what a code question is after, by the file it lives in.

Questions about behaviour are answered by the project's own source code. Prose (READMEs,
changelogs, docs) and the example code beside it, build and packaging files (``setup.py``,
``.github/``), and tests repeat the question's words without holding the answer, and win
BM25 on long issue texts. Vendored copies of other projects (``jquery-3.5.1.js``,
``*.min.js``, ``node_modules/``) are large, define every common name and answer nothing
about this project. Their fused scores are scaled down, not
dropped: a docs question still finds docs when nothing in the code matches it.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from codeintel.settings import RetrievalSettings

PROSE_LANGUAGES = frozenset({"markdown", "rst", "text"})
_TEST_FOLDERS = frozenset({"test", "tests", "testing", "__tests__", "spec"})
_TEST_SUFFIXES = ("_test.py", "_test.go", ".test.js", ".test.ts", ".spec.js", ".spec.ts")
_DOCS_ROOTS = frozenset({"doc", "docs", "documentation", "example", "examples", ".github"})
_PROJECT_FILES = frozenset(  # at the top: how the project is built and packaged
    {"setup.py", "setup.cfg", "pyproject.toml", "tox.ini", "noxfile.py", "Makefile"}
)
_VENDOR_FOLDERS = frozenset(
    {"vendor", "vendors", "_vendor", "third_party", "third-party", "thirdparty", "node_modules"}
)
# a minified bundle, or a library copied in under its release: name-1.2.3(.min).js
_VENDORED_NAME = re.compile(r"([.-]min|[-_.]v?\d+\.\d+(\.\d+)*([.-]min)?)\.(js|mjs|cjs|css)$")


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


def is_vendored_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    if not parts:
        return False
    return bool(_VENDOR_FOLDERS & set(parts[:-1])) or bool(_VENDORED_NAME.search(parts[-1]))


def is_docs_path(path: str) -> bool:
    """Under a top-level docs or examples folder (code there shows usage, not behaviour),
    or the project's own build and packaging files."""
    parts = PurePosixPath(path).parts
    if len(parts) <= 1:
        return bool(parts) and parts[0] in _PROJECT_FILES
    return parts[0].lower() in _DOCS_ROOTS


def file_prior(path: str, language: str, settings: RetrievalSettings) -> float:
    if is_vendored_path(path):
        return settings.prior_vendored
    if language in PROSE_LANGUAGES or is_docs_path(path):
        return settings.prior_prose
    return settings.prior_tests if is_test_path(path) else 1.0
