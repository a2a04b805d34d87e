from pathlib import Path

import pytest

from lifelong.config import ConfigError, load_settings


def test_defaults_without_file():
    s = load_settings()
    assert s.llm.base_url is None
    assert s.llm.model_for("curriculum")
    assert s.library_dir == Path("library")


def test_file_env_flags_priority(tmp_path, monkeypatch):
    Path("lifelong.toml").write_text(
        '[llm]\nbase_url = "http://file/v1"\ntemperature = 0.3\n[llm.models]\naction = "file-model"\n'
    )
    assert load_settings().llm.base_url == "http://file/v1"
    assert load_settings().llm.models.action == "file-model"
    monkeypatch.setenv("LIFELONG_LLM__BASE_URL", "http://env/v1")
    s = load_settings()
    assert s.llm.base_url == "http://env/v1"
    assert s.llm.temperature == 0.3  # untouched file values survive an env override of a sibling
    assert s.llm.models.action == "file-model"
    s = load_settings(llm={"base_url": "http://flag/v1/"}, run_dir=Path("elsewhere"))
    assert s.llm.base_url == "http://flag/v1"
    assert s.run_dir == Path("elsewhere")
    assert s.llm.models.action == "file-model"


def test_bad_values_name_the_field():
    Path("lifelong.toml").write_text("[llm]\ntemperature = 9\n")
    with pytest.raises(ConfigError, match="llm.temperature"):
        load_settings()


def test_unknown_key_and_bad_toml():
    Path("lifelong.toml").write_text("nonsense = 1\n")
    with pytest.raises(ConfigError, match="nonsense"):
        load_settings()
    Path("lifelong.toml").write_text("[llm\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_missing_explicit_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("nope.toml")


def test_unknown_role():
    with pytest.raises(ConfigError, match="roles are"):
        load_settings().llm.model_for("poet")


def test_common_llm_flags_override_every_role():
    from lifelong.cli.common import settings_with_llm

    s = settings_with_llm(llm_url="http://127.0.0.1:1/v1", model="qwen", budget_usd=3.0)
    assert s.llm.base_url == "http://127.0.0.1:1/v1" and s.llm.budget_usd == 3.0
    assert {s.llm.model_for(r) for r in ("curriculum", "action", "critic", "reward")} == {"qwen"}
