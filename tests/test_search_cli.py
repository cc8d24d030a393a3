"""`codeintel search` the way users run it: CliRunner, a real temp repository, a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from tests.conftest import write_files
from tests.test_retrieval import SHOP

KEYS = {"path", "start_line", "end_line", "symbol", "kind", "score", "signals"}
SIGNALS = {"bm25", "vector", "symbol", "path", "frame", "graph", "file", "focus", "emphasis"}


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_files(tmp_path, SHOP)
    monkeypatch.setenv("CODEINTEL_EMBED_MODEL", "hashing:256")
    result = CliRunner().invoke(main, ["index", "build", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    return tmp_path


def search_json(root: Path, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["search", *args, "--path", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"results", "index"}
    return list(data["results"])


@pytest.mark.parametrize("lexical", [False, True])
def test_json_contract(shop: Path, lexical: bool) -> None:
    results = search_json(shop, "where is register_user defined", *(["--lexical"] * lexical))
    assert 0 < len(results) <= 10
    for item in results:
        assert set(item) == KEYS
        assert isinstance(item["path"], str) and (shop / item["path"]).is_file()
        assert isinstance(item["start_line"], int) and isinstance(item["end_line"], int)
        assert 1 <= item["start_line"] <= item["end_line"]
        assert isinstance(item["symbol"], str) and isinstance(item["kind"], str)
        assert isinstance(item["score"], float) and item["score"] > 0
        signals = item["signals"]
        assert isinstance(signals, dict) and signals and set(signals) <= SIGNALS
        assert all(isinstance(rank, int) and rank >= 1 for rank in signals.values())
    top = results[0]
    assert (top["path"], top["symbol"], top["kind"]) == ("app/services.py", "UserService", "class")
    assert isinstance(top["signals"], dict) and top["signals"]["symbol"] == 1
    assert ("vector" in top["signals"]) is not lexical


def test_k_lang_and_glob(shop: Path) -> None:
    assert len(search_json(shop, "user", "--k", "3")) == 3
    js = search_json(shop, "get user name", "--lang", "javascript")
    assert js and {item["path"] for item in js} == {"web/static/client.js"}
    app = search_json(shop, "get_user_name", "--glob", "app/*", "--k", "20")
    assert app and all(str(item["path"]).startswith("app/") for item in app)


def test_plain_output_names_lines_and_signals(shop: Path) -> None:
    result = CliRunner().invoke(main, ["search", "parse_price", "--path", str(shop), "--k", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4  # each result: its location, then its first line of code
    assert lines[0].startswith("app/utils.py:18-21  parse_price  ")
    assert "symbol" in lines[0].rsplit("[", 1)[1]
    assert lines[1] == "    def parse_price(text: str) -> int:"


def test_without_an_index_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["search", "anything", "--path", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "codeintel index build" in result.stderr
