"""`codeintel ask` as users run it, against a real loopback server playing the provider:
the exact request of --dry-run, a streamed answer, the --json contract with citations
checked against the context, and provider and setting errors as one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from codeintel.indexer.tokens import TokenCounter
from tests.provider_server import ProviderServer, events, reply
from tests.test_context_cli import ITEM_KEYS, indexed_billing

QUESTION = "how is the invoice total computed"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_billing(tmp_path_factory)


def run(repo: Path, server: ProviderServer | None, *args: str, model: str = "gpt-4o") -> Any:
    env = {"CODEINTEL_LLM_MODEL": model, "OPENAI_API_KEY": "sk-test"}
    if server is not None:
        env["CODEINTEL_LLM_BASE_URL"] = server.url + "/v1"
    share = ["--set", "llm.request_share=0"] if "--set-share" in args else []
    args = tuple(arg for arg in args if arg != "--set-share")
    command = [*share, "ask", QUESTION, "--path", str(repo), "--lexical", *args]
    return CliRunner().invoke(main, command, env=env)


def dry_run(repo: Path, *args: str) -> dict[str, Any]:
    result = run(repo, None, "--dry-run", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def answer_citing(text: str) -> dict[str, Any]:
    return {
        "model": "gpt-4o-2024",
        "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 300, "completion_tokens": 20},
    }


def test_dry_run_is_the_exact_request_within_budget(repo: Path) -> None:
    data = dry_run(repo, "--budget", "300")
    messages = [{"role": "system", "content": data["system"]}, *data["messages"]]
    assert data["encoding"] == "o200k_base"  # gpt-4o's own tokenizer
    assert data["tokens"] == TokenCounter("o200k_base").count_messages(messages)
    kept = int(300 * 0.25)  # llm.request_share: for code the model asks for by name
    assert 0 < data["context"]["tokens"] <= 300 - kept == data["context"]["budget"]
    assert data["messages"][0]["content"].endswith(f"Question: {QUESTION}")
    assert "billing/invoice.py:" in data["messages"][0]["content"]
    text = run(repo, None, "--dry-run").stdout
    assert "--- system" in text and "--- user" in text and QUESTION in text


def test_streamed_answer_and_the_request_sent(repo: Path, server: ProviderServer) -> None:
    shown = dry_run(repo)["context"]["items"][0]
    cite = f"{shown['path']}:{shown['start_line']}-{shown['end_line']}"
    chunks = [
        (None, {"choices": [{"delta": {"content": "It sums the lines "}}]}),
        (None, {"choices": [{"delta": {"content": f"(`{cite}`)."}, "finish_reason": "stop"}]}),
        (None, {"choices": [], "usage": {"prompt_tokens": 321, "completion_tokens": 12}}),
    ]
    server.script.append(events(*chunks, done="[DONE]"))
    result = run(repo, server)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"It sums the lines (`{cite}`).\n"
    assert "321 prompt tokens" in result.stderr and "1/1 citations shown" in result.stderr
    [request] = server.requests
    assert request.body["stream"] is True and request.body["model"] == "gpt-4o"
    assert request.body["messages"][1]["content"].endswith(f"Question: {QUESTION}")


def test_json_contract_flags_citations_the_context_did_not_show(
    repo: Path, server: ProviderServer
) -> None:
    shown = dry_run(repo)["context"]["items"][0]
    good = f"{shown['path']}:{shown['start_line']}-{shown['end_line']}"
    server.script.append(reply(answer_citing(f"See {good} and billing/tax.py:900-910.")))
    result = run(repo, server, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "cached", "citations", "context", "usage", "model", "seconds"}
    assert data["cached"] is False and data["model"] == "gpt-4o-2024"
    assert [c["valid"] for c in data["citations"]] == [True, False]
    assert data["citations"][1] == {
        "path": "billing/tax.py",
        "start_line": 900,
        "end_line": 910,
        "valid": False,
    }
    assert set(data["context"]) == {"budget", "tokens", "items"}
    assert set(data["context"]["items"][0]) == ITEM_KEYS
    assert data["usage"] == {"prompt_tokens": 300, "completion_tokens": 20, "cached_tokens": 0}
    assert "stream" not in server.requests[0].body


def test_invalid_citation_is_flagged_in_text_mode(repo: Path, server: ProviderServer) -> None:
    server.script.append(events((None, {"choices": [{"delta": {"content": "See a.py:1-2."}}]})))
    server.script[-1].parts.append(b"data: [DONE]\n\n")
    result = run(repo, server)
    assert result.exit_code == 0, result.output
    assert "a.py:1-2 is cited but the context did not show those lines" in result.stderr
    assert "0/1 citations shown" in result.stderr


def test_provider_and_setting_errors_are_one_line(repo: Path, server: ProviderServer) -> None:
    server.script.append(reply({"error": {"message": "Incorrect API key"}}, 401))
    result = run(repo, server)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "refused the API key" in line and "OPENAI_API_KEY" in line
    result = run(repo, server, model="")
    assert result.exit_code == 1 and "set llm.model" in result.stderr
    assert len(server.requests) == 1  # no model: nothing sent
    result = CliRunner().invoke(main, ["ask", "  ", "--path", str(repo), "--dry-run"])
    assert result.exit_code == 1 and "\n" not in result.stderr.strip()


def test_usage_totals_what_asks_cost_and_saved(repo: Path, server: ProviderServer) -> None:
    before = json.loads(CliRunner().invoke(main, ["usage", "--path", str(repo), "--json"]).stdout)
    server.script += [reply(answer_citing("One.")), reply(answer_citing("Two."))]
    for _ in range(2):
        assert run(repo, server, "--budget", "150", "--json").exit_code == 0
    after = json.loads(CliRunner().invoke(main, ["usage", "--path", str(repo), "--json"]).stdout)
    assert after["calls"]["ask"] - before["calls"].get("ask", 0) == 2
    assert after["prompt_tokens"] - before["prompt_tokens"] == 600  # the provider's counts
    assert after["completion_tokens"] - before["completion_tokens"] == 40
    context = dry_run(repo, "--budget", "150")["context"]
    counter = TokenCounter("o200k_base")
    whole = sum(
        counter.count((repo / path).read_text())
        for path in {item["path"] for item in context["items"]}
    )
    assert after["whole_files_tokens"] - before["whole_files_tokens"] == 2 * whole
    assert after["saved"] == after["whole_files_tokens"] - after["context_tokens"]
    text = CliRunner().invoke(main, ["usage", "--path", str(repo)]).stdout
    assert "provider tokens:" in text and "saved" in text


def test_the_model_may_ask_for_code_by_name(repo: Path, server: ProviderServer) -> None:
    server.script += [
        reply(answer_citing("NEED: billing/tax.py\nNEED: `Invoice.total_cents`")),
        reply(answer_citing("NEED: billing/tax.py")),  # nothing new: no more code
        reply(answer_citing("VAT is billing/tax.py:4-6.")),
    ]
    result = run(repo, server, "--json", "--budget", "1000")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    first, second, third = (request.body["messages"] for request in server.requests)
    assert "NEED: <file path or symbol>" in first[0]["content"]
    sent = second[-1]["content"]
    assert sent.startswith("The code you asked for (billing/tax.py, Invoice.total_cents)")
    assert "def tax_cents(invoice):" in sent and "def total_cents(self):" in sent
    assert third[-1]["content"].startswith("No more code can be sent")
    assert data["citations"] == [
        {"path": "billing/tax.py", "start_line": 4, "end_line": 6, "valid": True}
    ]
    [requested] = data["requested"]
    assert 0 < requested["tokens"] <= requested["budget"] == int(1000 * 0.25)
    assert data["usage"]["prompt_tokens"] == 900  # the three calls' usage, summed


def test_no_code_by_name_when_the_share_is_zero(repo: Path, server: ProviderServer) -> None:
    server.script.append(reply(answer_citing("NEED: billing/tax.py")))
    result = run(repo, server, "--json", "--set-share")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer"] == "NEED: billing/tax.py"
    assert "NEED:" not in server.requests[0].body["messages"][0]["content"]
