"""The command line: each command reads its options, makes one library call, renders it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from codeintel.agent.progress import TerminalProgress
from codeintel.agent.settings import load_settings
from codeintel.errors import CodeintelError, NotIndexed
from codeintel.indexer.repository import find_root
from codeintel.indexer.tokens import ENCODINGS, encoding_for


class _Group(click.Group):
    """Turns every ``CodeintelError`` into one line on stderr (a traceback with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CodeintelError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, envvar="CODEINTEL_DEBUG", help="Show tracebacks on errors.")
@click.version_option(package_name="codeintel")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """codeintel: index a codebase, then give an LLM only the code that matters."""
    ctx.obj = {"debug": debug}
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@main.group()
def index() -> None:
    """Build and inspect a repository's index."""


_path_argument = click.argument(
    "path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    required=False,
)


@index.command("build")
@_path_argument
@click.option("--no-embed", is_flag=True, help="Only the lexical index; vectors later.")
@click.option("--rebuild", is_flag=True, help="Drop the index and build it from scratch.")
@click.option("--dry-run", is_flag=True, help="List what would be indexed, change nothing.")
@click.option("--model", default=None, help="Embedding model (sentence-transformers name or path).")
@click.option("--device", default=None, help="cpu, cuda, mps or auto.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def index_build(
    path: Path,
    no_embed: bool,
    rebuild: bool,
    dry_run: bool,
    model: str | None,
    device: str | None,
    as_json: bool,
) -> None:
    """Index PATH (default: the current folder), incrementally; inside an indexed
    repository, its index is updated."""
    from codeintel.indexer.repository import Repository

    root = find_root(path) or path.resolve()
    if root != path.resolve():
        _note(f"updating the index of {root}")
    settings = load_settings(root, {("embed", "model"): model, ("embed", "device"): device})
    repo = Repository(root, settings.index, settings.embed)
    if dry_run:
        _show_dry_run(repo.dry_run(), as_json)
        return
    with TerminalProgress() as progress:
        report = repo.build(embed=not no_embed, rebuild=rebuild, progress=progress)
    if as_json:
        _emit_json(report.to_json())
        return
    languages = ", ".join(f"{name} {count}" for name, count in report.languages.items())
    click.echo(
        f"indexed {report.files} files, {report.chunks} chunks ({languages or 'none'}) "
        f"in {report.seconds:.1f}s"
    )
    click.echo(
        f"this run: {report.changed} changed, {report.unchanged} unchanged, "
        f"{report.deleted} deleted; {report.embedded} embedded, "
        f"{report.reused} vectors reused, {report.pending} pending"
    )
    if report.skipped:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(report.skipped.items()))
        click.echo(f"skipped: {reasons}")
    if report.invalid_utf8:
        files = _plural(report.invalid_utf8, "file", "files")
        had = "had" if report.invalid_utf8 > 1 else "has"
        click.echo(f"{files} {had} invalid UTF-8 (decoded with replacement characters)")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _note(message: str) -> None:
    click.echo(f"codeintel: {message}", err=True)


def _located(path: Path) -> tuple[Path, str]:
    """The root of the indexed repository holding ``path``, and ``path`` relative to it."""
    root = find_root(path)
    if root is None:
        raise NotIndexed(
            f"no index in {path.resolve()} or any folder above it; run "
            "`codeintel index build` in the repository's root folder"
        )
    return root, path.resolve().relative_to(root).as_posix()


def _show_dry_run(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _emit_json(plan)
        return
    for path in plan["index"]:
        click.echo(f"index   {path}")
    for path in plan["delete"]:
        click.echo(f"delete  {path}")
    for item in plan["skipped"]:
        click.echo(f"skip    {item['path']}  ({item['reason']})")
    click.echo(
        f"would index {len(plan['index'])} files ({plan['bytes'] / 1e3:,.0f} kB), "
        f"delete {len(plan['delete'])}, skip {len(plan['skipped'])}; "
        f"{plan['unchanged']} unchanged"
    )


@index.command("status")
@_path_argument
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def index_status(path: Path, as_json: bool) -> None:
    """Show what the index of PATH (or the repository holding it) holds."""
    from codeintel.indexer.repository import Repository

    root, _ = _located(path)
    settings = load_settings(root)
    status = Repository(root, settings.index, settings.embed).status()
    if as_json:
        _emit_json(status)
        return
    languages = ", ".join(f"{name} {count}" for name, count in status["languages"].items())
    click.echo(f"{status['root']}: {status['files']} files, {status['chunks']} chunks")
    click.echo(f"embedded {status['embedded']}, pending {status['pending']} ({status['embedder']})")
    click.echo(f"languages: {languages or 'none'}")


_repo_option = click.option(
    "--path",
    "repo_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="Repository folder (default: current).",
)
_lexical_option = click.option(
    "--lexical", is_flag=True, help="Skip the vector signal (no model load: fast)."
)


@main.command()
@click.argument("query")
@_repo_option
@click.option("--k", type=click.IntRange(min=1), default=None, help="Number of results.")
@click.option("--lang", default=None, help="Only chunks of this language (e.g. python).")
@click.option("--glob", "path_glob", default=None, help="Only files matching this glob.")
@click.option(
    "--here", is_flag=True, help="Only results under --path (default: its whole repository)."
)
@click.option("--show", is_flag=True, help="Print each result's code, not just its first line.")
@_lexical_option
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
def search(
    query: str,
    repo_path: Path,
    k: int | None,
    lang: str | None,
    path_glob: str | None,
    here: bool,
    show: bool,
    lexical: bool,
    as_json: bool,
) -> None:
    """Find the code most relevant to QUERY, in the indexed repository holding --path."""
    from codeintel.retrieval.query import require_question
    from codeintel.retrieval.search import Filters

    require_question(query)
    root, folder = _located(repo_path)
    filters = Filters(lang, path_glob, folder if here else "")
    searcher, status = _searcher(root, lexical)
    results = searcher.search(query, k=k, filters=filters)
    coverage = _coverage(searcher, status, lexical)
    if not results:
        _note(
            "no results"
            + (" (try without --lang, --glob or --here)" if lang or path_glob or here else "")
        )
    if as_json:
        _emit_json({"results": [result.to_json() for result in results], "index": coverage})
        return
    for result in results:
        chunk = result.chunk
        signals = ",".join(result.signals)
        click.echo(
            f"{chunk.path}:{chunk.start_line}-{chunk.end_line}  {chunk.symbol or chunk.kind}"
            f"  {result.score:.4f}  [{signals}]"
        )
        lines = chunk.text.split("\n")
        if show:
            width = len(str(chunk.end_line))
            for number, line in enumerate(lines, start=chunk.start_line):
                click.echo(f"  {number:>{width}}  {line}")
        else:
            first = next((line.strip() for line in lines if line.strip()), "")
            click.echo(f"    {first[:_PREVIEW_CHARS]}")


_PREVIEW_CHARS = 100


def _coverage(searcher: Any, status: dict[str, Any], lexical: bool) -> dict[str, Any]:
    """What the search could use, for ``--json``; a line on stderr when vectors are missing."""
    chunks, embedded = status["chunks"], status["embedded"]
    if not lexical and embedded < chunks:
        if embedded == 0:
            _note(
                f"no vectors yet ({chunks:,} chunks pending): keyword signals only; "
                "`codeintel index build` fills them"
            )
        else:
            _note(
                f"vectors for {embedded:,} of {chunks:,} chunks: the rest ranked by keywords; "
                "`codeintel index build` fills them"
            )
    return {"chunks": chunks, "embedded": embedded, "signals": searcher.available_signals()}


def _searcher(root: Path, lexical: bool) -> tuple[Any, dict[str, Any]]:
    """A Searcher for the repository and its index status; the embedding model is loaded
    only when vectors exist."""
    from codeintel.indexer.embedder import load_embedder
    from codeintel.indexer.repository import Repository
    from codeintel.retrieval.search import Searcher

    settings = load_settings(root)
    repo = Repository(root, settings.index, settings.embed)
    status = repo.status()
    embedder = None
    if not lexical and status["embedded"]:
        if not settings.embed.model.startswith("hashing:"):
            _note(f"loading the embedding model {settings.embed.model} (--lexical skips it)")
        embedder = load_embedder(settings.embed)
    return Searcher(repo, settings.retrieval, embedder), status


@main.command()
@click.argument("query")
@click.option(
    "--budget",
    type=click.IntRange(min=0),
    default=8000,
    show_default=True,
    help="Token budget of the context.",
)
@_repo_option
@click.option(
    "--encoding",
    type=click.Choice(ENCODINGS),
    default=None,
    help="Tokenizer to count with (default: the one --llm names, else cl100k_base).",
)
@click.option(
    "--llm", "llm_model", default=None, help="OpenAI model whose tokenizer to count with."
)
@click.option(
    "--candidates",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Retrieved chunks the packer chooses from.",
)
@_lexical_option
@click.option("--json", "as_json", is_flag=True, help="Print the context contract as JSON.")
def context(
    query: str,
    budget: int,
    repo_path: Path,
    encoding: str | None,
    llm_model: str | None,
    candidates: int,
    lexical: bool,
    as_json: bool,
) -> None:
    """Build the most useful context for QUERY within --budget tokens."""
    from codeintel.agent.candidates import candidates_for
    from codeintel.agent.context import build_context
    from codeintel.indexer.tokens import TokenCounter
    from codeintel.retrieval.query import require_question

    require_question(query)
    counter = TokenCounter(encoding_for(llm_model, encoding))
    root, _ = _located(repo_path)
    searcher, status = _searcher(root, lexical)
    found = candidates_for(searcher, query, candidates)
    _coverage(searcher, status, lexical)
    if not found:
        _note("nothing in the index matched; the context is empty")
    packed = build_context(found, budget, counter)
    if as_json:
        _emit_json(packed.to_json())
        return
    click.echo(packed.text)
    click.echo(
        f"-- {packed.tokens}/{budget} tokens ({packed.encoding}), {len(packed.items)} items",
        err=True,
    )
