"""The answer cache on hand-written question groups over a real repository.

For each group of ``benchmarks/data/answer_cache_flask.jsonl`` (a question, two paraphrases,
two near misses, the code a correct answer reads, an edit inside that code and one
elsewhere), on an indexed checkout of that repository (Flask 3.1.3 for the data here):

1. ``Workspace.ask`` the question; a loopback server plays the provider and answers citing
   the group's grounding lines (a real answer would, when its context showed them);
2. ask each paraphrase (a hit is right) and each near miss (a hit is a false hit);
3. apply the edit inside the grounding, ask again (a hit is a stale serve), undo it;
4. apply the edit elsewhere, ask again (a hit is an answer surviving), undo it.

Beside it, the baseline of a static cosine threshold on the questions' MiniLM vectors alone
(what a question-only semantic cache serves), at several thresholds. Prints the rates and
the provider tokens saved over the whole session.

Run: ``python -m benchmarks.answer_cache --repo /tmp/flask`` (the repository at the tag,
indexed with ``codeintel index build``; its files are edited and restored).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codeintel import Workspace
from codeintel.cache.answers import cosine
from tests.provider_server import ProviderServer, reply

DATA = Path(__file__).parent / "data" / "answer_cache_flask.jsonl"
THRESHOLDS = (0.75, 0.80, 0.85, 0.90, 0.95)
USAGE = {"prompt_tokens": 6000, "completion_tokens": 300}  # what each provider call costs


def answering(group: dict[str, Any]) -> Any:
    cited = ", ".join(f"{g['path']}:{g['start_line']}-{g['end_line']}" for g in group["grounding"])
    text = f"The behaviour asked about is implemented in {cited}."
    return reply(
        {
            "model": "gpt-4o",
            "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
            "usage": USAGE,
        }
    )


@contextmanager
def edited(root: Path, edit: dict[str, str]) -> Iterator[None]:
    path = root / edit["path"]
    original = path.read_bytes()
    text = original.decode()
    assert text.count(edit["search"]) == 1, f"{edit['path']}: search text not unique"
    path.write_text(text.replace(edit["search"], edit["replace"]))
    try:
        yield
    finally:
        path.write_bytes(original)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--budget", type=int, default=8000)
    parser.add_argument("--limit", type=int, default=0, help="first N groups only")
    parser.add_argument("--json", dest="as_json", type=Path, help="write the counts here")
    args = parser.parse_args(argv)
    groups = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    groups = groups[: args.limit or None]

    server = ProviderServer()
    os.environ.update(
        CODEINTEL_LLM_BASE_URL=server.url + "/v1", OPENAI_API_KEY="sk-bench",
        CODEINTEL_LLM_MODEL="gpt-4o", CODEINTEL_LLM_REQUEST_SHARE="0",
    )  # fmt: skip
    workspace = Workspace.open(args.repo)
    workspace.cache_clear()
    counts = {
        "groups": len(groups), "kept": 0, "paraphrases": 0, "paraphrase_hits": 0,
        "near_misses": 0, "false_hits": 0, "inside_edits": 0, "stale_serves": 0,
        "outside_edits": 0, "survived": 0, "asked": 0,
    }  # fmt: skip
    embed = workspace._lazy_embedder("query").embed  # the cache's own question vectors
    baseline = {t: {"paraphrase": 0, "near_miss": 0} for t in THRESHOLDS}
    with server.running():

        def ask(question: str, group: dict[str, Any]) -> bool:
            server.script = [answering(group)]
            counts["asked"] += 1
            return workspace.ask(question, args.budget).cached

        saved = 0
        for group in groups:  # each from an empty cache: groups do not serve each other
            saved += workspace.cache_stats().tokens_saved
            workspace.cache_clear()
            ask(group["question"], group)
            if workspace.cache_stats().entries == 0:
                print(f"{group['id']}: not kept (its context did not show the grounding)")
                continue
            counts["kept"] += 1
            for paraphrase in group["paraphrases"]:
                counts["paraphrases"] += 1
                counts["paraphrase_hits"] += ask(paraphrase, group)
            for miss in group["near_misses"]:
                counts["near_misses"] += 1
                counts["false_hits"] += ask(miss["question"], group)
            questions = [group["question"], *group["paraphrases"]]
            questions += [m["question"] for m in group["near_misses"]]
            vectors = embed(questions)
            for threshold in THRESHOLDS:
                for index, kind in (
                    (1, "paraphrase"),
                    (2, "paraphrase"),
                    (3, "near_miss"),
                    (4, "near_miss"),
                ):
                    baseline[threshold][kind] += cosine(vectors[0], vectors[index]) >= threshold
            with edited(args.repo, group["edit_inside"]):
                counts["inside_edits"] += 1
                counts["stale_serves"] += ask(group["question"], group)
            ask(group["question"], group)  # kept again on the restored code
            with edited(args.repo, group["edit_outside"]):
                counts["outside_edits"] += 1
                counts["survived"] += ask(group["question"], group)
            print(f"{group['id']}: done", flush=True)
        saved += workspace.cache_stats().tokens_saved
    spent = sum(USAGE.values()) * counts["asked"] - saved
    report(counts, baseline, saved, spent)
    if args.as_json:
        data = {**counts, "baseline": baseline, "tokens_saved": saved, "tokens_spent": spent}
        args.as_json.write_text(json.dumps(data, indent=1))


def report(
    counts: dict[str, int], baseline: dict[float, dict[str, int]], saved: int, spent: int
) -> None:
    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"

    print()
    print(
        "groups kept (their context showed the grounding):",
        share(counts["kept"], counts["groups"]),
    )
    print(f"paraphrase hits:            {share(counts['paraphrase_hits'], counts['paraphrases'])}")
    print(f"false hits on near misses:  {share(counts['false_hits'], counts['near_misses'])}")
    print(f"stale serves after an edit: {share(counts['stale_serves'], counts['inside_edits'])}")
    print(f"surviving an edit elsewhere: {share(counts['survived'], counts['outside_edits'])}")
    print(f"provider tokens: spent {spent}, saved {saved} ({saved / max(saved + spent, 1):.0%})")
    print()
    print("static cosine on MiniLM question vectors alone (the baseline):")
    for threshold, served in baseline.items():
        print(
            f"  >= {threshold:.2f}: paraphrases",
            share(served["paraphrase"], counts["paraphrases"]) + ", near misses",
            share(served["near_miss"], counts["near_misses"]),
        )


if __name__ == "__main__":
    main()
