"""The language table: which files are which language, and how each is chunked.

Adding a language is one ``LanguageSpec`` entry in ``LANGUAGES``. ``definitions`` maps a
tree-sitter node type to the chunk kind it yields; ``containers`` are the definition types
whose members are chunked one by one (classes, impls, namespaces). Everything a language
needs beyond the generic chunker is data here, never a branch on its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

Splitter = Literal["treesitter", "markdown", "rst", "lines"]


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    splitter: Splitter = "treesitter"
    grammar: str = ""
    definitions: dict[str, str] = field(default_factory=dict)
    containers: frozenset[str] = frozenset()
    filenames: tuple[str, ...] = ()
    comment_types: frozenset[str] = frozenset({"comment"})
    # Node types that wrap a definition (decorators, export, templates, `const f = ...`):
    # the chunk spans the wrapper, the kind comes from the wrapped definition.
    wrappers: frozenset[str] = frozenset()
    # Definitions without a name of their own (`const f = () => {}`): they are named by
    # the declaration wrapping them, and their signature starts there.
    anonymous: frozenset[str] = frozenset()
    # Siblings that attach to the next definition like its comments (Rust `#[...]`).
    attributes: frozenset[str] = frozenset()
    # The field holding a definition's name where it is not ``name`` (Rust `impl T for U`).
    name_fields: dict[str, str] = field(default_factory=dict)
    # Name nodes that carry their owner (C++ `A::g`): the owner joins the symbol path.
    qualified_names: frozenset[str] = frozenset()
    # Keyword tokens that refine a definition's kind (Swift parses `struct` and
    # `extension` as class_declaration).
    keyword_kinds: dict[str, str] = field(default_factory=dict)
    python_docstrings: bool = False


_C_FAMILY_COMMENTS = frozenset({"comment"})
# `const f = () => {}`, `export const f = function () {}`, class fields holding functions.
_JS_FUNCTION_VALUES = {
    "arrow_function": "function",
    "function_expression": "function",
    "generator_function": "function",
}
_JS_VALUE_WRAPPERS = frozenset(
    {
        "lexical_declaration",
        "variable_declaration",
        "variable_declarator",
        "field_definition",
        "public_field_definition",
    }
)

LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        extensions=(".py", ".pyi", ".pyw"),
        grammar="python",
        definitions={"function_definition": "function", "class_definition": "class"},
        containers=frozenset({"class_definition"}),
        wrappers=frozenset({"decorated_definition"}),
        python_docstrings=True,
    ),
    LanguageSpec(
        name="javascript",
        extensions=(".js", ".jsx", ".mjs", ".cjs"),
        grammar="javascript",
        definitions={
            "function_declaration": "function",
            "generator_function_declaration": "function",
            "class_declaration": "class",
            "method_definition": "method",
            **_JS_FUNCTION_VALUES,
        },
        containers=frozenset({"class_declaration"}),
        wrappers=frozenset({"export_statement", *_JS_VALUE_WRAPPERS}),
        anonymous=frozenset(_JS_FUNCTION_VALUES),
    ),
    *(
        LanguageSpec(
            name=name,
            extensions=extensions,
            grammar=name,
            definitions={
                "function_declaration": "function",
                "generator_function_declaration": "function",
                "class_declaration": "class",
                "abstract_class_declaration": "class",
                "method_definition": "method",
                "interface_declaration": "interface",
                "enum_declaration": "enum",
                "type_alias_declaration": "type",
                "internal_module": "namespace",
                "module": "namespace",
                **_JS_FUNCTION_VALUES,
            },
            containers=frozenset(
                {"class_declaration", "abstract_class_declaration", "internal_module", "module"}
            ),
            wrappers=frozenset({"export_statement", "ambient_declaration", *_JS_VALUE_WRAPPERS}),
            anonymous=frozenset(_JS_FUNCTION_VALUES),
        )
        for name, extensions in (("typescript", (".ts", ".mts", ".cts")), ("tsx", (".tsx",)))
    ),
    LanguageSpec(
        name="go",
        extensions=(".go",),
        grammar="go",
        definitions={
            "function_declaration": "function",
            "method_declaration": "method",
            "type_spec": "type",
            "type_alias": "type",
        },
        wrappers=frozenset({"type_declaration"}),
    ),
    LanguageSpec(
        name="rust",
        extensions=(".rs",),
        grammar="rust",
        definitions={
            "function_item": "function",
            "function_signature_item": "function",
            "struct_item": "struct",
            "enum_item": "enum",
            "union_item": "struct",
            "trait_item": "trait",
            "impl_item": "impl",
            "mod_item": "module",
            "macro_definition": "macro",
            "type_item": "type",
        },
        containers=frozenset({"impl_item", "trait_item", "mod_item"}),
        comment_types=frozenset({"line_comment", "block_comment"}),
        attributes=frozenset({"attribute_item"}),
        name_fields={"impl_item": "type"},
    ),
    LanguageSpec(
        name="java",
        extensions=(".java",),
        grammar="java",
        definitions={
            "class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "class",
            "annotation_type_declaration": "interface",
            "method_declaration": "method",
            "constructor_declaration": "method",
        },
        containers=frozenset(
            {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}
        ),
        comment_types=frozenset({"line_comment", "block_comment"}),
    ),
    LanguageSpec(
        name="c",
        extensions=(".c", ".h"),
        grammar="c",
        definitions={
            "function_definition": "function",
            "struct_specifier": "struct",
            "enum_specifier": "enum",
            "union_specifier": "struct",
            "type_definition": "type",
        },
        comment_types=_C_FAMILY_COMMENTS,
    ),
    LanguageSpec(
        name="cpp",
        extensions=(".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".ipp"),
        grammar="cpp",
        definitions={
            "function_definition": "function",
            "class_specifier": "class",
            "struct_specifier": "struct",
            "enum_specifier": "enum",
            "union_specifier": "struct",
            "namespace_definition": "namespace",
        },
        containers=frozenset({"class_specifier", "struct_specifier", "namespace_definition"}),
        wrappers=frozenset({"template_declaration"}),
        qualified_names=frozenset({"qualified_identifier"}),
        comment_types=_C_FAMILY_COMMENTS,
    ),
    LanguageSpec(
        name="csharp",
        extensions=(".cs",),
        grammar="csharp",
        definitions={
            "class_declaration": "class",
            "struct_declaration": "struct",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "class",
            "namespace_declaration": "namespace",
            "method_declaration": "method",
            "constructor_declaration": "method",
            "property_declaration": "property",
        },
        containers=frozenset(
            {
                "class_declaration",
                "struct_declaration",
                "interface_declaration",
                "record_declaration",
                "namespace_declaration",
            }
        ),
    ),
    LanguageSpec(
        name="ruby",
        extensions=(".rb", ".rake", ".gemspec"),
        filenames=("Rakefile", "Gemfile"),
        grammar="ruby",
        definitions={
            "method": "method",
            "singleton_method": "method",
            "class": "class",
            "module": "module",
        },
        containers=frozenset({"class", "module"}),
    ),
    LanguageSpec(
        name="php",
        extensions=(".php",),
        grammar="php",
        definitions={
            "function_definition": "function",
            "method_declaration": "method",
            "class_declaration": "class",
            "interface_declaration": "interface",
            "trait_declaration": "trait",
            "enum_declaration": "enum",
        },
        containers=frozenset(
            {"class_declaration", "interface_declaration", "trait_declaration", "enum_declaration"}
        ),
    ),
    LanguageSpec(
        name="kotlin",
        extensions=(".kt", ".kts"),
        grammar="kotlin",
        definitions={
            "function_declaration": "function",
            "class_declaration": "class",
            "object_declaration": "class",
            "companion_object": "class",
        },
        containers=frozenset({"class_declaration", "object_declaration", "companion_object"}),
        keyword_kinds={"interface": "interface"},
        comment_types=frozenset({"comment", "line_comment", "multiline_comment"}),
    ),
    LanguageSpec(
        name="swift",
        extensions=(".swift",),
        grammar="swift",
        definitions={
            "function_declaration": "function",
            "class_declaration": "class",
            "protocol_declaration": "interface",
            "protocol_function_declaration": "method",
            "init_declaration": "method",
            "deinit_declaration": "method",
        },
        containers=frozenset({"class_declaration", "protocol_declaration"}),
        keyword_kinds={
            "struct": "struct",
            "enum": "enum",
            "extension": "extension",
            "actor": "class",
        },
        comment_types=frozenset({"comment", "multiline_comment"}),
    ),
    LanguageSpec(
        name="scala",
        extensions=(".scala", ".sc"),
        grammar="scala",
        definitions={
            "function_definition": "function",
            "function_declaration": "function",
            "class_definition": "class",
            "object_definition": "class",
            "trait_definition": "trait",
        },
        containers=frozenset({"class_definition", "object_definition", "trait_definition"}),
        comment_types=frozenset({"comment", "block_comment"}),
    ),
    LanguageSpec(
        name="bash",
        extensions=(".sh", ".bash", ".zsh"),
        grammar="bash",
        definitions={"function_definition": "function"},
    ),
    LanguageSpec(name="markdown", extensions=(".md", ".markdown", ".mdx"), splitter="markdown"),
    LanguageSpec(name="rst", extensions=(".rst",), splitter="rst"),
    LanguageSpec(name="text", extensions=(), splitter="lines"),
)

BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in LANGUAGES}
_BY_EXTENSION: dict[str, LanguageSpec] = {
    ext: spec for spec in LANGUAGES for ext in spec.extensions
}
_BY_FILENAME: dict[str, LanguageSpec] = {
    name: spec for spec in LANGUAGES for name in spec.filenames
}
TEXT = BY_NAME["text"]


def language_for(path: str) -> LanguageSpec:
    """The spec for a repository path; plain text (line windows) when nothing matches."""
    pure = PurePosixPath(path)
    return _BY_FILENAME.get(pure.name) or _BY_EXTENSION.get(pure.suffix.lower(), TEXT)
