"""What the CLI tells a user, run as users run it: subfolders, empty questions, unknown
languages and LLMs, no results, vectors still pending, and the build's own reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from codeintel.cli.main import main
from codeintel.indexer.repository import Repository
from codeintel.settings import EmbedSettings, IndexSettings
from tests.conftest import write_files

TREE = {
    "src/shop/cart.py": (
        "class Cart:\n"
        '    """Items a customer is about to buy."""\n\n'
        "    def add_item(self, item, quantity=1):\n"
        "        self.items.append((item, quantity))\n"
    ),
    "src/shop/checkout.py": "def checkout(cart):\n    return sum(q for _, q in cart.items)\n",
    "tools/report.py": "def cart_report(carts):\n    return [len(c.items) for c in carts]\n",
    "README.md": "# Shop\n\nCarts and checkout.\n",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    return result.stderr


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_files(tmp_path, TREE)
    monkeypatch.setenv("CODEINTEL_EMBED_MODEL", "hashing:64")
    assert run("index", "build", str(tmp_path)).exit_code == 0
    return tmp_path


def results(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["results"])


def test_a_subfolder_searches_its_repository_or_itself_when_asked(shop: Path) -> None:
    inside = shop / "src" / "shop"
    everywhere = results(run("search", "cart items", "--path", str(inside), "--json"))
    assert "tools/report.py" in {item["path"] for item in everywhere}
    here = results(run("search", "cart items", "--path", str(inside), "--here", "--json"))
    assert here and all(item["path"].startswith("src/shop/") for item in here)
    status = run("index", "status", str(inside), "--json")
    assert json.loads(status.stdout)["root"] == str(shop)
    rebuilt = run("index", "build", str(inside), "--json")
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["files"] == 4
    assert f"updating the index of {shop}" in rebuilt.stderr
    assert not (inside / ".codeintel").exists()


def test_no_index_here_or_above_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    message = one_line_error(run("search", "cart", "--path", str(tmp_path / "sub")))
    assert "or any folder above it" in message and "codeintel index build" in message


@pytest.mark.parametrize("command", ["search", "context"])
@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_is_an_error(shop: Path, command: str, question: str) -> None:
    assert "question is empty" in one_line_error(run(command, question, "--path", str(shop)))


def test_languages_are_checked_and_case_blind(shop: Path) -> None:
    message = one_line_error(run("search", "cart", "--path", str(shop), "--lang", "klingon"))
    assert "'klingon'" in message and "python" in message and "javascript" in message
    found = results(run("search", "cart", "--path", str(shop), "--lang", "Python", "--json"))
    assert found and all(item["path"].endswith(".py") for item in found)


def test_no_results_is_said(shop: Path) -> None:
    result = run("search", "cart", "--path", str(shop), "--lang", "go")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no results" in result.stderr and "--lang" in result.stderr
    assert results(run("search", "cart", "--path", str(shop), "--glob", "x/*", "--json")) == []


def test_keyword_only_searches_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_files(tmp_path, TREE)
    monkeypatch.setenv("CODEINTEL_EMBED_MODEL", "hashing:64")
    assert run("index", "build", str(tmp_path), "--no-embed").exit_code == 0
    pending = run("search", "cart", "--path", str(tmp_path), "--json")
    assert "no vectors yet" in pending.stderr and "keyword" in pending.stderr
    index = json.loads(pending.stdout)["index"]
    assert index["embedded"] == 0 and index["chunks"] > 0
    assert "bm25" in index["signals"] and "vector" not in index["signals"]
    assert "no vectors yet" in run("context", "cart", "--path", str(tmp_path)).stderr

    assert run("index", "build", str(tmp_path)).exit_code == 0
    filled = run("search", "cart", "--path", str(tmp_path), "--json")
    assert "vectors" not in filled.stderr
    assert {"vector", "emphasis"} <= set(json.loads(filled.stdout)["index"]["signals"])
    lexical = run("search", "cart", "--path", str(tmp_path), "--lexical", "--json")
    assert "vector" not in json.loads(lexical.stdout)["index"]["signals"]


@pytest.mark.parametrize("llm", ["claude-3-5-sonnet", "nonsense-model-9"])
def test_an_unknown_llm_is_refused(shop: Path, llm: str) -> None:
    message = one_line_error(run("context", "cart", "--path", str(shop), "--llm", llm))
    assert llm in message and "--encoding" in message


def test_llm_and_encoding_together_are_refused(shop: Path) -> None:
    both = ["--llm", "gpt-4o", "--encoding", "cl100k_base"]
    assert "alternatives" in one_line_error(run("context", "cart", "--path", str(shop), *both))
    counted = run("context", "cart", "--path", str(shop), "--llm", "gpt-4o", "--json")
    assert json.loads(counted.stdout)["encoding"] == "o200k_base"


def test_show_prints_the_code_with_line_numbers(shop: Path) -> None:
    result = run("search", "add_item", "--path", str(shop), "--k", "1", "--show")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("src/shop/cart.py:1-5  Cart  ")
    assert lines[1:] == [
        f"  {number}  {line}"
        for number, line in enumerate(TREE["src/shop/cart.py"].split("\n")[:5], 1)
    ]


def test_status_json_ends_with_a_newline(shop: Path) -> None:
    assert run("index", "status", str(shop), "--json").stdout.endswith("}\n")


def test_the_tools_own_files_are_not_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path, {**TREE, "codeintel.toml": "[index]\nworkers = 1\n"})
    write_files(tmp_path, {".codeintelignore": "tools/\n"})
    monkeypatch.setenv("CODEINTEL_EMBED_MODEL", "hashing:64")
    plan = json.loads(run("index", "build", str(tmp_path), "--dry-run", "--json").stdout)
    assert sorted(plan["index"]) == ["README.md", "src/shop/cart.py", "src/shop/checkout.py"]


def test_invalid_utf8_count_reads_right(shop: Path) -> None:
    (shop / "latin1.py").write_bytes(b"NAME = 'caf\xe9'\n")
    result = run("index", "build", str(shop))
    assert "1 file has invalid UTF-8" in result.stdout


class Recorder:
    """A ``Progress`` that keeps every event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def phase(self, name: str, total: int) -> None:
        self.events.append(("phase", name, total))

    def advance(self, amount: int) -> None:
        self.events.append(("advance", "", amount))

    def note(self, message: str) -> None:
        self.events.append(("note", message, 0))

    def phases(self) -> list[str]:
        return [name for kind, name, _ in self.events if kind == "phase"]


def embedding_steps(progress: Recorder, total: int) -> list[int]:
    start = progress.events.index(("phase", "embedding", total))
    return [amount for kind, _, amount in progress.events[start + 1 :] if kind == "advance"]


def test_embedding_progress_counts_every_chunk_in_small_steps(tmp_path: Path) -> None:
    write_files(tmp_path, {f"m{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(150)})
    repo = Repository(tmp_path, IndexSettings(), EmbedSettings(model="hashing:64", batch_size=16))
    repo.build(embed=False)
    progress = Recorder()
    assert repo.build(progress=progress).embedded == 150
    steps = embedding_steps(progress, 150)
    assert sum(steps) == 150 and max(steps) <= 16

    (tmp_path / "m0.py").write_text("def changed(x):\n    return -x\n")
    progress = Recorder()
    assert repo.build(progress=progress).embedded == 1
    assert embedding_steps(progress, 150) == [149, 1]  # what has vectors counts as done


def test_an_unchanged_build_does_not_compact(shop: Path) -> None:
    repo = Repository(shop, IndexSettings(), EmbedSettings(model="hashing:64"))
    progress = Recorder()
    repo.build(progress=progress)
    assert "compacting" not in progress.phases()
    (shop / "tools" / "report.py").write_text("def other():\n    return 2\n")
    progress = Recorder()
    repo.build(progress=progress)
    assert "compacting" in progress.phases()


def test_any_setting_can_be_set_for_one_run(shop: Path) -> None:
    packed = run("--set", "context.budget=120", "context", "cart", "--path", str(shop), "--json")
    assert json.loads(packed.stdout)["budget"] == 120
    two = run("--set", "retrieval.k=2", "search", "cart", "--path", str(shop), "--json")
    assert len(results(two)) == 2
    plan = run(
        "--set", 'index.exclude=["tools/**"]', "index", "build", str(shop), "--dry-run", "--json"
    )
    assert json.loads(plan.stdout)["delete"] == ["tools/report.py"]
    bogus = run("--set", "context.bogus=1", "index", "status", str(shop))
    assert "context.bogus" in one_line_error(bogus)
    assert run("--set", "nodots", "index", "status", str(shop)).exit_code == 2
