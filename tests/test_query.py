"""Query understanding: the identifiers, paths and stack frames a question names."""

from __future__ import annotations

import pytest

from codeintel.retrieval.query import Frame, parse_query

PY_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/web/handlers.py", line 9, in handle_profile\n'
    '  File "/srv/app/app/services.py", line 23, in get_user_name\n'
    "KeyError: 7\n"
)

CASES = [
    # (question, identifiers, dotted, paths, frames)
    ("where is get_user_name defined", ["get_user_name"], [], [], []),
    ("getUserName returns undefined", ["getUserName"], [], [], []),
    ("__init__ runs twice", ["__init__"], [], [], []),
    ("the HTTP server crashes on start", [], [], [], []),  # prose, an acronym: no identifiers
    ("QuerySet.filter ignores Q objects", ["QuerySet"], ["QuerySet.filter"], [], []),
    ("UserStore.get_user is slow", ["UserStore", "get_user"], ["UserStore.get_user"], [], []),
    ("see django/db/models/query.py", [], [], ["django/db/models/query.py"], []),
    ("users.json is missing", [], [], ["users.json"], []),
    (
        "fix parseHTTPResponse_v2 in net/http.js",
        ["parseHTTPResponse_v2"],
        [],
        ["net/http.js"],
        [],
    ),
    (
        PY_TRACE,
        ["KeyError", "handle_profile", "get_user_name"],
        [],
        [],  # absolute paths come as frames, not as mentions
        [
            Frame("/srv/app/web/handlers.py", 9, "handle_profile"),
            Frame("/srv/app/app/services.py", 23, "get_user_name"),
        ],
    ),
    (
        "TypeError at render (src/components/App.tsx:42:7)",
        ["TypeError"],
        [],
        ["src/components/App.tsx"],
        [Frame("src/components/App.tsx", 42)],
    ),
    ("main.go:17 panics with nil map", [], [], ["main.go"], [Frame("main.go", 17)]),
    # plain words quoted as code are names; other inline code (commands, options) is not
    (
        "`where` drops attrs set by `Plotter`, `Coarsen.construct` or `clear()`"
        " after `pip install xr` with `--min-lines=0` and `None` or `self`",
        ["where", "Plotter", "Coarsen", "construct", "clear"],
        ["Coarsen.construct"],
        [],
        [],
    ),
    # a quoted file name is a path, not names; parts under three letters are no names
    ("`np.where` breaks `conf.py` and `xr`", ["where"], ["np.where"], ["conf.py"], []),
]


@pytest.mark.parametrize(("question", "identifiers", "dotted", "paths", "frames"), CASES)
def test_parse_query(
    question: str,
    identifiers: list[str],
    dotted: list[str],
    paths: list[str],
    frames: list[Frame],
) -> None:
    parsed = parse_query(question)
    assert sorted(parsed.identifiers) == sorted(identifiers)
    assert parsed.dotted == dotted
    assert sorted(parsed.paths) == sorted(paths)
    assert parsed.frames == frames


def test_terms_add_the_words_of_identifiers() -> None:
    terms = parse_query("why does getUserName differ from get_user_name").terms
    assert terms.startswith("why does getUserName differ from get_user_name")
    assert terms.split("\n", 1)[1].split().count("user") == 2


def test_a_python_frame_is_not_also_a_generic_frame() -> None:
    parsed = parse_query('File "pkg/mod.py", line 3, in run\nand lib/x.rs:10')
    assert parsed.frames == [Frame("pkg/mod.py", 3, "run"), Frame("lib/x.rs", 10)]


def test_domains_and_versions_are_not_paths() -> None:
    parsed = parse_query("upgrade from 1.2.3 as python.org says; see example.com")
    assert parsed.paths == []
    assert parsed.frames == []


def test_long_questions_are_capped() -> None:
    question = " ".join(f"name_{i}" for i in range(100))
    parsed = parse_query(question)
    assert len(parsed.identifiers) == 40
    assert parsed.identifiers[0] == "name_0"


def test_identifiers_keep_their_order_in_the_question() -> None:
    """A name quoted in the title comes first and survives the cap of a long issue."""
    body = " ".join(f"name_{i}" for i in range(50))
    parsed = parse_query(f"`where` drops attributes\n\n{body}\nsee Cart.total_price")
    assert parsed.identifiers[:3] == ["where", "name_0", "name_1"]
    assert len(parsed.identifiers) == 40 and "total_price" not in parsed.identifiers


def test_title_and_inline_code_are_stressed() -> None:
    question = (
        "`autodoc_typehints` puts a return type on classes\n\n"
        "With `autodoc_typehints = 'description'` the class shows a return type.\n"
        "```py\nproject = 'demo'\nextensions = ['sphinx.ext.autodoc']\n```\n"
    )
    parsed = parse_query(question)
    assert parsed.emphasis == (
        "`autodoc_typehints` puts a return type on classes "
        "autodoc_typehints autodoc_typehints = 'description'"
    )
    words = parsed.terms.split()
    assert words.count("typehints") == words.count("classes") == 3
    assert words.count("extensions") == 1  # code blocks are not stressed


def test_a_pasted_traceback_has_no_title() -> None:
    question = 'Traceback (most recent call last):\n  File "a.py", line 3, in run\nKeyError: 1'
    assert parse_query(question).emphasis == ""


def test_a_one_line_question_is_not_stressed() -> None:
    parsed = parse_query("where are files split into chunks")
    assert parsed.emphasis == ""
    assert parsed.terms == "where are files split into chunks"


def test_long_questions_keep_their_identifier_words() -> None:
    question = "x " * 5000 + " get_user_name fails"
    assert "get_user_name" not in parse_query(question).terms  # past the head
    head = "getUserName fails " + "filler words " * 1000  # one line: nothing stressed
    assert "user" in parse_query(head).terms.split()


def test_code_blocks_hold_no_inline_code_to_stress() -> None:
    question = "Fix the greeting\n```js\nconst s = `hello ${name}`;\n```\nsee `greet`"
    assert parse_query(question).emphasis == "Fix the greeting greet"
