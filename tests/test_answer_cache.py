"""The answer cache: `codeintel ask` served again from a real Lance table while its code is
unchanged, against a real loopback server playing the provider (its request count says
whether the provider was called); what is never kept; two processes writing at once; and
random edits of cited and uncited code, chunked by tree-sitter, never serving a stale answer."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeintel.cache.answers import Entry, Grounding, Lookup, why_not
from codeintel.cache.store import AnswerStore, entry_key
from codeintel.cli.main import main
from codeintel.indexer.chunking import chunk_file
from codeintel.indexer.languages import language_for
from codeintel.indexer.store import Database
from tests.conftest import write_files
from tests.provider_server import ProviderServer, reply

INVOICE = (
    '"""Invoices and their totals."""\n\n\n'
    "def total_cents(lines):\n"
    '    """Sum of the line amounts, in cents."""\n'
    "    return sum(line.amount_cents for line in lines)\n\n\n"
    "def apply_discount(lines, percent):\n"
    "    for line in lines:\n"
    "        line.amount_cents = line.amount_cents * (100 - percent) // 100\n"
)
SOURCE = {
    "billing/invoice.py": INVOICE,
    "billing/tax.py": (
        "RATE = 21\n\n\n"
        "def tax_cents(invoice):\n"
        '    """VAT owed on an invoice."""\n'
        "    return invoice.total * RATE // 100\n"
    ),
    "README.md": "# Billing\n\nInvoices, discounts and VAT.\n",
}
QUESTION = "how is the invoice total computed in total_cents"
CITING = "It sums the lines' amounts (billing/invoice.py:4-6)."


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    write_files(tmp_path, SOURCE)
    result = CliRunner().invoke(main, ["index", "build", str(tmp_path), "--model", "hashing:64"])
    assert result.exit_code == 0, result.output
    return tmp_path


def answering(text: str, finish: str = "stop") -> Any:
    return reply(
        {
            "model": "gpt-4o-2024",
            "choices": [{"message": {"content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 20},
        }
    )


def ask(repo: Path, server: ProviderServer, question: str = QUESTION, *args: str) -> Any:
    env = {
        "CODEINTEL_LLM_MODEL": "gpt-4o",
        "OPENAI_API_KEY": "sk-test",
        "CODEINTEL_LLM_BASE_URL": server.url + "/v1",
        "CODEINTEL_EMBED_MODEL": "hashing:64",
    }
    command = ["--set", "llm.request_share=0", "ask", question, "--path", str(repo), "--json"]
    result = CliRunner().invoke(main, [*command, *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stats(repo: Path) -> dict[str, int]:
    result = CliRunner().invoke(main, ["cache", "stats", "--path", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, int] = json.loads(result.stdout)
    return data


def test_an_answer_is_served_again_until_its_code_changes(repo: Path) -> None:
    server = ProviderServer()
    server.script = [answering(CITING) for _ in range(3)]
    with server.running():
        first = ask(repo, server)
        assert not first["cached"] and len(server.requests) == 1
        again = ask(repo, server)
        assert again["cached"] and again["answer"] == CITING
        assert again["usage"]["prompt_tokens"] == 0 and len(server.requests) == 1
        assert again["citations"] == first["citations"]

        (repo / "billing/tax.py").write_text("RATE = 19\n\n\ndef tax_cents(invoice):\n    ...\n")
        assert ask(repo, server)["cached"], "an edit elsewhere leaves the answer standing"
        assert len(server.requests) == 1

        ask(repo, server, QUESTION, "--no-cache")
        assert len(server.requests) == 2

        edited = INVOICE.replace("sum(line.amount_cents", "sum(line.amount_cents * line.count")
        (repo / "billing/invoice.py").write_text(edited)
        assert not ask(repo, server)["cached"], "the cited code changed: asked again"
        assert len(server.requests) == 3
    counts = stats(repo)
    assert counts["hits"] == 2 and counts["tokens_saved"] == 2 * 320
    assert counts["stale_dropped"] == 1 and counts["entries"] == 1  # the new answer
    assert counts["misses"] == 2  # the first question, and the one after the edit


def test_a_question_naming_other_code_is_not_served(repo: Path) -> None:
    server = ProviderServer()
    server.script = [
        answering(CITING),
        answering("It lowers each amount (billing/invoice.py:9-11)."),
    ]
    with server.running():
        ask(repo, server)
        other = ask(repo, server, "how is the invoice total computed in apply_discount")
    assert not other["cached"] and len(server.requests) == 2


@pytest.mark.parametrize(
    ("text", "finish"),
    [
        ("It sums them (billing/invoice.py:40-41).", "stop"),  # lines the context never showed
        ("The excerpts do not show how totals are computed.", "stop"),
        ("It sums the lines' amounts (billing/invoice.py:4-6", "length"),  # cut short
        ("", "stop"),
    ],
)
def test_never_kept(repo: Path, text: str, finish: str) -> None:
    server = ProviderServer()
    server.script = [answering(text, finish), answering(CITING)]
    with server.running():
        ask(repo, server)
        assert not ask(repo, server)["cached"]
    assert len(server.requests) == 2 and stats(repo)["entries"] == 1  # only the good answer


def test_a_provider_error_keeps_nothing(repo: Path) -> None:
    server = ProviderServer()
    server.script = [reply({"error": {"message": "bad request"}}, 400)]
    env = {
        "OPENAI_API_KEY": "sk-test",
        "CODEINTEL_LLM_BASE_URL": server.url + "/v1",
        "CODEINTEL_EMBED_MODEL": "hashing:64",
    }
    with server.running():
        result = CliRunner().invoke(
            main, ["ask", QUESTION, "--path", str(repo), "--set", "llm.model=gpt-4o"], env=env
        )
    assert result.exit_code != 0
    assert stats(repo)["entries"] == 0


def test_clear(repo: Path) -> None:
    server = ProviderServer()
    server.script = [answering(CITING)]
    with server.running():
        ask(repo, server)
    result = CliRunner().invoke(main, ["cache", "clear", "--path", str(repo)])
    assert result.exit_code == 0 and "dropped 1 cached answer" in result.output
    assert stats(repo) == {
        "entries": 0, "hits": 0, "misses": 0, "stale_dropped": 0, "tokens_saved": 0
    }  # fmt: skip


# -- the rule, entry by entry ------------------------------------------------------------


def entry(question: str = "q", ids: tuple[str, ...] = ("a",), **changes: Any) -> Entry:
    fields: dict[str, Any] = {
        "key": entry_key("m", question),
        "question": question,
        "vector": (1.0, 0.0),
        "names": ("total_cents",),
        "answer": "an answer",
        "citations": "[]",
        "grounding": tuple(Grounding(i, "sha-" + i) for i in ids),
        "model": "m",
        "tokens": 10,
        "created": 1000.0,
    }
    return Entry(**(fields | changes))


def lookup(**changes: Any) -> Lookup:
    fields: dict[str, Any] = {
        "question": "q",
        "vector": np.array([1.0, 0.0]),
        "names": frozenset({"total_cents"}),
        "shown": frozenset({"a", "b"}),
        "model": "m",
    }
    return Lookup(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "live", "why"),
    [
        ({}, {"a"}, None),
        ({"model": "other"}, {"a"}, "model"),
        ({"model": "other", "any_model": True}, {"a"}, None),
        ({"names": frozenset({"apply_discount"})}, {"a"}, "names"),
        ({}, set(), "stale"),
        ({"shown": frozenset({"b"})}, {"a"}, "elsewhere"),
        ({"vector": np.array([0.6, 0.8])}, {"a"}, "dissimilar"),
        ({"vector": np.array([0.95, 0.31])}, {"a"}, None),
    ],
)
def test_why_not(changes: dict[str, Any], live: set[str], why: str | None) -> None:
    assert why_not(entry(), lookup(**changes), live) == why


def test_least_recently_used_go_past_the_bound(tmp_path: Path) -> None:
    now = [1000.0]
    store = AnswerStore(Database(str(tmp_path / "db")), tmp_path, 3, 10_000, lambda: now[0])
    for number in range(3):
        now[0] += 1
        store.put(entry(f"q{number}", created=now[0]))
    now[0] += 1
    assert store.serve(lookup(question="q0"), lambda ids: set(ids)) is not None  # any entry
    served_key = [e.key for e in store.entries() if e.hits]
    now[0] += 1
    store.put(entry("q3", created=now[0]))
    kept = {e.key for e in store.entries()}
    assert len(kept) == 3 and set(served_key) <= kept and entry_key("m", "q3") in kept
    now[0] += 20_000  # past the TTL: gone whatever else holds
    assert store.entries() == []


# -- two writers at once -----------------------------------------------------------------


def _put_many(folder: str, worker: int) -> None:
    store = AnswerStore(Database(f"{folder}/db"), Path(folder), 1000, 10**10)
    for number in range(6):
        store.put(entry(f"shared {number}"))  # both processes keep the same questions
        store.put(entry(f"own {worker} {number}"))


def test_two_processes_neither_corrupt_nor_duplicate(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_put_many, args=(str(tmp_path), n)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    keys = [
        e.key for e in AnswerStore(Database(str(tmp_path / "db")), tmp_path, 1000, 10**10).entries()
    ]
    assert len(keys) == len(set(keys)) == 6 + 2 * 6


# -- random edits never serve a stale answer ---------------------------------------------

FUNCTIONS = [f"def step_{n}(value):\n    return value + {n}\n" for n in range(6)]


def chunk_ids(files: dict[str, list[str]]) -> dict[str, str]:
    """chunk id -> text of every chunk of the files (tree-sitter's chunks)."""
    found = {}
    for path, functions in files.items():
        for chunk in chunk_file(path, "\n\n".join(functions), language_for(path)):
            found[chunk.id] = chunk.text
    return found


edits = st.lists(
    st.tuples(
        st.sampled_from(["a.py", "b.py"]), st.integers(0, 5), st.integers(0, 3), st.integers(0, 11)
    ),
    min_size=10,
    max_size=10,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits)
def test_random_edits_never_serve_changed_grounding(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int, int]]
) -> None:
    """Each answer rests on one chunk; each of 10 edits rewrites one function (3: back to
    the original), then the questions whose code it changed are asked again, and one more."""
    folder = tmp_path_factory.mktemp("cache")
    store = AnswerStore(Database(str(folder / "db")), folder, 1000, 10**10)
    files = {path: list(FUNCTIONS) for path in ("a.py", "b.py")}
    live = chunk_ids(files)
    answered_from = {}  # question -> (chunk id, its text when answered)
    vectors = {}
    for number, chunk_id in enumerate(sorted(live)):
        question = f"question {number}"
        vectors[question] = np.array([1.0, number / 10])
        store.put(entry(question, (chunk_id,), vector=tuple(vectors[question])))
        answered_from[question] = (chunk_id, live[chunk_id])
    served = 0
    questions = list(answered_from)
    for path, function, change, other in steps:
        original = FUNCTIONS[function]
        edited = original.replace("+", "-*"[change % 2]) + "#" * change
        files[path][function] = original if change == 3 else edited
        before, live = live, chunk_ids(files)
        gone = {
            q for q, (chunk_id, _) in answered_from.items() if chunk_id in set(before) - set(live)
        }
        for question in sorted(gone) + [questions[other]]:
            ask = lookup(question=question, vector=vectors[question], shown=frozenset(live))
            hit = store.serve(ask, lambda ids, live=live: set(ids) & set(live))
            if hit is not None:
                served += 1
                chunk_id, text = answered_from[hit.question]
                assert live.get(chunk_id) == text, "served an answer whose code changed"
    assert served > 0
