"""Exact token counts: encodings, model names, chat framing, and the offline failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeintel.errors import ConfigError, TokenizerUnavailable
from codeintel.indexer import tokens
from codeintel.indexer.tokens import TokenCounter, encoding_for


def test_model_names_pick_their_encoding() -> None:
    assert encoding_for("gpt-4o-mini") == "o200k_base"
    assert encoding_for("GPT-4-turbo") == "cl100k_base"
    assert encoding_for(encoding="o200k_base") == "o200k_base"
    assert encoding_for() == "cl100k_base"


@pytest.mark.parametrize("llm", ["claude-3-5-sonnet", "nonsense-model-9", "llama-3"])
def test_an_llm_whose_tokenizer_we_lack_is_refused_not_guessed(llm: str) -> None:
    with pytest.raises(ConfigError) as caught:
        encoding_for(llm)
    message = str(caught.value)
    assert llm in message and "gpt-4o*" in message and "--encoding" in message


def test_llm_and_encoding_are_alternatives() -> None:
    with pytest.raises(ConfigError, match="alternatives"):
        encoding_for("gpt-4o", "cl100k_base")


def test_chat_messages_count_their_framing() -> None:
    counter = TokenCounter()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    contents = sum(counter.count(v) for m in messages for v in m.values())
    framing = tokens.TOKENS_PER_REPLY + tokens.TOKENS_PER_MESSAGE * len(messages)
    assert counter.count_messages(messages) == contents + framing
    assert counter.count_messages([]) == tokens.TOKENS_PER_REPLY


def test_batch_and_single_counts_agree() -> None:
    counter = TokenCounter("o200k_base")
    texts = ["", "def f(x):\n    return x", "getUserName()  # ✓"]
    assert counter.count_many(texts) == [counter.count(t) for t in texts]


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ConfigError, match="allowed: cl100k_base, o200k_base"):
        TokenCounter("p50k_base")


def test_missing_offline_files_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty cache folder and no network (as on the machines this project runs on)."""
    tokens._load.cache_clear()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("tiktoken.registry.ENCODINGS", {}, raising=False)
    try:
        TokenCounter("o200k_base")
    except TokenizerUnavailable as exc:
        assert "set TIKTOKEN_CACHE_DIR" in str(exc) and "\n" not in str(exc)
    else:
        pytest.skip("this machine can download tiktoken's encodings")
    finally:
        tokens._load.cache_clear()
