"""The one error tree of codeintel.

Every error a user can act on derives from ``CodeintelError`` and carries a one-line
message naming the cause and the fix. The front doors (CLI, later HTTP and MCP) turn it
into one line in exactly one place; anything else is a bug and shows a traceback.

    CodeintelError
    ├── ConfigError            a setting has a bad value
    ├── TokenizerUnavailable   a tiktoken encoding cannot be loaded offline
    ├── ModelUnavailable       the embedding model cannot be loaded
    ├── IndexLocked            another writer holds the index
    ├── IndexMismatch          schema, embedder or tokenizer of the index differ from the settings
    ├── NotIndexed             no index exists yet for a repository
    ├── IndexUnreadable        the index exists but cannot be read
    ├── EmptyQuestion          a search or context was asked for nothing
    ├── EditRefused            an edit that would leave the repository, or touch what it may not
    └── ProviderError          the LLM provider refused, failed or cannot be reached
        └── StreamCut          a streamed answer ended before the provider finished it
"""


class CodeintelError(Exception):
    """Root of every error a user can act on."""


class ConfigError(CodeintelError):
    pass


class TokenizerUnavailable(CodeintelError):
    pass


class ModelUnavailable(CodeintelError):
    pass


class IndexLocked(CodeintelError):
    pass


class IndexMismatch(CodeintelError):
    pass


class NotIndexed(CodeintelError):
    pass


class IndexUnreadable(CodeintelError):
    pass


class EmptyQuestion(CodeintelError):
    pass


class EditRefused(CodeintelError):
    pass


class ProviderError(CodeintelError):
    pass


class StreamCut(ProviderError):
    """The partial text is never an answer: callers discard it."""
