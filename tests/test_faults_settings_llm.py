"""Faults in what a run is given: misspelt settings, and an LLM endpoint that answers oddly or costs too much.

Every LLM test talks to a real local HTTP server (``ChatServer``), never a mocked client.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lifelong.llm as llm_mod
from lifelong.config import ConfigError, LLMSettings, load_settings
from lifelong.llm import LLM, BudgetExceeded, LLMError
from lifelong.openai_server import ChatServer, Fault

MSGS = [{"role": "user", "content": "Mine 1 wood log"}]


def make(server, tmp_path, **kw):
    settings = LLMSettings(base_url=server.base_url, max_retries=kw.pop("max_retries", 3), **kw)
    return LLM(settings, run_dir=tmp_path, cache_dir=tmp_path / "cache")


# --- 1. misspelt settings -------------------------------------------------------------------


def test_misspelt_file_key_names_key_file_and_closest_key():
    Path("lifelong.toml").write_text("[llm]\nbudjet_usd = 1.0\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "unknown setting [llm] budjet_usd in lifelong.toml; did you mean budget_usd?" in str(err.value)


def test_misspelt_keys_at_every_nesting_level(tmp_path):
    cases = {
        '[llm.models]\nactoin = "m"\n': ("[llm.models] actoin", "did you mean action?"),
        '[lm]\nbase_url = "http://x/v1"\n': ("[lm]", "did you mean [llm]?"),
        'library_dirr = "lib"\n': ("library_dirr", "did you mean library_dir?"),
    }
    for text, (name, hint) in cases.items():
        config = tmp_path / "elsewhere.toml"
        config.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_settings(config)
        message = str(err.value)
        assert f"unknown setting {name} in {config}" in message and hint in message, message


def test_unknown_key_without_close_match_lists_valid_keys():
    Path("lifelong.toml").write_text("[llm.models]\nzzz = 1\n")
    with pytest.raises(ConfigError, match="zzz") as err:
        load_settings()
    assert "curriculum" in str(err.value) and "describer" in str(err.value)


def test_misspelt_environment_variable(monkeypatch):
    monkeypatch.setenv("LIFELONG_LLM__BUDJET_USD", "1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "LIFELONG_LLM__BUDJET_USD" in message and "did you mean LIFELONG_LLM__BUDGET_USD?" in message
    monkeypatch.delenv("LIFELONG_LLM__BUDJET_USD")
    monkeypatch.setenv("LIFELONG_LLM__MODELS__ACTOIN", "m")
    with pytest.raises(ConfigError, match="LIFELONG_LLM__MODELS__ACTION"):
        load_settings()


def test_other_lifelong_variables_are_left_alone(monkeypatch):
    """LIFELONG_BRIDGES, LIFELONG_CONFIG, ... share the prefix but are not settings (a guard)."""
    monkeypatch.setenv("LIFELONG_BRIDGES", "/somewhere")
    monkeypatch.setenv("LIFELONG_ROBOT_TASKS_DIR", "/tasks")
    monkeypatch.setenv("LIFELONG_LLM__BUDGET_USD", "2")
    assert load_settings().llm.budget_usd == 2.0


def test_cli_prints_unknown_setting_as_one_line_exit_2(tmp_path):
    Path("lifelong.toml").write_text("[llm]\nbudjet_usd = 1.0\n")
    exe = Path(sys.executable).parent / "lifelong"
    env = {**os.environ, "COLUMNS": "40"}  # a narrow terminal must not wrap the message
    out = subprocess.run([str(exe), "skills", "list", "--library", str(tmp_path / "lib")],
                         check=False, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "budjet_usd" in lines[0] and "did you mean budget_usd?" in lines[0]
    assert "Traceback" not in out.stderr


# --- 2. the LLM client ----------------------------------------------------------------------

WRONG_SHAPES = [
    '{"foo": 1}',
    '{"choices": []}',
    '{"choices": [{"index": 0}]}',
    '{"choices": [{"message": {"role": "assistant"}}]}',
    '{"choices": "x"}',
    "[1, 2]",
    "not json at all",
]


@pytest.mark.parametrize("body", WRONG_SHAPES)
def test_wrong_shape_200_is_a_clear_error(tmp_path, body):
    with ChatServer.scripted([Fault.garbage(body)] * 5) as server:
        with pytest.raises(LLMError) as err:
            make(server, tmp_path).chat("action", MSGS)
        assert isinstance(err.value, llm_mod.LLMBadResponse)
        message = str(err.value)
        assert f"{server.base_url}/chat/completions" in message
        assert "answered 200 but not in the OpenAI chat format" in message


def test_wrong_shape_is_retried_a_few_times(tmp_path):
    with ChatServer.scripted([Fault.garbage('{"foo": 1}'), "ok"]) as server:
        assert make(server, tmp_path).chat("action", MSGS) == ["ok"]
    with ChatServer.scripted([Fault.garbage('{"foo": 1}')] * 10) as server:
        with pytest.raises(llm_mod.LLMBadResponse):
            make(server, tmp_path / "2", max_retries=5).chat("action", MSGS)
        assert len(server.requests) == 3  # a protocol mismatch does not heal: few retries


@pytest.mark.parametrize(
    "status, hint",
    [(400, "llm.max_tokens"), (401, "$MY_KEY"), (403, "$MY_KEY"), (404, "llm.base_url"),
     (422, "llm.max_tokens")],
)
def test_client_errors_are_not_retried_and_say_what_to_do(tmp_path, status, hint):
    body = {"error": {"message": "the server says no: XYZ"}}
    with ChatServer.scripted([Fault.http(status, body)] * 6) as server:
        with pytest.raises(LLMError) as err:
            make(server, tmp_path, max_retries=5, api_key_env="MY_KEY").chat("action", MSGS)
        assert len(server.requests) == 1
    message = str(err.value)
    assert isinstance(err.value, llm_mod.LLMRequestRejected)
    assert f"HTTP {status}" in message and "the server says no: XYZ" in message
    assert "not retried" in message and "after 5 retries" not in message
    assert hint in message, message
    if status == 404:
        assert "'gpt-4o'" in message  # the model name to check


def test_n_samples_times_max_tokens_fit_the_token_budget(tmp_path):
    with ChatServer.scripted([["ok"] * 8]) as server:
        assert make(server, tmp_path, budget_tokens=500).chat("reward", MSGS, n=8) == ["ok"] * 8
        request = server.requests[0]
    assert request["n"] == 8 and 32 <= request["max_tokens"] and request["max_tokens"] * 8 < 500


def test_call_that_cannot_fit_the_budget_is_refused_before_spending(tmp_path):
    with ChatServer.scripted([["ok"] * 8]) as server:
        with pytest.raises(BudgetExceeded, match="--resume"):
            make(server, tmp_path, budget_tokens=100).chat("reward", MSGS, n=8)
        with pytest.raises(BudgetExceeded, match="llm.budget_usd"):
            make(server, tmp_path / "2", budget_usd=0.001).chat("reward", MSGS, n=8)  # ~100 tokens
        assert server.requests == []


def test_dollar_budget_counts_the_worst_case(tmp_path):
    with ChatServer.scripted([["ok"] * 8]) as server:
        make(server, tmp_path, budget_usd=0.05).chat("reward", MSGS, n=8)
        max_tokens = server.requests[0]["max_tokens"]
    price_out = LLMSettings().prices["gpt-4o"][1]
    assert max_tokens < 2048 and 8 * max_tokens * price_out / 1e6 <= 0.05


def test_replies_capped_by_the_budget_are_not_cached(tmp_path):
    """A resumed run with a bigger budget must ask again, not reuse a reply cut short."""
    def client(server, budget_tokens, run_dir):
        settings = LLMSettings(base_url=server.base_url, budget_tokens=budget_tokens)
        return LLM(settings, run_dir=run_dir, cache_dir=tmp_path / "cache")

    with ChatServer.scripted(["short", "full"]) as server:
        assert client(server, 500, tmp_path / "a").chat("action", MSGS) == ["short"]
        assert client(server, 10**6, tmp_path / "b").chat("action", MSGS) == ["full"]
