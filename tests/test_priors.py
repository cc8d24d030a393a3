"""File priors: prose and tests are scaled down, source code is not."""

from __future__ import annotations

import pytest

from codeintel.retrieval.priors import file_prior, is_test_path
from codeintel.retrieval.query import parse_query


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_api.py", True),
        ("src/pkg/testing/helpers.py", True),
        ("pkg/test_models.py", True),
        ("pkg/models_test.go", True),
        ("web/app.spec.ts", True),
        ("src/main/java/FooTest.java", True),
        ("conftest.py", True),
        ("src/_pytest/capture.py", False),
        ("pkg/contest.py", False),
        ("docs/testimonials.md", False),
    ],
)
def test_test_paths(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_priors_by_kind_of_file() -> None:
    assert file_prior("pkg/models.py", "python", 0.5, 0.7) == 1.0
    assert file_prior("README.md", "markdown", 0.5, 0.7) == 0.5
    assert file_prior("docs/usage.rst", "rst", 0.5, 0.7) == 0.5
    assert file_prior("tests/test_models.py", "python", 0.5, 0.7) == 0.7


def test_dotted_module_names_become_candidate_files() -> None:
    parsed = parse_query("the bug is in sphinx.ext.autodoc when Foo.bar is mocked")
    assert "sphinx/ext/autodoc.py" in parsed.module_paths
    assert "sphinx/ext/autodoc/__init__.py" in parsed.module_paths
    assert not any(path.startswith("Foo") for path in parsed.module_paths)
