"""Pieces every command shares: the console, settings from flags, and actionable error exits."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lifelong import worlds
from lifelong.config import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="settings file (default: ./lifelong.toml if present)")
]
LibraryOption = Annotated[
    Path | None, typer.Option("--library", help="skill library folder (default: settings.library_dir)")
]


LLMUrlOption = Annotated[
    str | None,
    typer.Option("--llm-url", help="OpenAI-compatible endpoint (overrides llm.base_url)"),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="use this model for every LLM role")
]
BudgetUSDOption = Annotated[
    float | None, typer.Option("--budget-usd", help="stop (resumably) after spending this much")
]


def settings_from(config: Path | None = None, **overrides: Any) -> Settings:
    return load_settings(config, **overrides)


def settings_with_llm(
    config: Path | None = None,
    llm_url: str | None = None,
    model: str | None = None,
    budget_usd: float | None = None,
    **overrides: Any,
) -> Settings:
    """Settings with the common LLM flags applied (each None leaves the configured value)."""
    llm: dict[str, Any] = {}
    if llm_url:
        llm["base_url"] = llm_url
    if model:
        llm["models"] = {role: model for role in worlds.roles()}
    if budget_usd is not None:
        llm["budget_usd"] = budget_usd
    return load_settings(config, **({"llm": llm} if llm else {}), **overrides)


def fail(message: str, code: int = 2) -> None:
    """Print an actionable error (no traceback) and exit.

    The message is escaped (``[llm]`` in it is text, not rich markup) and never wrapped, so that
    it stays one line that scripts can grep.
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def user_errors(*kinds: type[Exception]) -> Callable[[F], F]:
    """Turn the listed exception types (and config errors) into a clean error exit."""
    caught = (ConfigError, *kinds)

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except caught as exc:
                fail(str(exc))

        return inner  # type: ignore[return-value]

    return wrap


def print_json(obj: Any) -> None:
    """Machine-readable output goes to stdout alone, unstyled."""
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
