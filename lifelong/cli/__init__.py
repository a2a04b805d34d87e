"""The `lifelong` command line: one typer sub-app (or command) per module in this package."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lifelong",
    help="Lifelong-learning agents: Minecraft exploration (Voyager) and robot reward design (Eureka).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# --- command registration: one line per command group (keep this block sorted) ---
from lifelong.cli import skills  # noqa: E402

app.add_typer(skills.app, name="skills")
# --- end of command registration ---


def main() -> None:
    """Console-script entry point."""
    app()
