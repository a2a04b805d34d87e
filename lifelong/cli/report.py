"""`lifelong report RUN [--json]`: what an exploration run achieved, and what it cost.

Prints the run's set-up (back end, curriculum, ablations, world style), unique items, tech-tree
milestones (the iteration each was reached), skills learned, distance, tokens and dollars per
role; writes ``items.png`` (unique items vs iterations, titled with the set-up) into the run
folder (or ``--plot``). ``--json`` prints the same as one JSON object for scripts and notebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.common import console, print_json, user_errors
from lifelong.minecraft import metrics


@user_errors(FileNotFoundError, OSError)
def report(
    run: Annotated[Path, typer.Argument(help="run folder of `lifelong explore` (its --run-dir)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    plot: Annotated[Path | None, typer.Option(help="where to write the PNG (default: RUN/items.png)")] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="do not write the PNG")] = False,
) -> None:
    """Metrics of an exploration run: items over iterations, milestones, skills, distance, cost."""
    data = metrics.compute(run)
    if not no_plot:
        data["plot"] = str(metrics.plot(data, plot or run / "items.png"))
    if as_json:
        print_json(data)
        return
    table = Table(title=f"run {run}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("LLM", str(data.get("llm") or "-"))
    table.add_row("curriculum", str(data.get("curriculum") or "auto"))
    table.add_row("ablations", ", ".join(data["ablations"]) or "none (Voyager's full design)")
    table.add_row("world style", str(data["world_style"]))
    table.add_row("iterations", str(data["iterations"]))
    if "workers" in data:  # `explore --workers N`: the fleet's rounds in time order, then each explorer
        table.add_row("explorers", f"{len(data['workers'])}: " + ", ".join(
            f"{name} {w['iterations']} iterations, {w['unique_items_count']} items"
            for name, w in data["workers"].items()) + f"; {data['unique_items_per_hour']} unique items an hour")
    table.add_row("unique items", f"{data['unique_items_count']}: {', '.join(data['unique_items'])}")
    for key, it in data["milestones"].items():
        table.add_row(key.replace("_", " "), f"iteration {it}" if it is not None else "not reached")
    table.add_row("skills learned", f"{data['skills_learned']}: {', '.join(data['skills'])}")
    table.add_row("tasks", f"{len(data['tasks_completed'])} completed, {len(data['tasks_failed'])} failed")
    table.add_row("distance", f"{data['distance']} blocks")
    table.add_row("tokens", f"{data['tokens']:,}  " + ", ".join(f"{r} {t:,}" for r, t in data["tokens_by_role"].items()))
    table.add_row("cost", f"${data['cost_usd']:.4f}")
    if (line := metrics.tick_rate_line(data)) is not None:
        table.add_row("time scale", line)
    if "plot" in data:
        table.add_row("plot", data["plot"])
    console.print(table)
