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


def test_temperature_0_cache_is_shared_between_runs(tmp_path):
    with ChatServer.scripted(["first"]) as server:
        assert make(server, tmp_path / "run1").chat("action", MSGS) == ["first"]
        shared = LLM(LLMSettings(base_url=server.base_url), run_dir=tmp_path / "run2",
                     cache_dir=tmp_path / "run1" / "cache")
        assert shared.chat("action", MSGS) == ["first"]
        assert len(server.requests) == 1


def sampler(server, run_dir, cache_dir, replay_dir=None):
    """A client of one run that samples at temperature 1 (Eureka's), sharing ``cache_dir``."""
    return LLM(LLMSettings(base_url=server.base_url, max_retries=0), run_dir=run_dir,
               cache_dir=cache_dir, replay_dir=replay_dir)


def test_samples_are_never_replayed_into_a_new_run(tmp_path):
    cache = tmp_path / "shared"
    with ChatServer.scripted([["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]) as server:
        assert sampler(server, tmp_path / "a", cache).chat("reward", MSGS, n=2, temperature=1.0) == ["a1", "a2"]
        # a new run asking the same draws new samples: no variance hidden by a cache
        run_b = sampler(server, tmp_path / "b", cache)
        assert run_b.chat("reward", MSGS, n=2, temperature=1.0) == ["b1", "b2"]
        # and so does the same run asking the same again
        assert run_b.chat("reward", MSGS, n=2, temperature=1.0) == ["c1", "c2"]
        assert len(server.requests) == 3


def test_resume_replays_its_own_samples_and_replay_replays_another_runs(tmp_path):
    cache = tmp_path / "shared"
    with ChatServer.scripted([["a1"], ["a2"]]) as server:
        first = sampler(server, tmp_path / "a", cache)
        assert [first.chat("reward", MSGS, temperature=1.0) for _ in range(2)] == [["a1"], ["a2"]]
        # --resume: a new process of the same run redoes its calls in order, for free
        resumed = sampler(server, tmp_path / "a", cache)
        assert [resumed.chat("reward", MSGS, temperature=1.0) for _ in range(2)] == [["a1"], ["a2"]]
        assert resumed.ledger.roles["reward"].cached_calls == 2
        # --replay a: a new run that deliberately replays run a's samples...
        replay = sampler(server, tmp_path / "c", cache, replay_dir=tmp_path / "a")
        assert replay.chat("reward", MSGS, temperature=1.0) == ["a1"]
        # ...and keeps them, so its own --resume replays them without --replay
        assert sampler(server, tmp_path / "c", cache).chat("reward", MSGS, temperature=1.0) == ["a1"]
        assert len(server.requests) == 2
