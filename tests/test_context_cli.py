"""`codeintel context` as users run it: the JSON contract of DESIGN.md, exact budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from codeintel.indexer.tokens import TokenCounter
from tests.conftest import write_files

SOURCE = {
    "billing/invoice.py": (
        '"""Invoices and their totals."""\n\n\n'
        "class Invoice:\n"
        '    """A bill sent to a customer."""\n\n'
        "    def __init__(self, lines):\n"
        "        self.lines = lines\n\n"
        "    def total_cents(self):\n"
        '        """Sum of the line amounts, in cents."""\n'
        "        return sum(line.amount_cents for line in self.lines)\n\n"
        "    def apply_discount(self, percent):\n"
        "        for line in self.lines:\n"
        "            line.amount_cents = line.amount_cents * (100 - percent) // 100\n"
    ),
    "billing/tax.py": (
        "RATE = 21\n\n\n"
        "def tax_cents(invoice):\n"
        '    """VAT owed on an invoice."""\n'
        "    return invoice.total_cents() * RATE // 100\n"
    ),
    "README.md": "# Billing\n\nInvoices, discounts and VAT.\n",
}
ITEM_KEYS = {"kind", "path", "start_line", "end_line", "symbol", "view", "shape", "tokens", "score"}


def indexed_billing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``SOURCE`` written and indexed (hashing vectors), as a user would."""
    root = tmp_path_factory.mktemp("billing")
    write_files(root, SOURCE)
    result = CliRunner().invoke(main, ["index", "build", str(root), "--model", "hashing:64"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_billing(tmp_path_factory)


def context(repo: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(
        main, ["context", "how is the invoice total computed", "--path", str(repo), *args]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("budget", [0, 40, 120, 400, 4000])
def test_the_json_contract_with_an_exact_count(repo: Path, budget: int) -> None:
    data = context(repo, "--budget", str(budget), "--json", "--lexical")
    assert set(data) == {"budget", "tokens", "encoding", "items", "text"}
    assert data["budget"] == budget and data["encoding"] == "cl100k_base"
    text, tokens, items = data["text"], data["tokens"], data["items"]
    assert isinstance(text, str) and isinstance(items, list)
    assert tokens == TokenCounter("cl100k_base").count(text) <= budget
    for item in items:
        assert set(item) == ITEM_KEYS
        assert item["kind"] == "code" and item["view"] in {"full", "skeleton", "signature"}
        assert 1 <= item["start_line"] <= item["end_line"]
        assert f"{item['path']}:{item['start_line']}-{item['end_line']}" in text
    if budget >= 400:  # room for the whole class, which holds the answer
        assert {"symbol": "Invoice", "view": "full"}.items() <= next(
            i for i in items if i["symbol"] == "Invoice"
        ).items()
        assert "def total_cents(self):" in text


def test_the_llm_name_picks_its_tokenizer(repo: Path) -> None:
    data = context(repo, "--budget", "300", "--json", "--lexical", "--llm", "gpt-4o")
    assert data["encoding"] == "o200k_base"
    assert data["tokens"] == TokenCounter("o200k_base").count(str(data["text"]))


def test_plain_output_is_the_text_with_a_summary_on_stderr(repo: Path) -> None:
    result = CliRunner().invoke(
        main, ["context", "invoice total", "--path", str(repo), "--budget", "500", "--lexical"]
    )
    assert result.exit_code == 0
    assert "billing/invoice.py:" in result.stdout
    assert "/500 tokens" in result.stderr
