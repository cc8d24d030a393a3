"""The command line: each command reads its options, makes one ``Workspace`` call, renders.

It imports only the public API (``codeintel``), ``codeintel.errors`` and its own rendering,
and it imports them inside the commands, so ``--help`` loads nothing heavy.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codeintel import ENCODINGS
from codeintel.errors import CodeintelError

if TYPE_CHECKING:
    from codeintel import DryRun, IndexCoverage, Workspace

_PREVIEW_CHARS = 100


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


def _note(message: str) -> None:
    click.echo(f"codeintel: {message}", err=True)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _workspace(path: Path, **overrides: Any) -> Workspace:
    from codeintel import Workspace

    assigned = click.get_current_context().find_root().obj.get("settings", {})
    return Workspace.open(path, notes=_note, **{**assigned, **overrides})


def _assignments(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Any]:
    """``--set section.key=value`` → Workspace overrides (lists and tables as JSON)."""
    assigned: dict[str, Any] = {}
    for item in values:
        name, equals, raw = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not (equals and dot and section and key):
            raise click.BadParameter(f"{item!r}: write SECTION.KEY=VALUE, e.g. context.budget=4000")
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"{item!r}: the value is not valid JSON ({exc})") from None
        assigned[f"{section}_{key}"] = value
    return assigned


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, envvar="CODEINTEL_DEBUG", help="Show tracebacks on errors.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    callback=_assignments,
    help="Any setting for this run, above codeintel.toml and the environment (repeatable).",
)
@click.version_option(package_name="codeintel")
@click.pass_context
def main(ctx: click.Context, debug: bool, settings: dict[str, Any]) -> None:
    """codeintel: index a codebase, then give an LLM only the code that matters."""
    ctx.obj = {"debug": debug, "settings": settings}
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
@click.option("--rebuild", is_flag=True, help="Build from scratch, beside the live index.")
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
    from codeintel.cli.progress import TerminalProgress

    overrides = {"embed_model": model, "embed_device": device}
    workspace = _workspace(path, **{k: v for k, v in overrides.items() if v is not None})
    if workspace.folder:
        _note(f"updating the index of {workspace.root}")
    if dry_run:
        _show_dry_run(workspace.plan(), as_json)
        return
    with TerminalProgress() as progress:
        report = workspace.build(embed=not no_embed, rebuild=rebuild, progress=progress)
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
        had = "had" if report.invalid_utf8 > 1 else "has"
        click.echo(
            f"{_plural(report.invalid_utf8, 'file', 'files')} {had} invalid UTF-8 "
            "(decoded with replacement characters)"
        )


def _show_dry_run(plan: DryRun, as_json: bool) -> None:
    if as_json:
        _emit_json(plan.to_json())
        return
    for path in plan.index:
        click.echo(f"index   {path}")
    for path in plan.delete:
        click.echo(f"delete  {path}")
    for item in plan.skipped:
        click.echo(f"skip    {item.path}  ({item.reason})")
    click.echo(
        f"would index {len(plan.index)} files ({plan.bytes / 1e3:,.0f} kB), "
        f"delete {len(plan.delete)}, skip {len(plan.skipped)}; "
        f"{plan.unchanged} unchanged"
    )


@index.command("status")
@_path_argument
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def index_status(path: Path, as_json: bool) -> None:
    """Show what the index of PATH (or the repository holding it) holds."""
    status = _workspace(path).status()
    if as_json:
        _emit_json(status.to_json())
        return
    languages = ", ".join(f"{name} {count}" for name, count in status.languages.items())
    click.echo(f"{status.root}: {status.files} files, {status.chunks} chunks")
    click.echo(f"embedded {status.embedded}, pending {status.pending} ({status.embedder})")
    click.echo(f"languages: {languages or 'none'}")


_repo_option = click.option(
    "--path",
    "repo_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    help="A folder of the repository (default: current).",
)
_budget_option = click.option(
    "--budget",
    type=click.IntRange(min=0),
    default=None,
    help="Token budget of the context (default: context.budget, 8000).",
)
_lexical_option = click.option(
    "--lexical", is_flag=True, help="Skip the vector signals (no model load: fast)."
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
    workspace = _workspace(repo_path)
    within = workspace.folder if here else ""
    found = workspace.search(query, k=k, lang=lang, glob=path_glob, within=within, lexical=lexical)
    _say_coverage(found.index, lexical)
    if not found.results:
        narrowed = lang or path_glob or (here and within)
        _note("no results" + (" (try without --lang, --glob or --here)" if narrowed else ""))
    if as_json:
        _emit_json(found.to_json())
        return
    for result in found.results:
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


def _say_coverage(coverage: IndexCoverage, lexical: bool) -> None:
    """A line on stderr when the vectors a search would use are missing."""
    chunks, embedded = coverage.chunks, coverage.embedded
    if lexical or embedded >= chunks:
        return
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


@main.command()
@click.argument("query")
@_budget_option
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
    default=None,
    help="Retrieved chunks the packer chooses from (default: context.candidates, 400).",
)
@_lexical_option
@click.option("--json", "as_json", is_flag=True, help="Print the context contract as JSON.")
def context(
    query: str,
    budget: int | None,
    repo_path: Path,
    encoding: str | None,
    llm_model: str | None,
    candidates: int | None,
    lexical: bool,
    as_json: bool,
) -> None:
    """Build the most useful context for QUERY within --budget tokens."""
    workspace = _workspace(repo_path)
    packed = workspace.context(
        query,
        budget=budget,
        llm=llm_model,
        encoding=encoding,
        candidates=candidates,
        lexical=lexical,
    )
    if packed.index is not None:
        _say_coverage(packed.index, lexical)
    if not packed.retrieved:
        _note("nothing in the index matched; the context is empty")
    if as_json:
        _emit_json(packed.to_json())
        return
    click.echo(packed.text)
    click.echo(
        f"-- {packed.tokens}/{packed.budget} tokens ({packed.encoding}), {len(packed.items)} items",
        err=True,
    )


@main.command()
@click.argument("question")
@_budget_option
@_repo_option
@_lexical_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer contract as JSON.")
@click.option(
    "--dry-run", is_flag=True, help="Print the exact request and its tokens; call nothing."
)
@click.option(
    "--no-cache", is_flag=True, help="Ask the provider even if a cached answer still holds."
)
def ask(
    question: str,
    budget: int | None,
    repo_path: Path,
    lexical: bool,
    as_json: bool,
    dry_run: bool,
    no_cache: bool,
) -> None:
    """Answer QUESTION from the code, without editing it (the LLM of the [llm] settings)."""
    workspace = _workspace(repo_path)
    if dry_run:
        prompt = workspace.ask_prompt(question, budget, lexical)
        if as_json:
            _emit_json(prompt.to_json())
            return
        click.echo(f"--- system\n{prompt.system}\n")
        for message in prompt.messages:
            click.echo(f"--- {message.role}\n{message.content}\n")
        context = prompt.context
        click.echo(
            f"-- {prompt.tokens} tokens ({prompt.encoding}) with the chat framing; the context "
            f"{context.tokens}/{context.budget}, {len(context.items)} items; nothing was sent",
            err=True,
        )
        return
    try:
        answer = workspace.ask(
            question,
            budget,
            None if as_json else _stream_to_stdout,
            lexical=lexical,
            use_cache=not no_cache,
        )
    except KeyboardInterrupt:
        click.echo("\ncodeintel: stopped; the partial answer is not kept", err=True)
        sys.exit(130)
    if as_json:
        _emit_json(answer.to_json())
        return
    click.echo()
    for citation in answer.citations:
        if not citation.valid:
            _note(
                f"{citation.path}:{citation.start_line}-{citation.end_line} is cited but the "
                "context did not show those lines: check it"
            )
    if answer.reply.stop_reason == "max_tokens":
        _note("the answer was cut at llm.max_output_tokens")
    elif answer.reply.stop_reason == "refusal":
        _note("the model refused to answer")
    usage, context = answer.reply.usage, answer.context
    valid = sum(citation.valid for citation in answer.citations)
    if answer.cached:
        click.echo(
            f"-- cached answer of {answer.reply.model}, its code unchanged: no provider call; "
            f"context {context.tokens}/{context.budget}; {answer.seconds:.1f} s "
            "(--no-cache asks again)",
            err=True,
        )
        return
    click.echo(
        f"-- {answer.reply.model}: {usage.prompt_tokens} prompt tokens ({usage.cached_tokens} "
        f"cached), {usage.completion_tokens} completion; context {context.tokens}/"
        f"{context.budget}; {valid}/{len(answer.citations)} citations shown in the context; "
        f"{answer.seconds:.1f} s",
        err=True,
    )


def _stream_to_stdout(text: str) -> None:
    click.echo(text, nl=False)
    sys.stdout.flush()


@main.command()
@click.argument("instruction")
@_budget_option
@_repo_option
@_lexical_option
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option("--dry-run", is_flag=True, help="Show the diff the model proposes; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the edit as JSON.")
def edit(
    instruction: str,
    budget: int | None,
    repo_path: Path,
    lexical: bool,
    yes: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Change the code as INSTRUCTION says: the LLM's edit, shown as a diff, applied on
    confirmation (all files or none; `codeintel undo` reverts it), then re-indexed."""
    from codeintel.cli.progress import TerminalProgress

    workspace = _workspace(repo_path)
    try:
        plan = workspace.edit_plan(instruction, budget, lexical=lexical)
    except KeyboardInterrupt:
        click.echo("\ncodeintel: stopped; nothing written", err=True)
        sys.exit(130)
    if not as_json:
        click.echo(plan.diff, nl=False)
    if not plan.changes:
        _note("the model's blocks change nothing")
    asked = not (as_json or yes or dry_run) and sys.stdin.isatty()
    count = _plural(len(plan.changes), "file", "files")
    apply = (
        bool(plan.changes)
        and not dry_run
        and (yes or (asked and click.confirm(f"Apply to {count}?")))
    )
    if apply:
        with TerminalProgress() as progress:
            workspace.apply_edit(plan, progress)
    if as_json:
        _emit_json({**plan.to_json(), "applied": apply})
    elif apply:
        _note(f"applied to {count} and re-indexed; `codeintel undo` reverts it")
    elif plan.changes:
        _note("nothing written" + ("" if dry_run or asked else "; --yes applies it"))


@main.command("undo")
@_repo_option
def undo_command(repo_path: Path) -> None:
    """Restore the files of the last edit, byte for byte, and re-index them."""
    from codeintel.cli.progress import TerminalProgress

    workspace = _workspace(repo_path)
    with TerminalProgress() as progress:
        restored, _ = workspace.undo(progress)
    _note(f"restored {', '.join(restored)}")


@main.group()
def cache() -> None:
    """The answer cache: answers served again while their code is unchanged."""


@cache.command("stats")
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def cache_stats(repo_path: Path, as_json: bool) -> None:
    """Entries, hits, misses, stale answers dropped and provider tokens saved."""
    stats = _workspace(repo_path).cache_stats()
    if as_json:
        _emit_json(stats.to_json())
        return
    asked = stats.hits + stats.misses
    rate = f" ({stats.hits / asked:.0%} of {asked} asked)" if asked else ""
    click.echo(f"entries        {stats.entries}")
    click.echo(f"hits           {stats.hits}{rate}")
    click.echo(f"misses         {stats.misses}")
    click.echo(f"stale dropped  {stats.stale_dropped}")
    click.echo(f"tokens saved   {stats.tokens_saved}")


@cache.command("clear")
@_repo_option
def cache_clear(repo_path: Path) -> None:
    """Drop every cached answer and reset the counts."""
    dropped = _workspace(repo_path).cache_clear()
    click.echo(f"dropped {dropped} cached answer{'s' * (dropped != 1)}")


@main.command()
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Print the totals as JSON.")
def usage(repo_path: Path, as_json: bool) -> None:
    """What ask and edit cost here (the provider's own token counts), and what their
    contexts saved against sending the whole files they drew from."""
    totals = _workspace(repo_path).usage()
    if as_json:
        _emit_json(totals.to_json())
        return
    calls = ", ".join(f"{count} {command}" for command, count in sorted(totals.calls.items()))
    click.echo(f"calls: {calls or 'none yet'}")
    click.echo(
        f"provider tokens: {totals.prompt_tokens:,} prompt ({totals.cached_tokens:,} cached), "
        f"{totals.completion_tokens:,} completion"
    )
    click.echo(
        f"contexts: {totals.context_tokens:,} tokens, against {totals.whole_files_tokens:,} "
        f"for the whole files they drew from: {totals.saved:,} saved"
    )
