"""The project's benchmarks, run from the repository root as modules.

``python -m benchmarks.run_swebench`` (both SWE-bench benchmarks in one pass),
``benchmarks.retrieval_quality``, ``benchmarks.token_savings``, ``benchmarks.tune_fusion``,
``benchmarks.search_latency``, ``benchmarks.index_speed``, ``benchmarks.packer_speed``;
``benchmarks.swebench`` is the SWE-bench harness they share (no ``main`` of its own).
See ``benchmarks/README.md``.
"""
