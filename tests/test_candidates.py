"""What the packer chooses from, on a small real repository indexed into a temp dir."""

from __future__ import annotations

from pathlib import Path

from codeintel.agent.candidates import _parts_lifted, candidates_for
from codeintel.indexer.repository import Repository
from codeintel.retrieval.search import Searcher, SearchResult
from codeintel.settings import ContextSettings, EmbedSettings, IndexSettings, RetrievalSettings
from tests.conftest import write_files

INVOICE = '''"""Money owed by customers."""

import datetime
from decimal import Decimal


def apply_late_fee(invoice, today):
    """An overdue invoice pays a late fee of two percent."""
    if invoice.due < today:
        invoice.total += invoice.total * Decimal("0.02")


def invoice_lines(invoice):
    return [line for line in invoice.lines if line.quantity]


def invoice_number(invoice):
    return f"INV-{invoice.year}-{invoice.serial:05d}"


def invoice_is_paid(invoice):
    return invoice.paid >= invoice.total


def invoice_due_date(invoice):
    return invoice.issued + datetime.timedelta(days=invoice.terms)


def invoice_currency(invoice):
    return invoice.customer.currency


def round_cents(amount):
    return amount.quantize(Decimal("0.01"))
'''


def _noise_module(topic: str) -> str:
    """Unrelated helpers sharing a few common words with the question."""
    functions = "\n\n".join(
        f"def {topic}_step_{i}(items):\n"
        f'    """Step {i} of the {topic}: applied to every item."""\n'
        f"    return [item for item in items if item.{topic}_{i}]\n"
        for i in range(6)
    )
    return f'"""The {topic}."""\n\nimport itertools\n\n\n{functions}'


def test_a_top_files_head_scores_at_least_half_its_files_best(tmp_path: Path) -> None:
    """An edit often adds an import, so a top file's head (its imports and module-level
    set-up) is offered near its best hit, not with the other companions below every
    retrieved chunk."""
    topics = ["shipping", "catalogue", "warehouse", "loyalty", "reports", "search"]
    files: dict[str, str | bytes] = {"billing/charges.py": INVOICE}
    files.update({f"shop/{topic}.py": _noise_module(topic) for topic in topics})
    write_files(tmp_path / "ledger", files)
    repo = Repository(tmp_path / "ledger", IndexSettings(), EmbedSettings(model="hashing:64"))
    repo.build()
    searcher = Searcher(repo, RetrievalSettings(), None)
    query = "the late fee applied to an overdue invoice is wrong"

    results = searcher.search(query, k=15)
    candidates = candidates_for(searcher, query, 15, ContextSettings(companion_files=1))

    assert results[0].chunk.symbol == "apply_late_fee"
    head = searcher.chunks_of(["billing/charges.py"])[0]
    assert head.kind == "code" and "from decimal import Decimal" in head.text
    half_best = 0.5 * results[0].score
    retrieved = [r.score for r in results if r.chunk.id == head.id]
    assert max(retrieved, default=0.0) < half_best  # so the lift below is the head's own
    assert max(c.score for c in candidates if c.chunk.id == head.id) == half_best
    others = [c for c in candidates[len(results) :] if c.chunk.id != head.id]
    assert others and max(c.score for c in others) < min(r.score for r in results)


def test_weakly_found_parts_of_a_split_function_score_half_its_best(tmp_path: Path) -> None:
    """A part the question matched weakly is worth what an unmatched sibling is."""
    steps = "\n".join(f"    total += step_{i}(order)  # pricing rule {i}" for i in range(90))
    write_files(tmp_path / "shop", {"pricing.py": f"def order_total(order):\n{steps}\n"})
    repo = Repository(tmp_path / "shop", IndexSettings(), EmbedSettings(model="hashing:64"))
    repo.build()
    parts = Searcher(repo, RetrievalSettings(), None).chunks_of(["pricing.py"])
    assert len(parts) >= 3 and {part.symbol for part in parts} == {"order_total"}

    scores = [0.8, 0.6, 0.1]
    found = [SearchResult(part, s, {}) for part, s in zip(parts[:3], scores, strict=True)]
    assert [r.score for r in _parts_lifted(found, 0.5)] == [0.8, 0.6, 0.4]
