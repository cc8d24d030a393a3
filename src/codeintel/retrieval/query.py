"""Query understanding: the identifiers, file paths and stack-trace frames in a question,
and the words it stresses.

Issue reports name code exactly (``QuerySet.filter``, ``django/db/models/query.py``,
``File "x.py", line 12, in save``); those become exact-match signals beside BM25. Their
title and inline code spans say what the report is about; the rest (pasted configuration,
repro scripts, environment details) is often longer and mostly noise, so the full-text
query counts the stressed words three times.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from codeintel.errors import EmptyQuestion
from codeintel.indexer.languages import LANGUAGES
from codeintel.indexer.terms import expand_terms

_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in ([\w<>.]+))?')
_GENERIC_FRAME = re.compile(r"([\w./\\-]+\.[A-Za-z]{1,5}):(\d+)(?::\d+)?")
_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{0,5})(?![\w/])")
_SOURCE_SUFFIXES = frozenset(
    ext.lstrip(".") for spec in LANGUAGES for ext in spec.extensions
) | frozenset("json yaml yml toml cfg ini txt html css xml sql proto gradle".split())
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_WORD = re.compile(r"\b[A-Za-z_]\w*\b")
_MAX_IDENTIFIERS = 40
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_FENCED_BLOCK = re.compile(r"^\s*```.*?(^\s*```|\Z)", re.DOTALL | re.MULTILINE)
_EMPHASIS_REPEATS = 2  # the stressed words are said again twice: they count three times
_MAX_EMPHASIS_CHARS = 1000
_NOT_A_TITLE = ("```", "Traceback (most recent call last)")
_MAX_QUERY_CHARS = 4000  # long issue texts: the head carries the title and the trace
_MODULE_FILES = (".py", "/__init__.py")
_MIN_QUOTED_NAME = 3  # a shorter word in inline code is rarely a name worth looking up
_NOT_NAMES = frozenset({"self", "cls", "this", "null", "nil", "undefined"})
_BARE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Frame:
    path: str
    line: int
    function: str = ""


@dataclass
class ParsedQuery:
    text: str
    identifiers: list[str] = field(default_factory=list)  # e.g. get_user, UserStore
    dotted: list[str] = field(default_factory=list)  # e.g. UserStore.get_user
    paths: list[str] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    emphasis: str = ""  # the title of a multi-line question and its inline code spans

    @property
    def module_paths(self) -> list[str]:
        """Files that dotted module names may mean: ``pkg.mod`` → ``pkg/mod.py`` or
        ``pkg/mod/__init__.py``."""
        modules = [d for d in self.dotted if all(part.islower() for part in d.split("."))]
        return [f"{name.replace('.', '/')}{suffix}" for name in modules for suffix in _MODULE_FILES]

    @property
    def terms(self) -> str:
        """The full-text query: the question (its head, if long) plus the words of its
        identifiers, after its stressed words said twice more."""
        body = expand_terms(self.text[:_MAX_QUERY_CHARS])
        if not self.emphasis:
            return body
        return "\n".join([*[expand_terms(self.emphasis)] * _EMPHASIS_REPEATS, body])


def _looks_like_code(word: str) -> bool:
    """snake_case, camelCase, CapWords with an inner capital, or dunder names."""
    core = word.strip("_")
    if not core:
        return False
    if "_" in core or word.startswith("__"):
        return True
    return any(c.isupper() for c in core[1:]) and any(c.islower() for c in core)


def _is_source_path(candidate: str) -> bool:
    """``a/b.py`` or ``b.py`` name files; ``QuerySet.filter`` and ``x.com`` do not."""
    suffix = candidate.rsplit(".", 1)[-1]
    return suffix in _SOURCE_SUFFIXES or ("/" in candidate and suffix.isalpha())


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped (an issue's title)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _inline_code(text: str) -> list[str]:
    """The inline code spans of ``text`` outside fenced blocks, each once."""
    return list(dict.fromkeys(_INLINE_CODE.findall(_FENCED_BLOCK.sub("", text))))


def _quoted_names(spans: list[str]) -> list[str]:
    """The parts of spans that are a bare name (`where`, `Plotter`, `Coarsen.construct`,
    `clear()`): names, though plain words do not look like code on their own. Spans of
    other code (`pip install x`, `--lines=0`) and file names (`conf.py`) give none."""
    names = []
    for span in spans:
        name = span.strip().removesuffix("()")
        if _BARE_NAME.fullmatch(name) and name.rsplit(".", 1)[-1] not in _SOURCE_SUFFIXES:
            names += [
                part
                for part in name.split(".")
                if len(part) >= _MIN_QUOTED_NAME
                and not keyword.iskeyword(part)
                and part not in _NOT_NAMES
            ]
    return names


def _emphasis(text: str, spans: list[str]) -> str:
    """The first line of a question of several lines (unless the question starts with
    pasted code or a traceback), and its inline code spans."""
    title = first_line(text)
    if title == text.strip() or title.startswith(_NOT_A_TITLE):
        title = ""
    return " ".join([title, *spans]).strip()[:_MAX_EMPHASIS_CHARS]


def _first_positions(text: str) -> dict[str, int]:
    """Each word of ``text`` → where it first stands as a whole word, in text order."""
    first: dict[str, int] = {}
    for match in _WORD.finditer(text):
        first.setdefault(match.group(), match.start())
    return first


def require_question(text: str) -> None:
    """Refuse an empty (or all-blank) question before anything is loaded for it."""
    if not text.strip():
        raise EmptyQuestion("the question is empty; say what to look for")


def parse_query(text: str) -> ParsedQuery:
    frames = [Frame(p, int(line), fn or "") for p, line, fn in _PY_FRAME.findall(text)]
    frames += [
        Frame(p, int(line)) for p, line in _GENERIC_FRAME.findall(text) if not p.endswith(".py")
    ]
    paths = [p for p in dict.fromkeys(_PATH.findall(text)) if _is_source_path(p)]
    dotted = [
        d
        for d in dict.fromkeys(_DOTTED.findall(text))
        if d.rsplit(".", 1)[-1] not in _SOURCE_SUFFIXES and not any(d in p for p in paths)
    ]
    first = _first_positions(text)  # the parts of dotted names are words of the text too
    words = dict.fromkeys(word for word in first if _looks_like_code(word))
    for frame in frames:
        if frame.function and not frame.function.startswith("<"):
            words[frame.function] = None
    spans = _inline_code(text)
    words.update(dict.fromkeys(_quoted_names(spans)))
    # in the order the question names them (a frame's dotted function, never a word, last)
    identifiers = sorted(words, key=lambda name: first.get(name, len(text)))
    return ParsedQuery(
        text=text,
        identifiers=identifiers[:_MAX_IDENTIFIERS],
        dotted=dotted[:_MAX_IDENTIFIERS],
        paths=paths[:_MAX_IDENTIFIERS],
        frames=frames[-_MAX_IDENTIFIERS:],
        emphasis=_emphasis(text, spans),
    )
