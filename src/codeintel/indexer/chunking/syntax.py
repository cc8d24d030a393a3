"""AST-aligned chunking with tree-sitter: split large nodes, merge small siblings.

Definitions (functions, classes, ...) become chunks of their own, with leading comments
attached. A container too large for one chunk yields a header chunk (its skeleton lists
the members) and one chunk per member. Runs of other statements are merged up to the size
limit. A body too large for one chunk is split at statement boundaries, each part repeating
the definition's signature. Every non-blank row of the file ends up in exactly one chunk.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from codeintel.indexer.chunking.source import (
    ELISION,
    ChunkLimits,
    Piece,
    Source,
    assigned_names,
    window_pieces,
)
from codeintel.indexer.languages import LanguageSpec

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

_BODY_TYPES = frozenset(
    {
        "block",
        "body_statement",
        "class_body",
        "compound_statement",
        "declaration_list",
        "enum_body",
        "field_declaration_list",
        "function_body",
        "interface_body",
        "protocol_body",
        "statement_block",
        "template_body",
        "enum_class_body",
    }
)
_NAME_TYPES = ("identifier", "name", "constant", "word")
_CLOSERS = frozenset({"}", "};", "end", "})", "});", "]"})
_MAX_SIGNATURE = 300
_MAX_DOC_LINES = 6
_NAMESPACE_KINDS = frozenset({"namespace", "module"})  # their functions are not methods
_GENERIC_ARGS = re.compile(r"(?<=\w)\s*[<\[].*$")  # `Cache<T>` → `Cache`
# Grammars take no U+FFFD (an undecodable byte) in an identifier: `caf\ufffd` parses as a
# name `caf` and an ERROR, whose word characters still belong to the name.
_WORD_START = re.compile(r"[\w\ufffd]*")
_WORD_END = re.compile(r"[\w\ufffd]*$")
# tree-sitter-bash's scanner hands the character after `{`, `{1` or `{1..` to C's narrow
# `isdigit`, which reads outside its table for a non-ASCII one and can crash the process
# (tree-sitter-bash#337). The parser gets `_` bytes in its place, a word character alike;
# node texts are read from the real bytes.
_NARROW_ISDIGIT_GRAMMARS = frozenset({"bash"})
_BRACE_THEN_WIDE = re.compile(rb"(?<=\{)([0-9]*(?:\.\.[0-9]*)?)([\x80-\xff]+)")


@functools.lru_cache(maxsize=32)
def parser_for(grammar: str) -> Parser:
    from tree_sitter_language_pack import get_parser

    return get_parser(grammar)  # type: ignore[arg-type]


def syntax_pieces(spec: LanguageSpec, source: Source, limits: ChunkLimits) -> list[Piece]:
    """Pieces of the rows from the first to the last non-blank one, parsed on their own.

    Error recovery weighs the rows it skips, blank ones too, so a broken definition parsed
    with blank lines above it can give other nodes: parsed without them, blank lines added
    at the top or the end of a file only move its chunks.
    """
    rows = source.trim(0, source.last_row)
    if rows is None:
        return []
    text = source.rows(*rows) + "\n"
    # the usual file (text from the first row, one newline at the end) is its own inner
    inner = source if text == source.text else Source(text)
    data = inner.text.encode("utf-8", "surrogatepass")
    if spec.grammar in _NARROW_ISDIGIT_GRAMMARS:
        tree = parser_for(spec.grammar).parse(_BRACE_THEN_WIDE.sub(_as_word_bytes, data))
    else:
        tree = parser_for(spec.grammar).parse(data)
    chunker = _SyntaxChunker(spec, inner, limits, data)
    chunker.walk(tree.root_node.named_children, parent="", container_kind="")
    chunker.emit_gap(inner.last_row + 1, parent="")
    for piece in chunker.pieces:
        piece.start_row += rows[0]
        piece.end_row += rows[0]
    return chunker.pieces


def _end_row(node: Node) -> int:
    """Last row holding the node's text (a node ending at column 0 ends on the row before)."""
    row = node.end_point.row
    return row - 1 if node.end_point.column == 0 and row > node.start_point.row else row


class _SyntaxChunker:
    def __init__(
        self, spec: LanguageSpec, source: Source, limits: ChunkLimits, data: bytes
    ) -> None:
        self.spec = spec
        self.source = source
        self.limits = limits
        self.data = data
        self.leading_types = spec.comment_types | spec.attributes
        self.pieces: list[Piece] = []
        self.next_row = 0  # rows before this one already belong to a piece

    # -- traversal ------------------------------------------------------------------

    def walk(self, nodes: list[Node], parent: str, container_kind: str) -> None:
        """Chunk sibling nodes; ``container_kind`` is the kind of the definition holding them."""
        pending: list[Node] = []
        for node in nodes:
            inner = self.definition(node)
            if inner is None:
                pending.append(node)
                continue
            leading: list[Node] = []
            while pending and self.is_leading(pending[-1], node.start_point.row, leading):
                leading.append(pending.pop())
            self.flush_code(pending, parent)
            pending = []
            self.add_definition(node, inner, leading[::-1], parent, container_kind)
        self.flush_code(pending, parent)

    def definition(self, node: Node) -> Node | None:
        """The definition node that ``node`` is or wraps, else None."""
        if node.type in self.spec.definitions:
            return node
        if node.type in self.spec.wrappers:
            for child in node.named_children:
                found = self.definition(child)
                if found is not None:
                    return found
        return None

    def is_leading(self, node: Node, row: int, attached: list[Node]) -> bool:
        """Whether ``node`` is a comment (or attribute) on its own lines just above ``row``."""
        if attached:
            row = attached[-1].start_point.row
        start = node.start_point
        return (
            node.type in self.leading_types
            and _end_row(node) >= row - 1
            and start.column == len(self.source.indent_of(start.row))
        )

    # -- pieces ---------------------------------------------------------------------

    def emit(self, piece: Piece) -> None:
        """Add a piece after the rows already taken; one over the size bound becomes windows."""
        self.emit_gap(piece.start_row, piece.parent)
        trimmed = self.source.trim(max(piece.start_row, self.next_row), piece.end_row)
        if trimmed is None:
            return
        piece.start_row, piece.end_row = trimmed
        if self.source.chars(*trimmed) <= self.limits.max_chars:
            self.pieces.append(piece)
        else:
            for part in window_pieces(self.source, *trimmed, self.limits, piece):
                part.skeleton = piece.skeleton
                self.pieces.append(part)
        self.next_row = self.pieces[-1].end_row + 1

    def emit_gap(self, row: int, parent: str) -> None:
        """Rows before ``row`` that no node claimed (tokens of a broken parse) become code."""
        gap = self.source.trim(self.next_row, row - 1)
        if gap:
            self.emit_code(*gap, parent)

    def extend_last(self, end_row: int) -> bool:
        """Give trailing rows (closing braces) to the last piece if it stays within the bound."""
        if not self.pieces or self.source.chars(self.pieces[-1].start_row, end_row) > (
            self.limits.max_chars
        ):
            return False
        self.pieces[-1].end_row = end_row
        self.next_row = end_row + 1
        return True

    def flush_code(self, nodes: list[Node], parent: str) -> None:
        group: tuple[int, int] | None = None
        for node in nodes:
            start, end = max(node.start_point.row, self.next_row), _end_row(node)
            if end < start:
                continue
            if group and self.source.chars(group[0], end) <= self.limits.max_chars:
                group = (group[0], end)
                continue
            if group:
                self.emit_code(*group, parent)
            group = (start, end)
        if group:
            self.emit_code(*group, parent)

    def emit_code(self, start_row: int, end_row: int, parent: str) -> None:
        template = Piece(start_row, end_row, kind="code", symbol=parent, parent=parent)
        for piece in window_pieces(self.source, start_row, end_row, self.limits, template):
            text = self.source.rows(piece.start_row, piece.end_row)
            piece.defines = assigned_names(text)
            piece.skeleton = self.code_skeleton(piece)
            self.emit(piece)

    def add_definition(
        self, node: Node, inner: Node, leading: list[Node], parent: str, container_kind: str
    ) -> None:
        name = self.definition_name(node, inner)
        owner = self.receiver_of(inner) or parent
        if "." in name:  # qualified (`A::g`): the qualifier is the owner
            scope, name = name.rsplit(".", 1)
            owner = _joined(owner, scope)
        kind = self.kind_of(inner)
        is_member = owner != parent or container_kind not in _NAMESPACE_KINDS
        if kind == "function" and container_kind + owner and is_member:
            kind = "method"
        start_row = leading[0].start_point.row if leading else node.start_point.row
        end_row = _end_row(node)
        body = self.body_of(inner)
        head = node if inner.type in self.spec.anonymous else inner
        piece = Piece(
            start_row=start_row,
            end_row=end_row,
            kind=kind,
            symbol=_joined(owner, name),
            parent=owner,
            signature=self.signature_of(head, inner, body),
            docstring=self.docstring_of(body, leading),
            defines=[name] if name else [],
        )
        members = self.member_definitions(inner, body)
        fits = self.source.chars(start_row, end_row) <= self.limits.max_chars
        if inner.type in self.spec.containers and members and not fits:
            self.add_container(piece, inner, body, members)
            return
        piece.skeleton = self.definition_skeleton(piece, inner, body, members)
        if members:
            names = [self.definition_name(m, self.definition(m) or m) for m in members]
            piece.defines = list(dict.fromkeys(piece.defines + names))
        if fits or body is None:
            self.emit(piece)
        else:
            self.split_body(piece, body)

    def add_container(
        self, piece: Piece, inner: Node, body: Node | None, members: list[Node]
    ) -> None:
        assert body is not None
        first_member_row = self.member_start_row(members[0])
        header_end = first_member_row - 1
        if (
            self.source.chars(piece.start_row, max(header_end, piece.start_row))
            > self.limits.max_chars
        ):
            header_end = body.start_point.row
        header = replace(piece, end_row=max(header_end, piece.start_row))
        header.skeleton = self.definition_skeleton(piece, inner, body, members)
        self.emit(header)
        rest = [child for child in body.named_children if _end_row(child) >= self.next_row]
        self.walk(rest, parent=piece.symbol, container_kind=piece.kind)
        trailing = self.source.trim(self.next_row, piece.end_row)
        if trailing and not (trailing[1] - trailing[0] < 3 and self.extend_last(trailing[1])):
            self.emit_code(*trailing, piece.symbol)

    def split_body(self, piece: Piece, body: Node) -> None:
        """Split a long definition at statement boundaries; every part repeats the signature."""
        statements = body.named_children
        while len(statements) == 1 and statements[0].named_children:
            statements = statements[0].named_children
        bounds: list[tuple[int, int]] = []
        start, max_chars = piece.start_row, self.limits.max_chars
        for statement in statements:
            end = _end_row(statement)
            if end < start:
                continue
            if bounds and self.source.chars(bounds[-1][0], end) <= max_chars:
                bounds[-1] = (bounds[-1][0], end)
            elif not bounds:
                bounds.append((start, end))
            else:
                bounds.append((bounds[-1][1] + 1, end))
        if not bounds:
            bounds = [(start, piece.end_row)]
        bounds[-1] = (bounds[-1][0], piece.end_row)
        if len(bounds) > 1 and self.source.chars(bounds[-2][0], piece.end_row) <= max_chars:
            bounds[-2:] = [(bounds[-2][0], piece.end_row)]  # no part of closing braces alone
        for index, (part_start, part_end) in enumerate(bounds):
            part = replace(piece, start_row=part_start, end_row=part_end)
            if index:
                part.docstring, part.defines = "", []
            self.emit(part)

    # -- node facts -----------------------------------------------------------------

    def text_of(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def word_of(self, node: Node) -> str:
        """A name node's text, joined with the word characters of ERROR nodes touching it."""
        text = self.text_of(node)
        before, after = node.prev_sibling, node.next_sibling
        if before is not None and before.is_error and before.end_byte == node.start_byte:
            text = _matched(_WORD_END.search(self.text_of(before))) + text
        if after is not None and after.is_error and after.start_byte == node.end_byte:
            text += _matched(_WORD_START.match(self.text_of(after)))
        return text

    def definition_name(self, node: Node, inner: Node) -> str:
        """The defined name; an anonymous definition takes its wrapper's (`const f = ...`)."""
        if inner.type not in self.spec.anonymous:
            return self.name_of(inner)
        ancestor = inner.parent
        while ancestor is not None and ancestor != node:
            name = self.name_of(ancestor)
            if name:
                return name
            ancestor = ancestor.parent
        return self.name_of(node)

    def name_of(self, node: Node) -> str:
        """A node's name; qualified names (`A::g`) come back dotted (`A.g`)."""
        if node.type in self.spec.qualified_names:
            parts = self.word_of(node).split("::")
            return ".".join(_bare_name(part) for part in parts)
        named = node.child_by_field_name(self.spec.name_fields.get(node.type, "name"))
        if named is not None:
            return _bare_name(self.word_of(named))
        declarator = node.child_by_field_name("declarator")
        if declarator is not None:
            return self.name_of(declarator) or _bare_name(self.word_of(declarator))
        for child in node.named_children:
            if child.type.endswith(_NAME_TYPES) or child.type.endswith("_identifier"):
                return self.word_of(child)
        return ""

    def kind_of(self, inner: Node) -> str:
        """The table's kind, refined by a keyword token where the table says so."""
        keyword_kinds = self.spec.keyword_kinds
        if keyword_kinds:
            for child in inner.children:
                if not child.is_named and child.type in keyword_kinds:
                    return keyword_kinds[child.type]
        return self.spec.definitions[inner.type]

    def receiver_of(self, node: Node) -> str:
        """The type a Go method is declared on (``func (s *Server) Run()`` → ``Server``)."""
        receiver = node.child_by_field_name("receiver")
        if receiver is None:
            return ""
        text = self.text_of(receiver).strip("()")
        return text.split()[-1].lstrip("*").split("[")[0] if text.split() else ""

    def body_of(self, node: Node) -> Node | None:
        body = node.child_by_field_name("body")
        if body is not None:
            return body
        for child in reversed(node.named_children):
            if child.type in _BODY_TYPES:
                return child
        return None

    def member_definitions(self, inner: Node, body: Node | None) -> list[Node]:
        if inner.type not in self.spec.containers or body is None:
            return []
        return [child for child in body.named_children if self.definition(child) is not None]

    def member_start_row(self, member: Node) -> int:
        attached: list[Node] = []
        sibling = member.prev_named_sibling
        while sibling is not None and self.is_leading(sibling, member.start_point.row, attached):
            attached.append(sibling)
            sibling = sibling.prev_named_sibling
        return (attached[-1] if attached else member).start_point.row

    def signature_of(self, head: Node, inner: Node, body: Node | None) -> str:
        """The declaration from ``head`` up to the body, comments left out, on one line."""
        if body is not None and body.start_byte > head.start_byte:
            end = body.start_byte
            for child in inner.children:
                if (
                    head.start_byte < child.start_byte < end
                    and child.type in self.spec.comment_types
                ):
                    end = child.start_byte
                    break
            raw = self.data[head.start_byte : end].decode("utf-8", "replace")
        else:
            raw = self.source.lines[head.start_point.row]
        return " ".join(raw.split())[:_MAX_SIGNATURE]

    def docstring_of(self, body: Node | None, leading: list[Node]) -> str:
        """The Python docstring, else the text of the comments just above the definition."""
        if self.spec.python_docstrings:
            doc = self.python_docstring(body)
            return self.text_of(doc).strip().strip("'\"").strip() if doc else ""
        comments = [node for node in leading if node.type in self.spec.comment_types]
        lines = [line for node in comments for line in self.text_of(node).splitlines()]
        return "\n".join(filter(None, map(_comment_line, lines)))

    # -- views ----------------------------------------------------------------------

    def signature_end_row(self, inner: Node, body: Node | None) -> int:
        """Last row of the declaration line(s), before the body's first statement."""
        if body is None:
            return inner.start_point.row
        row = body.start_point.row
        starts_row = body.start_point.column == len(self.source.indent_of(row))
        opens_with_brace = self.data[body.start_byte : body.start_byte + 1] == b"{"
        if row > inner.start_point.row and starts_row and not opens_with_brace:
            return row - 1
        return row

    def python_docstring(self, body: Node | None) -> Node | None:
        if not self.spec.python_docstrings or body is None or not body.named_children:
            return None
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_children:
            first = first.named_children[0]
        return first if first.type == "string" else None

    def elided(self, row_after: int, body: Node | None) -> str:
        indent_row = body.start_point.row if body is not None else row_after
        for row in range(row_after, min(row_after + 50, self.source.last_row + 1)):
            if not self.source.is_blank(row):
                indent_row = row
                break
        return self.source.indent_of(indent_row) + ELISION

    def definition_skeleton(
        self, piece: Piece, inner: Node, body: Node | None, members: list[Node]
    ) -> str:
        """Declaration, docstring (capped), member declarations; bodies become a marker."""
        end = self.signature_end_row(inner, body)
        lines = self.source.lines[piece.start_row : end + 1]
        doc = self.python_docstring(body)
        if doc is not None:
            doc_end = min(_end_row(doc), doc.start_point.row + _MAX_DOC_LINES - 1)
            lines += self.source.lines[doc.start_point.row : doc_end + 1]
            if doc_end < _end_row(doc):
                lines.append(self.source.indent_of(doc_end) + ELISION)
            end = _end_row(doc)
        for member in members:
            member_inner = self.definition(member) or member
            member_body = self.body_of(member_inner)
            member_end = self.signature_end_row(member_inner, member_body)
            lines += self.source.lines[member_inner.start_point.row : member_end + 1]
            if member_body is not None:
                lines.append(self.elided(member_end + 1, member_body))
        if not members and end < piece.end_row:
            lines.append(self.elided(end + 1, body))
        closing = self.source.lines[piece.end_row].strip()
        if end < piece.end_row and closing in _CLOSERS:
            lines.append(self.source.lines[piece.end_row])
        return "\n".join(lines)

    def code_skeleton(self, piece: Piece) -> str:
        if piece.end_row - piece.start_row < 3:
            return self.source.rows(piece.start_row, piece.end_row)
        head = self.source.rows(piece.start_row, piece.start_row + 1)
        return f"{head}\n{self.source.indent_of(piece.start_row)}{ELISION}"


def _as_word_bytes(match: re.Match[bytes]) -> bytes:
    return match[1] + b"_" * len(match[2])


def _joined(owner: str, name: str) -> str:
    return f"{owner}.{name}" if owner and name else owner or name


def _matched(match: re.Match[str] | None) -> str:
    return match[0] if match else ""


def _bare_name(text: str) -> str:
    """A declared name without parameters or generic arguments (`Cache<T>` → `Cache`)."""
    name = text.split("(")[0].strip()
    return name if name.startswith("operator") else _GENERIC_ARGS.sub("", name)


def _comment_line(line: str) -> str:
    """A comment line without its markers (`/**`, `*/`, `*`, `//`, `#`)."""
    return line.strip().removesuffix("*/").lstrip("/*#!-").strip(" *")
