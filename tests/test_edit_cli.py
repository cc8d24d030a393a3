"""`codeintel edit` and `codeintel undo` as users run them, against a loopback provider:
applied and re-indexed, one retry that tells the model what failed, nothing written on
failure or a dry run, undo byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from tests.provider_server import ProviderServer, reply
from tests.test_context_cli import indexed_billing
from tests.test_edits import tree

INSTRUCTION = "rename tax_cents to vat_cents"
GOOD = """Renaming the function.

billing/tax.py
<<<<<<< SEARCH
def tax_cents(invoice):
=======
def vat_cents(invoice):
>>>>>>> REPLACE
"""
MISSING = GOOD.replace("def tax_cents(invoice):\n=", "def tax_total(invoice):\n=")


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_billing(tmp_path_factory)


def answer(text: str) -> Any:
    return reply({"model": "m-1", "choices": [{"message": {"content": text}}]})


def run(repo: Path, server: ProviderServer, *args: str) -> Any:
    env = {"CODEINTEL_LLM_MODEL": "gpt-4o", "CODEINTEL_LLM_BASE_URL": server.url + "/v1"}
    command = ["--set", "embed.model=hashing:64", *args, "--path", str(repo)]
    return CliRunner().invoke(main, command, env=env)


def found(repo: Path, server: ProviderServer, word: str) -> list[str]:
    result = run(repo, server, "search", word, "--lexical", "--json")
    assert result.exit_code == 0, result.output
    return [hit["symbol"] for hit in json.loads(result.stdout)["results"]]


def test_applied_reindexed_and_undone(repo: Path, server: ProviderServer) -> None:
    original = tree(repo)
    server.script.append(answer(GOOD))
    result = run(repo, server, "edit", INSTRUCTION, "--yes", "--lexical")
    assert result.exit_code == 0, result.output
    assert "+def vat_cents(invoice):" in result.stdout and "applied to 1 file" in result.stderr
    assert "def vat_cents(invoice):" in (repo / "billing/tax.py").read_text()
    assert "vat_cents" in found(repo, server, "vat_cents")  # re-indexed before returning
    result = run(repo, server, "undo")
    assert result.exit_code == 0, result.output
    assert tree(repo) == original
    assert "vat_cents" not in found(repo, server, "vat_cents")
    assert run(repo, server, "undo").exit_code == 1


def test_a_failed_block_is_sent_back_once(repo: Path, server: ProviderServer) -> None:
    server.script += [answer(MISSING), answer(GOOD)]
    result = run(repo, server, "edit", INSTRUCTION, "--yes", "--lexical", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["applied"] is True and data["attempts"] == 2 and data["files"] == ["billing/tax.py"]
    retry = server.requests[1].body["messages"]
    assert retry[2] == {"role": "assistant", "content": MISSING}
    assert "could not be applied" in retry[3]["content"]
    assert "the SEARCH text is not in the file" in retry[3]["content"]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([MISSING, MISSING], "not in the file"),
        ([GOOD.replace("billing/tax.py", "../tax.py")] * 2, "leads outside the repository"),
        (["No blocks here.", "Still none."], "holds no SEARCH/REPLACE block"),
    ],
)
def test_nothing_is_written_when_the_retry_fails_too(
    repo: Path, server: ProviderServer, answers: list[str], message: str
) -> None:
    original = tree(repo)
    server.script += [answer(text) for text in answers]
    result = run(repo, server, "edit", INSTRUCTION, "--yes", "--lexical")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "could not be applied, also after being told why" in line and message in line
    assert tree(repo) == original and len(server.requests) == 2
    usage = json.loads(run(repo, server, "usage", "--json").stdout)
    assert usage["calls"] == {"edit": 1}  # what the failed attempts cost is kept too


def test_an_answer_cut_at_the_token_limit_is_not_applied(
    repo: Path, server: ProviderServer
) -> None:
    cut = {"model": "m-1", "choices": [{"message": {"content": GOOD}, "finish_reason": "length"}]}
    server.script += [reply(cut), answer(GOOD)]
    result = run(repo, server, "edit", INSTRUCTION, "--yes", "--lexical", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["attempts"] == 2
    assert "cut at llm.max_output_tokens" in server.requests[1].body["messages"][-1]["content"]


def test_dry_run_and_unconfirmed_edits_write_nothing(repo: Path, server: ProviderServer) -> None:
    original = tree(repo)
    server.script.append(answer(GOOD))
    result = run(repo, server, "edit", INSTRUCTION, "--dry-run", "--lexical")
    assert result.exit_code == 0, result.output
    assert "-def tax_cents(invoice):" in result.stdout and "nothing written" in result.stderr
    server.script.append(answer(GOOD))
    result = run(repo, server, "edit", INSTRUCTION, "--json", "--lexical")  # no --yes
    assert json.loads(result.stdout)["applied"] is False
    assert tree(repo) == original
