"""The retrieval settings section: how many candidates each signal brings, and fusion weights."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    k: int = Field(10, ge=1, description="results shown by `search`")
    candidates: int = Field(100, ge=1, description="candidates each signal contributes")
    rrf_k: float = Field(60.0, gt=0, description="reciprocal rank fusion constant")
    weight_bm25: float = Field(1.0, ge=0)
    weight_vector: float = Field(1.0, ge=0)
    weight_emphasis: float = Field(
        0.5, ge=0, description="chunks nearest the vector of a question's title and code spans"
    )
    weight_symbol: float = Field(1.5, ge=0, description="chunks defining a named identifier")
    weight_path: float = Field(1.0, ge=0, description="chunks of files the query names")
    weight_frame: float = Field(2.0, ge=0, description="chunks holding stack-trace lines")
    weight_graph: float = Field(0.3, ge=0, description="symbol-graph neighbours of top hits")
    weight_file: float = Field(
        1.0, ge=0, description="chunks of the files whole-file BM25 ranks high, by file rank"
    )
    weight_focus: float = Field(
        2.0, ge=0, description="the best chunks of the fused ranking's top files, again"
    )
    prior_prose: float = Field(
        0.5, ge=0, le=1, description="score factor for docs, text and the code under docs/"
    )
    prior_tests: float = Field(0.3, ge=0, le=1, description="score factor for test files")
    prior_vendored: float = Field(
        0.3, ge=0, le=1, description="score factor for vendored and minified files"
    )
    graph_seeds: int = Field(10, ge=0, description="top hits the symbol graph expands from")
    freshness: bool = Field(True, description="re-chunk files changed since the last build")

    def weights(self) -> dict[str, float]:
        """Signal name → fusion weight, from every ``weight_*`` field."""
        return {
            name.removeprefix("weight_"): value
            for name, value in self
            if name.startswith("weight_")
        }
