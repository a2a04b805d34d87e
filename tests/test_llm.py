"""The LLM client against a real local HTTP server (never a mocked client)."""

import json
import time

import pytest

from lifelong.config import LLMSettings
from lifelong.llm import LLM, BudgetExceeded, LLMError, LLMNotConfigured
from lifelong.openai_server import ChatServer, Fault

MSGS = [{"role": "user", "content": "Mine 1 wood log"}]


def make(server, tmp_path, **kw):
    settings = LLMSettings(base_url=server.base_url, max_retries=kw.pop("max_retries", 3), **kw)
    return LLM(settings, run_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_not_configured_explains_every_backend():
    with pytest.raises(LLMNotConfigured) as err:
        LLM(LLMSettings())
    for hint in ("OpenAI", "Ollama", "vLLM", "LIFELONG_LLM__BASE_URL", "planner"):
        assert hint in str(err.value)


def test_chat_roles_models_and_ledger(tmp_path):
    with ChatServer.scripted(["hello"]) as server:
        llm = make(server, tmp_path)
        assert llm.chat("action", MSGS) == ["hello"]
        assert server.requests[0]["model"] == llm.settings.models.action
        assert server.requests[0]["messages"] == MSGS
    ledger = json.loads((tmp_path / "llm_ledger.json").read_text())
    assert ledger["roles"]["action"]["calls"] == 1
    assert ledger["tokens"] > 0 and ledger["cost_usd"] > 0  # gpt-4o has a price


def test_n_samples_and_servers_that_ignore_n(tmp_path):
    with ChatServer.scripted([["a", "b", "c"]]) as server:
        assert make(server, tmp_path).chat("reward", MSGS, n=3) == ["a", "b", "c"]
        assert server.requests[0]["n"] == 3
    # An Ollama-like server answers one choice whatever n is: we top up with more calls.
    replies = iter(["x", "y", "z"])
    with ChatServer(lambda req: [next(replies)]) as server:
        assert make(server, tmp_path / "2").chat("reward", MSGS, n=3) == ["x", "y", "z"]
        assert [r["n"] for r in server.requests] == [3, 2, 1]


def test_retries_429_and_500_then_succeeds(tmp_path):
    with ChatServer.scripted([Fault.rate_limit(), Fault.server_error(), "ok"]) as server:
        assert make(server, tmp_path).chat("critic", MSGS) == ["ok"]
        assert len(server.requests) == 3


def test_gives_up_with_actionable_message(tmp_path):
    with ChatServer.scripted([Fault.server_error()] * 3) as server, pytest.raises(
        LLMError, match="HTTP 500 after 2 retries"
    ):
        make(server, tmp_path, max_retries=2).chat("critic", MSGS)


def test_timeout_is_retried(tmp_path):
    with ChatServer.scripted([Fault.slow(1.5, "late"), "fast"]) as server:
        start = time.monotonic()
        assert make(server, tmp_path, timeout_s=0.5).chat("action", MSGS) == ["fast"]
        assert time.monotonic() - start < 5


def test_malformed_body_is_an_llm_error(tmp_path):
    with ChatServer.scripted([Fault.garbage()] * 4) as server, pytest.raises(LLMError, match="malformed"):
        make(server, tmp_path).chat("action", MSGS)


def test_unreachable_endpoint(tmp_path):
    settings = LLMSettings(base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=2)
    with pytest.raises(LLMError, match="cannot reach"):
        LLM(settings, cache_dir=None).chat("action", MSGS)


def test_cache_makes_reruns_free(tmp_path):
    with ChatServer.scripted(["first"]) as server:
        assert make(server, tmp_path).chat("action", MSGS) == ["first"]
        # a new client (a rerun) with the same model, messages, temperature and n hits the cache
        again = make(server, tmp_path)
        assert again.chat("action", MSGS) == ["first"]
        assert len(server.requests) == 1
        assert again.ledger.roles["action"].cached_calls == 1


def test_budget_stops_spending(tmp_path):
    with ChatServer.scripted(["a" * 400, "never"]) as server:
        llm = make(server, tmp_path, budget_tokens=50)
        llm.chat("action", MSGS)
        with pytest.raises(BudgetExceeded, match="--resume"):
            llm.chat("action", [{"role": "user", "content": "another"}])
        # the ledger survives into a resumed run and keeps the budget spent
        with pytest.raises(BudgetExceeded):
            make(server, tmp_path, budget_tokens=50).chat("action", [{"role": "user", "content": "x"}])
