"""File priors: prose and tests are scaled down, source code is not."""

from __future__ import annotations

import pytest

from codeintel.retrieval.priors import file_prior, is_docs_path, is_test_path, is_vendored_path
from codeintel.retrieval.query import parse_query
from codeintel.settings import RetrievalSettings


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


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sphinx/themes/basic/static/jquery-3.5.1.js", True),
        ("web/static/underscore-1.3.1.js", True),
        ("assets/app.min.js", True),
        ("assets/bootstrap.v4.6.min.css", True),
        ("frontend/node_modules/react/index.js", True),
        ("static/jquery-min.js", True),
        ("dist/bundle.min.cjs", True),
        ("src/pip/_vendor/six.py", True),
        ("src/third_party/zlib/inflate.c", True),
        ("web/static/client.js", False),
        ("pkg/v1.py", False),
        ("pkg/vendor.py", False),
        ("", False),
    ],
)
def test_vendored_paths(path: str, expected: bool) -> None:
    assert is_vendored_path(path) is expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("doc/conf.py", True),
        ("docs/examples/plot.py", True),
        ("examples/grouped_barplot.py", True),
        ("setup.py", True),
        (".github/ISSUE_TEMPLATE/bug_report.md", True),
        ("src/docs/parser.py", False),  # a package's own docs module is code
        ("pkg/setup.py", False),
        ("docs", False),
        ("", False),
    ],
)
def test_docs_paths(path: str, expected: bool) -> None:
    assert is_docs_path(path) is expected


def test_priors_by_kind_of_file() -> None:
    settings = RetrievalSettings(prior_prose=0.5, prior_tests=0.7, prior_vendored=0.3)
    assert file_prior("pkg/models.py", "python", settings) == 1.0
    assert file_prior("README.md", "markdown", settings) == 0.5
    assert file_prior("docs/usage.rst", "rst", settings) == 0.5
    assert file_prior("doc/conf.py", "python", settings) == 0.5
    assert file_prior("tests/test_models.py", "python", settings) == 0.7
    assert file_prior("static/jquery-3.5.1.js", "javascript", settings) == 0.3


def test_dotted_module_names_become_candidate_files() -> None:
    parsed = parse_query("the bug is in sphinx.ext.autodoc when Foo.bar is mocked")
    assert "sphinx/ext/autodoc.py" in parsed.module_paths
    assert "sphinx/ext/autodoc/__init__.py" in parsed.module_paths
    assert not any(path.startswith("Foo") for path in parsed.module_paths)
