"""codeintel: index a codebase once, then hand an LLM only the code that matters."""

__version__ = "0.1.0"
