"""`lifelong bench`: a grid of exploration runs (curriculum x ablation x seed x back end).

Flags in, :class:`lifelong.minecraft.bench.Grid` out, :func:`lifelong.minecraft.bench.run_grid`
runs it (through the generic runner, :mod:`lifelong.bench`); this module prints each run as it
ends, the failures with their reasons, the summary table (labelled with the back end: the planner
is "planner (not an LLM)") and the cores' utilisation. Running it again on
the same ``--out`` skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lifelong.bench import BenchError, Outcome, utilisation_line
from lifelong.cli.common import console, err_console, fail, print_json, user_errors
from lifelong.minecraft import bench
from lifelong.minecraft.ablations import AblationError
from lifelong.minecraft.metrics import MILESTONES


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        fail(f"--seeds {text!r} is not a comma-separated list of integers, e.g. --seeds 1,2,3")


def summary_table(summary: list[dict[str, Any]]) -> Table:
    """Per configuration: unique items and milestone iterations, mean ± 95% CI across seeds. The back
    end is named in the caption (each one's label: the planner is "planner (not an LLM)")."""
    backends = sorted({row["backend_label"] for row in summary})
    table = Table(title="unique items at the last iteration; first iteration of each milestone "
                  "(mean ± 95% CI across seeds; seeds that reached it)",
                  caption=f"back end: {', '.join(backends)}")
    several = len(backends) > 1
    for column in ("curriculum", "ablation", *(["back end"] if several else []), "seeds", "it.", "items",
                   *(m.removesuffix("_tool") for m in MILESTONES)):
        table.add_column(column)
    for row in summary:
        table.add_row(row["curriculum"], row["ablation"], *([row["backend_label"]] if several else []),
                      str(row["seeds"]), str(row["iterations"]), row["unique_items"],
                      *(row[m] for m in MILESTONES))
    return table


@user_errors(BenchError, AblationError, OSError)
def bench_command(
    size: Annotated[str, typer.Option(help="preset grid: small (minutes, what CI runs) or full (Voyager's "
                                      "study: hours); the flags below override it")] = "small",
    curriculum: Annotated[list[str] | None, typer.Option(
        "--curriculum", help="a curriculum (repeat for several): auto, random, a name under curricula/minecraft/ "
        "or a YAML path")] = None,
    ablation: Annotated[list[str] | None, typer.Option(
        "--ablation", help="an ablation (repeat for several): none (the full system), no-library, no-critic, "
        "no-feedback")] = None,
    llm: Annotated[list[str] | None, typer.Option(
        "--llm", help="a back end (repeat for several): 'planner' (not an LLM) or an OpenAI-compatible URL")] = None,
    seeds: Annotated[str | None, typer.Option(help="comma-separated seeds, e.g. 1,2,3")] = None,
    iterations: Annotated[int | None, typer.Option(help="prompting iterations per run")] = None,
    time_scale: Annotated[float | None, typer.Option("--time-scale", help="K: worlds run K times real time")] = None,
    world_style: Annotated[str | None, typer.Option("--world-style", help="grove (default) or natural")] = None,
    one_at_a_time: Annotated[bool | None, typer.Option(
        "--one-at-a-time/--product", help="vary one factor at a time from the first curriculum (Voyager's "
        "ablation study) or run every combination")] = None,
    workers: Annotated[int | None, typer.Option(help="runs at once (default: one per core this process may use)")] = None,
    out: Annotated[Path, typer.Option("--out", help="the grid's folder (runs/, table.csv, summary.csv)")] = Path(
        "runs/bench"),
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Benchmark curricula: run a grid of explorations in parallel and summarise it across seeds."""
    grid = bench.preset(size, curricula=curriculum or None, ablations=ablation or None, backends=llm or None,
                        seeds=_seeds(seeds), iterations=iterations, time_scale=time_scale,
                        world_style=world_style, one_at_a_time=one_at_a_time)
    runs = grid.runs()
    shown = err_console if json_out else console
    shown.print(f"{len(runs)} runs of {grid.iterations} iterations into {out} "
                f"(back ends: {', '.join(map(bench.backend_label, grid.backends))})", highlight=False)

    def on_outcome(o: Outcome) -> None:
        note = {"done": f"done in {o.wall_s:.0f} s" + (" (resumed)" if o.resumed else ""),
                "skipped": "finished before, skipped", "failed": "FAILED"}[o.status]
        shown.print(f"  {o.run}: {note}", highlight=False)

    result = bench.run_grid(grid, out, workers=workers, on_outcome=on_outcome)
    summary = bench.summarise(bench.read_table(out), grid)
    if json_out:
        print_json({"summary": summary, "failures": [vars(f) for f in result.failures],
                    "utilisation": result.utilisation, "wall_s": result.wall_s})
    else:
        console.print(summary_table(summary))
        console.print(utilisation_line(result), highlight=False)
    for line in bench.tick_rate_warnings(grid, out / "runs"):
        err_console.print(f"[yellow]{line}[/]", highlight=False)
        console.print(f"table: {out / 'table.csv'}  summary: {out / 'summary.csv'}", highlight=False)
    if result.failures:
        err_console.print(f"[bold red]{len(result.failures)} of {len(runs)} runs failed[/] (the others' results "
                          f"are kept; run the same command again to resume them):\n{result.failure_report()}",
                          highlight=False)
        raise typer.Exit(1)
