"""Pieces every command shares: the console, settings from flags, and actionable error exits."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lifelong import worlds
from lifelong.config import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

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


def fail(message: str, code: int = 2) -> NoReturn:
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


def _bar(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


@contextlib.contextmanager
def progress_bar(description: str, console: Console = err_console) -> Iterator[Callable[[int, int], None]]:
    """A bar driven by ``(done, total)`` calls (a library's ``on_progress``).

    It goes to stderr and vanishes when done, so stdout keeps only the command's result, and a
    command whose output is not a terminal prints no bar at all.
    """
    with _bar(console) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def tracked(items: Iterable[T], description: str, total: int | None = None,
            console: Console = err_console) -> Iterator[T]:
    """``items``, with a bar that advances as they are consumed (as :func:`progress_bar`)."""
    with _bar(console) as progress:
        yield from progress.track(items, total=total, description=description)


def exit_on_sigterm() -> None:
    """SIGTERM (``kill``, a scheduler, a container stopping) ends a command as Ctrl-C does: as an
    exception (``SystemExit(143)``), so ``finally`` blocks stop the embedded server a run started
    and close its files. Python's default dies at once and leaves that server running with no owner."""
    import signal

    def on_term(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
