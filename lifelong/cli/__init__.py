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
from lifelong.cli import (
    bench,
    explore,
    report,
    robot,
    run_program,
    serve,
    server,
    skills,
    solve,
)
from lifelong.cli.common import exit_on_sigterm

app.command("bench")(bench.bench_command)
app.command("explore")(explore.explore)
app.command("report")(report.report)
app.command("run-program")(run_program.run_program)
app.command("serve")(serve.serve)
app.command("solve")(solve.solve)
app.command("train-robot")(robot.train_robot)

app.add_typer(server.app, name="server")
app.add_typer(skills.app, name="skills")
# --- end of command registration ---


def main() -> None:
    """Console-script entry point: library warnings (an index rebuilt, ...) print via rich."""
    import logging

    from rich.logging import RichHandler

    from lifelong.cli.common import err_console

    handler = RichHandler(console=err_console, show_time=False, show_path=False)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler])
    exit_on_sigterm()
    app()
