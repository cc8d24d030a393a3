"""The application API: one ``Workspace`` per repository, which every front door calls.

It assembles what a request needs (settings, the index, a lazily loaded embedder, the
tokenizer, searchers) and returns typed results whose ``to_json()`` is the CLI's ``--json``
contract, so every front door (the CLI now; HTTP and MCP later) serialises the same
objects. Long-lived and safe to share between threads for reading; builds take the
index's writer lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeintel.errors import ConfigError, NotIndexed
from codeintel.indexer.embedder import LazyEmbedder, Purpose, prepare_query_embedder
from codeintel.indexer.models import DryRun, IndexStatus
from codeintel.indexer.repository import Repository, find_root
from codeintel.retrieval.query import require_question
from codeintel.settings import SECTIONS, Settings, load_settings

if TYPE_CHECKING:  # imported where used: `index status` needs none of them (cold start)
    from codeintel.agent.ask import Answer, Prompt
    from codeintel.agent.context import Context
    from codeintel.agent.converse import Fetch
    from codeintel.agent.edit import EditPlan
    from codeintel.agent.ledger import Totals
    from codeintel.agent.llm import OnText, Provider, Reply
    from codeintel.agent.llm.transport import CircuitBreaker
    from codeintel.cache.store import AnswerStore, CacheStats
    from codeintel.indexer.pipeline import BuildReport, Progress
    from codeintel.indexer.snapshot import Snapshot
    from codeintel.indexer.tokens import TokenCounter
    from codeintel.retrieval.search import IndexCoverage, Searcher, SearchResults

Notes = Callable[[str], None]


def _ignore(message: str) -> None:
    pass


class Workspace:
    """One repository: its index, and the questions asked of it."""

    def __init__(
        self, root: Path, settings: Settings, folder: str = "", notes: Notes = _ignore
    ) -> None:
        self.root = root
        self.settings = settings
        self.folder = folder  # the folder it was opened from, relative to ``root``
        self.notes = notes
        self.repository = Repository(root, settings.index, settings.embed)
        self._lock = threading.Lock()
        self._embedders: dict[Purpose, LazyEmbedder] = {}
        self._searchers: dict[bool, Searcher] = {}  # by "with vectors"
        self._provider: Provider | None = None
        self._breaker: CircuitBreaker | None = None  # one per workspace: across its calls

    @classmethod
    def open(cls, path: Path | str = ".", notes: Notes = _ignore, **overrides: Any) -> Workspace:
        """The repository holding ``path``: the nearest folder at or above it with an index
        (as git finds ``.git``), else ``path`` itself. ``overrides`` set settings by
        ``section_key`` (``embed_model="hashing:64"``), above every other source."""
        start = Path(path)
        if not start.is_dir():
            raise ConfigError(f"{start} is not a directory; pass the repository folder")
        start = start.resolve()
        root = find_root(start) or start
        flags = {_setting_key(name): value for name, value in overrides.items()}
        settings = load_settings(root, flags)
        folder = start.relative_to(root).as_posix()
        return cls(root, settings, "" if folder == "." else folder, notes)

    # -- the index ------------------------------------------------------------------

    def build(
        self, embed: bool = True, rebuild: bool = False, progress: Progress | None = None
    ) -> BuildReport:
        """Bring the index up to date with the files (``rebuild``: from scratch, beside the
        live index until done); ``embed=False`` stops after the lexical index."""
        report = self.repository.build(
            embed=embed,
            rebuild=rebuild,
            progress=progress,
            embedder=self._lazy_embedder("build"),
        )
        self._forget_searchers()
        self._store_of_answers().prune(self._live_chunks)
        if embed:
            prepare_query_embedder(self.settings.embed, progress.note if progress else self.notes)
        return report

    def plan(self) -> DryRun:
        """What ``build`` would do now; writes nothing."""
        with self.repository.reading():
            return self.repository.dry_run()

    def status(self) -> IndexStatus:
        self._require_index()
        with self.repository.reading():
            return self.repository.status()

    def refresh(self) -> bool:
        """Re-index (lexically) files changed on disk since the last build, so their new
        text is found; False, with the reason told to ``notes``, when that cannot happen now
        (another writer holds the lock, the index folder is read-only): results are then
        still mapped onto the lines on disk, but new text is not searchable."""
        from codeintel.retrieval.freshness import refresh_lexical

        self._require_index()
        reason = refresh_lexical(self.repository)
        if reason is not None:
            self.notes(f"changed files not re-indexed ({reason}); results follow their lines")
        self._forget_searchers()
        return reason is None

    # -- questions --------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        lang: str | None = None,
        glob: str | None = None,
        within: str = "",
        lexical: bool = False,
    ) -> SearchResults:
        """The chunks most relevant to ``query``, best first; ``within`` is a folder of the
        repository to keep to; ``lexical`` skips the vector signals (no model load)."""
        from codeintel.retrieval.search import Filters, SearchResults

        require_question(query)
        filters = Filters(lang, glob, within)
        with self.repository.reading():
            searcher, status = self._searcher(lexical)
            results = searcher.search(query, k=k, filters=filters)
        return SearchResults(results, self._coverage(searcher, status))

    def context(
        self,
        query: str,
        budget: int | None = None,
        llm: str | None = None,
        encoding: str | None = None,
        candidates: int | None = None,
        lexical: bool = False,
    ) -> Context:
        """The most useful code for ``query`` packed into ``budget`` tokens (default
        ``context.budget``), counted with ``encoding`` or the tokenizer of OpenAI model
        ``llm``."""
        from codeintel.agent.candidates import candidates_for
        from codeintel.agent.context import build_context, shown_in_full
        from codeintel.indexer.tokens import TokenCounter, encoding_for

        require_question(query)
        settings = self.settings.context
        counter = TokenCounter(encoding_for(llm, encoding, settings.encoding))
        with self.repository.reading():
            searcher, status = self._searcher(lexical)
            found = candidates_for(searcher, query, candidates or settings.candidates, settings)
        packed = build_context(
            found, settings.budget if budget is None else budget, counter, settings
        )
        coverage = self._coverage(searcher, status)
        return replace(
            packed, retrieved=len(found), index=coverage, shown=shown_in_full(packed, found)
        )

    def ask_prompt(self, question: str, budget: int | None = None, lexical: bool = False) -> Prompt:
        """The exact first request ``ask`` would send (its context packed within the part
        of ``budget`` not kept for code the model asks for), counted with the model's
        tokenizer where it is known; calls nothing."""
        from codeintel.agent.ask import SYSTEM, ask_prompt

        return self._llm_prompt(ask_prompt, SYSTEM, question, budget, lexical)[0]

    def ask(
        self,
        question: str,
        budget: int | None = None,
        on_text: OnText | None = None,
        lexical: bool = False,
        use_cache: bool = True,
    ) -> Answer:
        """The configured LLM's answer to ``question`` from the packed context (and the code
        it asks for by name), its citations checked against every line it was shown;
        ``on_text`` receives the replies as they stream. A cached answer still grounded in
        the code is served instead of a call (``Answer.cached``), unless ``use_cache`` is
        off, ``cache.enabled`` is false, or ``lexical`` is set (the cache compares
        questions by their vectors)."""
        from codeintel.agent.ask import SYSTEM, Answer, ask_prompt, citations_in
        from codeintel.agent.converse import converse
        from codeintel.agent.remembered import entry_for, lookup_for, served

        started = time.perf_counter()
        provider = self._llm()  # before retrieval: a missing setting fails at once
        prompt, spare = self._llm_prompt(ask_prompt, SYSTEM, question, budget, lexical)
        cache = use_cache and not lexical and self.settings.cache.enabled
        store = self._store_of_answers() if cache else None
        lookup = None
        if store is not None:
            vector = self._lazy_embedder("query").embed([question])[0]
            lookup = lookup_for(
                question, prompt.context, vector, provider.model, self.settings.cache
            )
            hit = store.serve(lookup, self._live_chunks)
            if hit is not None:
                if on_text is not None:
                    on_text(hit.answer)
                return served(hit, prompt.context, started)
        fetch = self._fetcher(prompt.encoding, lexical) if spare else None
        talk = converse(provider, prompt, fetch, spare, on_text)
        reply = _summed(talk.replies)
        self._record("ask", reply, prompt, talk.shown)
        shown = [item for context in talk.shown for item in context.items]
        cited = citations_in(reply.text, shown)
        seconds = time.perf_counter() - started
        answer = Answer(reply.text, cited, prompt.context, reply, seconds, talk.shown[1:])
        if store is not None and lookup is not None and (entry := entry_for(answer, lookup)):
            store.put(entry)
        return answer

    def cache_stats(self) -> CacheStats:
        """Entries, hits, misses, stale answers dropped and provider tokens saved."""
        self._require_index()
        return self._store_of_answers().stats()

    def cache_clear(self) -> int:
        """Drop every cached answer; how many there were."""
        self._require_index()
        return self._store_of_answers().clear()

    def edit_plan(
        self,
        instruction: str,
        budget: int | None = None,
        on_text: OnText | None = None,
        lexical: bool = False,
    ) -> EditPlan:
        """The configured LLM's edit for ``instruction``, grounded in the packed context (and
        the code it asks for by name) and checked against the files (each block applies
        exactly once); nothing is written."""
        from codeintel.agent.edit import SYSTEM, EditFailed, edit_prompt, plan_edit

        provider = self._llm()
        prompt, spare = self._llm_prompt(edit_prompt, SYSTEM, instruction, budget, lexical)
        fetch = self._fetcher(prompt.encoding, lexical) if spare else None
        try:
            plan = plan_edit(provider, instruction, prompt, self.root, on_text, fetch, spare)
        except EditFailed as failed:  # the attempts cost tokens all the same
            self._record("edit", _summed(failed.replies), prompt, failed.shown)
            raise
        self._record("edit", _summed(plan.replies), prompt, plan.shown)
        return plan

    def usage(self) -> Totals:
        """What ``ask`` and ``edit`` cost here, by the provider's counts, and what their
        contexts saved against sending the whole files they drew from."""
        from codeintel.agent.ledger import totals

        return totals(self.root)

    def _llm_prompt(
        self,
        build: Callable[[str, Context, TokenCounter, str], Prompt],
        system: str,
        request: str,
        budget: int | None,
        lexical: bool,
    ) -> tuple[Prompt, int]:
        """The first request for ``request`` (``build`` makes it from the packed context),
        and the tokens of ``budget`` kept for code the model asks for by name
        (``llm.request_share``; none, and no offer in ``system``, where that is 0)."""
        from codeintel.agent.converse import REQUESTS

        whole = self.settings.context.budget if budget is None else budget
        spare = int(whole * self.settings.llm.request_share)
        packed, counter = self._packed_for_llm(request, whole - spare, lexical)
        return build(request, packed, counter, system + REQUESTS if spare else system), spare

    def _fetcher(self, encoding: str, lexical: bool) -> Fetch:
        """Code asked for by name (``Searcher.named``), packed into the tokens left."""
        from codeintel.agent.context import Candidate, build_context
        from codeintel.indexer.tokens import TokenCounter

        counter = TokenCounter(encoding)

        def fetch(names: list[str], budget: int) -> Context:
            with self.repository.reading():
                searcher, _ = self._searcher(lexical)
                chunks = searcher.named(names)
            found = [Candidate(chunk, 1.0 / (1 + i)) for i, chunk in enumerate(chunks)]
            return build_context(found, max(budget, 0), counter, self.settings.context)

        return fetch

    def _record(self, command: str, reply: Reply, prompt: Prompt, shown: Sequence[Context]) -> None:
        from codeintel.agent.ledger import entry_for, record
        from codeintel.indexer.tokens import TokenCounter

        counter = TokenCounter(prompt.encoding)
        entry = entry_for(self.root, command, reply.model, reply.usage, shown, counter)
        record(self.root, entry)

    def _packed_for_llm(
        self, request: str, budget: int | None, lexical: bool
    ) -> tuple[Context, TokenCounter]:
        """The context for ``request``, counted with the configured LLM's tokenizer (where
        tiktoken knows it, else ``context.encoding``), and that counter."""
        from codeintel.agent.ask import prompt_encoding
        from codeintel.indexer.tokens import TokenCounter

        llm = self.settings.llm
        encoding = prompt_encoding(llm.provider, llm.model, self.settings.context.encoding)
        packed = self.context(request, budget=budget, encoding=encoding, lexical=lexical)
        return packed, TokenCounter(encoding)

    def apply_edit(self, plan: EditPlan, progress: Progress | None = None) -> BuildReport:
        """Write the plan's changes (all or nothing; ``undo`` reverts them), then re-index
        the files they changed, vectors included."""
        from codeintel.agent.apply import apply_changes

        apply_changes(self.root, plan.changes)
        return self.build(progress=progress)

    def undo(self, progress: Progress | None = None) -> tuple[list[str], BuildReport]:
        """Restore the files of the last edit not undone yet, byte for byte, and re-index
        them; the paths restored."""
        from codeintel.agent.apply import undo

        restored = undo(self.root)
        return restored, self.build(progress=progress)

    def close(self) -> None:
        """Drop loaded state (searchers, the model); the workspace stays usable."""
        with self._lock:
            self._searchers.clear()
            self._embedders.clear()
            self._provider = None

    # -- assembly ---------------------------------------------------------------------

    def _require_index(self) -> None:
        if find_root(self.root) is None:
            raise NotIndexed(
                f"no index in {self.root / self.folder} or any folder above it; run "
                "`codeintel index build` in the repository's root folder"
            )

    def _llm(self) -> Provider:
        from codeintel.agent.llm import open_provider
        from codeintel.agent.llm.transport import CircuitBreaker

        with self._lock:
            if self._provider is None:
                self._breaker = self._breaker or CircuitBreaker()
                self._provider = open_provider(self.settings.llm, breaker=self._breaker)
            return self._provider

    def _lazy_embedder(self, purpose: Purpose) -> LazyEmbedder:
        with self._lock:
            if purpose not in self._embedders:
                self._embedders[purpose] = LazyEmbedder(self.settings.embed, self.notes, purpose)
            return self._embedders[purpose]

    def _searcher(self, lexical: bool) -> tuple[Searcher, IndexStatus]:
        """A searcher at the index's current version (a build by any process since the last
        call makes a new one), with vectors when the index has them and ``lexical`` is not
        set; the question embedder is shared by every searcher."""
        from codeintel.retrieval.freshness import stale_paths
        from codeintel.retrieval.search import Searcher

        self._require_index()
        snapshot = self.repository.snapshot(check=False)
        status = snapshot.status(str(self.root), self.repository.uri)
        vectors = not lexical and status.embedded > 0
        embedder = self._lazy_embedder("query") if vectors else None
        with self._lock:
            searcher = self._searchers.get(vectors)
        if searcher is None or _version(searcher.snapshot) != _version(snapshot):
            latest: Snapshot | None = snapshot
            if self.settings.retrieval.freshness and stale_paths(
                self.repository, snapshot.file_states()
            ):
                self.refresh()
                latest = None  # what the refresh wrote, opened by the searcher
            searcher = Searcher(self.repository, self.settings.retrieval, embedder, latest)
            with self._lock:
                self._searchers[vectors] = searcher
            if latest is None:
                status = searcher.snapshot.status(str(self.root), self.repository.uri)
        return searcher, status

    @staticmethod
    def _coverage(searcher: Searcher, status: IndexStatus) -> IndexCoverage:
        from codeintel.retrieval.search import IndexCoverage

        return IndexCoverage(status.chunks, status.embedded, searcher.available_signals())

    def _store_of_answers(self) -> AnswerStore:
        from codeintel.cache.store import AnswerStore
        from codeintel.indexer.store import Database

        index = self.settings.index
        cache = self.settings.cache
        return AnswerStore(
            Database(self.repository.uri, index.storage_options),
            self.repository.write_lock.parent,
            cache.max_entries,
            cache.ttl_days * 86_400,
        )

    def _live_chunks(self, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` the index holds now."""
        from codeintel.indexer.sql import sql_in

        if not ids:
            return set()
        chunks = self.repository.snapshot(check=False).chunks
        found = chunks.to_table(columns=["id"], filter=sql_in("id", ids))
        return set(found.column("id").to_pylist())

    def _forget_searchers(self) -> None:
        with self._lock:
            self._searchers.clear()


def _summed(replies: Sequence[Reply]) -> Reply:
    """The last reply, with the usage of all of them (one request's rounds)."""
    from codeintel.agent.llm.base import total_usage

    return replace(replies[-1], usage=total_usage(replies))


def _version(snapshot: Snapshot) -> tuple[int, int, int]:
    """What identifies the state of an index a snapshot reads."""
    return snapshot.meta.generation, snapshot.chunks.version, snapshot.files.version


def _setting_key(name: str) -> tuple[str, str]:
    """``embed_model`` → ("embed", "model")."""
    section, _, key = name.partition("_")
    if section not in SECTIONS or not key:
        raise ConfigError(
            f"unknown setting override {name!r}; use section_key with a section of "
            f"{', '.join(SECTIONS)} (e.g. embed_model)"
        )
    return section, key
