"""Minecraft's curriculum benchmark: a grid of ``lifelong explore`` runs, in parallel, resumable, tidied.

Voyager's study measures curricula and ablations by unique items over prompting iterations and the
iteration of each tech-tree milestone; this module says what that grid is and what comes out of it.
Running it is the generic runner's job (:func:`lifelong.bench.run_specs`: ``workers`` at a time,
resumable, failures collected); here are the Minecraft specifics it is given and the tables made of
what the runs wrote.

A grid is every combination of curriculum x ablation x seed x back end. Each combination is one
``lifelong explore`` subprocess with its own run folder, its own skill library and its own
embedded server on a free port, so a run that crashes costs only itself, and the runs share
nothing that could make one seed's result depend on another's. Runs go ``workers`` at a time,
by default one per core this process may use (``os.sched_getaffinity``): a run is one Python
process plus its Node server and bot, about one core's work at ``--time-scale`` 4-8. A run that
started and stopped is continued with ``lifelong explore --resume`` (it checkpoints every round).

Outputs, in the grid's folder (written atomically):

    runs/<run>/          each run's folder (events.jsonl, library/, world/, bench.stderr ...)
    table.csv            tidy: a row per (run, iteration), the configuration columns first
    summary.csv/.json    a row per configuration: mean ± 95% CI (Student's t) across seeds of the
                         unique items at the last iteration and of each milestone's iteration
                         (over the seeds that reached it, with how many did)
    grid.json            the grid, the failures, wall time and the cores' utilisation

Back ends are ``planner`` (the deterministic planner, **not an LLM**: every label says so) or
an OpenAI-compatible URL. Names come from :mod:`lifelong.minecraft.ablations`, which ``explore``
checks too, so an unknown ablation or curriculum is refused with the list of valid ones before
anything starts.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lifelong.bench import (
    BenchError,
    GridResult,
    Outcome,
    csv_text,
    fmt_ci,
    lifelong_argv,
    mean_ci,
    run_specs,
)
from lifelong.host import free_port
from lifelong.minecraft import ablations as vocab
from lifelong.minecraft.metrics import MILESTONES, Tracker
from lifelong.minecraft.planner import LABEL as PLANNER_LABEL
from lifelong.runs import EVENTS_FILE, atomic_write_json, atomic_write_text, read_events

NONE = "none"                    # the ablation column of the full system
PLANNER = "planner"
CONFIG_COLUMNS = ("curriculum", "ablation", "backend")
TABLE_COLUMNS = ("run", *CONFIG_COLUMNS, "seed", "iteration", "unique_items", "skills", "success",
                 "library_calls", *MILESTONES)


def backend_label(backend: str) -> str:
    """What figures and tables call a back end: the planner is never passed off as an LLM."""
    return PLANNER_LABEL if backend == PLANNER else backend



def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", Path(text).stem if text.endswith((".yaml", ".yml")) else text).strip("-")


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid."""

    curriculum: str
    ablation: str
    seed: int
    backend: str

    @property
    def name(self) -> str:
        return f"{_slug(self.curriculum)}_{self.ablation}_{_slug(self.backend)}_s{self.seed}"

    @property
    def config(self) -> tuple[str, str, str]:
        return self.curriculum, self.ablation, self.backend


@dataclass
class Grid:
    """What to run: the product of the four lists, each run for ``iterations`` prompting iterations."""

    curricula: Sequence[str] = (vocab.AUTO,)
    ablations: Sequence[str] = (NONE,)
    seeds: Sequence[int] = (1, 2)
    backends: Sequence[str] = (PLANNER,)
    iterations: int = 40
    time_scale: float = 8.0
    world_style: str = vocab.DEFAULT_WORLD
    one_at_a_time: bool = False     # Voyager's ablation study: see runs()

    def __post_init__(self) -> None:
        """Refuse unknown names up front, listing the valid ones (``explore`` would, one run at a time)."""
        for name in self.curricula:
            vocab.check_curriculum(name)
        unknown = [a for a in self.ablations if a not in valid_ablations()]
        if unknown:
            raise BenchError(f"unknown ablation {', '.join(map(repr, unknown))}: valid ones are "
                             f"{', '.join(valid_ablations())} ('{NONE}' is the full system)")
        vocab.check_world_style(self.world_style)
        if not (self.curricula and self.ablations and self.seeds and self.backends):
            raise BenchError("the grid is empty: give at least one curriculum, ablation ('none' for the full "
                             "system), seed and back end")
        if self.iterations < 1:
            raise BenchError(f"iterations must be at least 1, not {self.iterations}")

    def runs(self) -> list[RunSpec]:
        """Every combination; with ``one_at_a_time``, one factor varied at a time from the first
        curriculum with no ablation (the other curricula run without ablation, each ablation runs
        with the first curriculum), which is how Voyager's paper ablates."""
        cells = list(itertools.product(self.curricula, self.ablations))
        if self.one_at_a_time:
            cells = [(c, a) for c, a in cells if a == NONE or c == self.curricula[0]]
        return [RunSpec(c, a, int(s), b) for (c, a), b, s in itertools.product(cells, self.backends, self.seeds)]


# The notebooks' sizes (``$LIFELONG_BENCH_SIZE``). small fits CI: 2 runs at a time on 2 cores,
# a few minutes in all. full is Voyager's study: its curricula and ablations, 3 seeds, 160
# iterations, in a natural world (no grove planted at spawn).
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"curricula": (vocab.AUTO, "tech-tree"), "ablations": (NONE,), "seeds": (1, 2),
              "iterations": 8, "time_scale": 8.0},
    "full": {"curricula": (vocab.AUTO, vocab.RANDOM, "tech-tree"), "ablations": (NONE, *vocab.ABLATIONS),
             "seeds": (1, 2, 3), "iterations": 160, "time_scale": 8.0, "world_style": vocab.NATURAL_WORLD,
             "one_at_a_time": True},
}


def preset(size: str, **overrides: Any) -> Grid:
    """The grid of a size, with any field overridden."""
    if size not in PRESETS:
        raise BenchError(f"unknown size {size!r}: use one of {', '.join(PRESETS)}")
    return Grid(**{**PRESETS[size], **{k: v for k, v in overrides.items() if v is not None}})


def valid_ablations() -> list[str]:
    return [NONE, *vocab.ABLATIONS]


def explore_command(spec: RunSpec, grid: Grid, run_dir: Path, resume: bool) -> list[str]:
    """The ``lifelong explore`` command of one run. A resumed run keeps its own port (its server may
    still be up); the rest is passed again, which the run folder accepts as the same values."""
    cmd = [*lifelong_argv(), "explore", "--run-dir", str(run_dir), "--library", str(run_dir / "library"),
           "--iterations", str(grid.iterations), "--seed", str(spec.seed), "--curriculum", spec.curriculum,
           "--llm", spec.backend, "--time-scale", f"{grid.time_scale:g}"]
    if spec.ablation != NONE:
        cmd.append(f"--{spec.ablation}")
    if grid.world_style != vocab.DEFAULT_WORLD:
        cmd += ["--world-style", grid.world_style]
    return [*cmd, "--resume"] if resume else [*cmd, "--port", str(free_port())]


Command = Callable[[RunSpec, Grid, Path, bool], list[str]]


def run_grid(grid: Grid, out: Path, workers: int | None = None, command: Command | None = None,
             on_outcome: Callable[[Outcome], None] | None = None, env: dict[str, str] | None = None,
             poll_s: float = 0.2, runs: Path | None = None) -> GridResult:
    """Run every unfinished run of ``grid`` under ``runs`` (default ``out/runs/``), ``workers`` at a
    time, then write the table and the summary into ``out``. Failures are collected, never raised:
    the others' results stand. Two grids may share ``runs`` (a run is the same run in both) and
    keep their own ``out``."""
    out = Path(out)
    runs = Path(runs) if runs is not None else out / "runs"
    command = command or explore_command
    result = run_specs(grid.runs(), runs, lambda spec, run_dir, resume: command(spec, grid, run_dir, resume),
                       grid.iterations, workers=workers, on_outcome=on_outcome, env=env, poll_s=poll_s)
    write_outputs(grid, out, result, runs)
    return result


# ---- the tidy table and the summary ---------------------------------------------------------

def run_rows(spec: RunSpec, run_dir: Path) -> list[dict[str, Any]]:
    """A row per iteration of one run, from its event log alone (a round redone after --resume
    replaces the lost one, as in :func:`lifelong.minecraft.metrics.compute`)."""
    steps: dict[int, dict[str, Any]] = {}
    skills_after: dict[int, int] = {}
    skills: set[str] = set()
    last = 0
    for e in read_events(run_dir / EVENTS_FILE):
        if e.get("event") == "step":
            last = int(e["iteration"])
            steps[last] = e
        elif e.get("event") == "skill_stored":
            skills.add(e["name"])
            skills_after[last] = len(skills)
    tracker, rows, skill_count = Tracker(), [], 0
    for iteration in sorted(steps):
        e = steps[iteration]
        tracker.update(iteration, e.get("inventory") or {}, None)
        skill_count = skills_after.get(iteration, skill_count)
        rows.append({"run": spec.name, "curriculum": spec.curriculum, "ablation": spec.ablation,
                     "backend": spec.backend, "seed": spec.seed, "iteration": iteration,
                     "unique_items": len(tracker.first_seen), "skills": skill_count,
                     "success": bool(e.get("success")), "library_calls": len(e.get("calls") or []),
                     **{m: tracker.milestones[m] is not None for m in MILESTONES}})
    return rows


def tidy_rows(grid: Grid, out: Path, runs: Path | None = None) -> list[dict[str, Any]]:
    runs = Path(runs) if runs is not None else Path(out) / "runs"
    return [row for spec in grid.runs() for row in run_rows(spec, runs / spec.name)]


def summarise(rows: Iterable[dict[str, Any]], grid: Grid) -> list[dict[str, Any]]:
    """A row per configuration: unique items at the last iteration and each milestone's first
    iteration, mean ± 95% CI across the seeds that have rows (milestones: that reached it)."""
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault(row["run"], []).append(row)
    summary = []
    for config in dict.fromkeys(spec.config for spec in grid.runs()):
        runs = [by_run[s.name] for s in grid.runs() if s.config == config and s.name in by_run]
        entry: dict[str, Any] = dict(zip(CONFIG_COLUMNS, config, strict=True))
        entry.update(backend_label=backend_label(config[2]), seeds=len(runs),
                     iterations=min((r[-1]["iteration"] for r in runs), default=0))
        items = [r[-1]["unique_items"] for r in runs]
        entry["unique_items_mean"], entry["unique_items_ci95"] = mean_ci(items)
        entry["unique_items"] = fmt_ci(*mean_ci(items))
        for m in MILESTONES:
            firsts = [next(x["iteration"] for x in r if x[m]) for r in runs if any(x[m] for x in r)]
            mean, half = mean_ci(firsts)
            entry[f"{m}_mean"], entry[f"{m}_ci95"], entry[f"{m}_reached"] = mean, half, len(firsts)
            entry[m] = f"{fmt_ci(mean, half)} ({len(firsts)}/{len(runs)})" if firsts else f"- (0/{len(runs)})"
        summary.append(entry)
    return summary


def write_outputs(grid: Grid, out: Path, result: GridResult | None = None,
                  runs: Path | None = None) -> list[dict[str, Any]]:
    """table.csv, summary.csv/.json and grid.json in ``out``; returns the summary."""
    rows = tidy_rows(grid, out, runs)
    summary = summarise(rows, grid)
    atomic_write_text(out / "table.csv", csv_text(rows, TABLE_COLUMNS))
    atomic_write_text(out / "summary.csv", csv_text(summary, list(summary[0]) if summary else CONFIG_COLUMNS))
    atomic_write_json(out / "summary.json", summary)
    record: dict[str, Any] = {"grid": asdict(grid), "runs": [s.name for s in grid.runs()],
                              "runs_dir": str(runs if runs is not None else out / "runs")}
    if result is not None:
        record.update(wall_s=result.wall_s, runs_wall_s=result.runs_wall_s, workers=result.workers,
                      utilisation=result.utilisation,
                      outcomes=[asdict(o) for o in result.outcomes])
    atomic_write_json(out / "grid.json", record)
    return summary


def read_table(out: Path) -> list[dict[str, Any]]:
    """table.csv back as typed rows (numbers as int, flags as bool)."""
    def typed(key: str, value: str) -> Any:
        if key in ("seed", "iteration", "unique_items", "skills", "library_calls"):
            return int(value)
        if key == "success" or key in MILESTONES:
            return value == "True"
        return value

    with (Path(out) / "table.csv").open(newline="") as handle:
        return [{k: typed(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]


def summary_json(summary: list[dict[str, Any]]) -> str:
    return json.dumps(summary, indent=2, default=str)


# ---- Voyager's published figures ------------------------------------------------------------

# Voyager's paper (Wang et al. 2023), Table 1 (tech-tree milestones: prompting iterations, mean ±
# std over 3 seeds, and how many seeds reached it) and its headline (63 unique items in 160
# iterations): GPT-4, real Minecraft 1.19. The other ablations (random or manual curriculum, no
# self-verification, no environment feedback) are curves in the paper's ablation figure; their
# numbers were not found in the references used here, so they are left empty, not estimated.
NOT_TRANSCRIBED = "not transcribed (a curve in the paper's figure)"
VOYAGER_PUBLISHED: dict[tuple[str, str], dict[str, str]] = {
    (vocab.AUTO, NONE): {"label": "Voyager (GPT-4)", "unique_items": "63 at iteration 160",
                         "wooden_tool": "6 ± 2 (3/3)", "stone_tool": "11 ± 2 (3/3)",
                         "iron_tool": "21 ± 7 (3/3)", "diamond_tool": "102 (1/3)"},
    (vocab.AUTO, vocab.NO_LIBRARY): {"label": "Voyager w/o skill library (GPT-4)", "unique_items": NOT_TRANSCRIBED,
                                     "wooden_tool": "7 ± 2", "stone_tool": "9 ± 4", "iron_tool": "29 ± 11",
                                     "diamond_tool": "- (not reached)"},
    (vocab.RANDOM, NONE): {"label": "Voyager w/o automatic curriculum (random)"},
    ("tech-tree", NONE): {"label": "Voyager w/ manually designed curriculum"},
    (vocab.AUTO, vocab.NO_CRITIC): {"label": "Voyager w/o self-verification"},
    (vocab.AUTO, vocab.NO_FEEDBACK): {"label": "Voyager w/o environment feedback"},
}


def beside_voyager(summary: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each configuration of ours, then Voyager's published row for the same ablation (if any)."""
    out = []
    for row in summary:
        out.append({"configuration": f"{row['curriculum']} / {row['ablation']}, {row['backend_label']}, "
                                     f"{row['seeds']} seeds, {row['iterations']} it.",
                    "unique_items": row["unique_items"], **{m: row[m] for m in MILESTONES}})
        published = VOYAGER_PUBLISHED.get((row["curriculum"], row["ablation"]))
        if published:
            out.append({"configuration": f"  published: {published['label']}",
                        "unique_items": published.get("unique_items", NOT_TRANSCRIBED),
                        **{m: published.get(m, "n/a") for m in MILESTONES}})
    return out


def curves(rows: Iterable[dict[str, Any]], key: str = "unique_items") -> dict[tuple[str, str, str], dict[str, list]]:
    """Per configuration, ``key`` over iterations: mean and 95% CI half-width across the seeds
    that reached each iteration (iterations every seed reached, so the mean is of the same seeds)."""
    values: dict[tuple[str, str, str], dict[int, list[float]]] = {}
    seeds: dict[tuple[str, str, str], set[int]] = {}
    for row in rows:
        config = (row["curriculum"], row["ablation"], row["backend"])
        values.setdefault(config, {}).setdefault(row["iteration"], []).append(float(row[key]))
        seeds.setdefault(config, set()).add(row["seed"])
    out = {}
    for config, by_iteration in values.items():
        its = [i for i in sorted(by_iteration) if len(by_iteration[i]) == len(seeds[config])]
        stats = [mean_ci(by_iteration[i]) for i in its]
        out[config] = {"iteration": its, "mean": [m for m, _ in stats],
                       "ci95": [h if h is not None else 0.0 for _, h in stats], "seeds": len(seeds[config])}
    return out


def tick_rate_warnings(grid: Grid, runs: Path) -> list[str]:
    """Runs whose world or bot fell behind the grid's time scale (a loaded machine): their results
    are not comparable with the others' (the bot gets stuck when it cannot keep up)."""
    from lifelong.minecraft import metrics

    out = []
    for spec in grid.runs():
        run_dir = Path(runs) / spec.name
        if (run_dir / EVENTS_FILE).exists():
            line = metrics.tick_rate_line(metrics.compute(run_dir))
            if line and "warning" in line:
                out.append(f"{spec.name}: {line}")
    return out
