"""`lifelong explore`: Voyager's lifelong exploration loop in Minecraft, with a live display.

The flags become an :class:`lifelong.minecraft.run.ExploreConfig` for
:func:`lifelong.minecraft.run.run_explore`, which starts (or reuses) the embedded server for the
run's world, connects the bot and runs the generic loop with the Minecraft world; this module
renders its events. The LLM is any OpenAI-compatible endpoint, or ``--llm planner``: the
deterministic planner back end served on localhost (not a language model), which is also what
runs when no endpoint is configured. ``--resume`` continues a run exactly where its checkpoint is.
``--no-library``, ``--no-critic``, ``--no-feedback`` and ``--curriculum random`` are Voyager's
ablations and ``--world-style natural`` the world without a guaranteed grove and outcrop
(:mod:`lifelong.minecraft.ablations`); the run keeps them on ``--resume``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from lifelong.cli.common import (
    BudgetUSDOption,
    ConfigOption,
    ModelOption,
    console,
    err_console,
    fail,
    settings_with_llm,
    user_errors,
)
from lifelong.cli.fleet import FleetDisplay, is_fleet_run
from lifelong.embeddings import EmbedderUnavailable
from lifelong.events import Event, LLMUsage, Resumed, TaskDone, TaskProposed
from lifelong.library import LibraryError
from lifelong.llm import LLMError
from lifelong.minecraft import metrics
from lifelong.minecraft.curriculum import CurriculumError
from lifelong.minecraft.events import (
    BackendChosen,
    ProgramRun,
    RunOpened,
    ServerStarting,
    ViewerStarted,
)
from lifelong.minecraft.limits import PROGRAM_TIMEOUT_S, VIEWER_PORT
from lifelong.minecraft.run import ExploreConfig, run_explore
from lifelong.minecraft.server import ServerError
from lifelong.runs import RunDir, RunExists

# The options explore and solve share (one declaration each):
LLMChoiceOption = Annotated[str | None, typer.Option(
    "--llm", help="'planner' (deterministic back end, not a language model) or an OpenAI-compatible URL; "
    "default: llm.base_url, else the planner")]
DifficultyOption = Annotated[str, typer.Option(help="embedded server difficulty")]
ProgramTimeoutOption = Annotated[float, typer.Option(help="game seconds one program may run")]


def time_scale_option(note: str = "") -> Any:
    return typer.Option("--time-scale", help="K: the embedded world and the bot run K times faster than real "
                        f"time (default: the run's, else [minecraft] time_scale, 1){note}")


PLANNER_NOTE = ("[bold yellow]planner[/]: using the deterministic planner back end (recipes and drop "
                "tables from minecraft-data) — it is NOT a language model.")
NO_ENDPOINT = "No LLM endpoint is configured (llm.base_url / --llm). "


def planner_note(event: BackendChosen, explain: bool = True) -> None:
    """Say loudly that the planner is not a language model (and, if asked, why it was chosen)."""
    if event.planner:
        err_console.print(f"{NO_ENDPOINT if explain and event.implicit else ''}{PLANNER_NOTE}")


def ablation_flags(**flags: bool) -> tuple[str, ...] | None:
    """The ablations the flags ask for (``no_critic`` -> 'no-critic'); None when none is given, so a
    resumed run keeps its own."""
    chosen = tuple(name.replace("_", "-") for name, on in flags.items() if on)
    return chosen or None


class Display:
    """The live panel: progress, task, items, milestones, skills and cost, refreshed per event.

    On a terminal the panel starts with the loop's first event (after the server is up); elsewhere
    each round and task prints one line.
    """

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations
        self.backend = "-"
        self.task = "-"
        self.iteration = 0
        self.items: dict[str, int] = {}
        self.new_items: list[str] = []
        self.milestones: dict[str, Any] = {k: None for k in metrics.MILESTONES}
        self.skills: list[str] = []
        self.last = ""
        self.tokens = 0
        self.cost = 0.0
        self.live: Live | None = None

    def __call__(self, event: Event) -> None:
        match event:
            case BackendChosen():
                self.backend = event.label
                planner_note(event)
            case ServerStarting(world=world, reused=reused):
                console.print(f"using the running embedded server for {world}" if reused
                              else f"starting the embedded Minecraft server (world {world}) ...")
            case ViewerStarted(url=url):
                console.print(f"viewer: {url}")
            case RunOpened(path=path, resumed=True):
                self.replay(RunDir(Path(path), resume=True).events())
            case LLMUsage(tokens=tokens, cost_usd=cost):
                self.tokens, self.cost = tokens, cost
            case _:
                self.apply(event)
                self.show(event)
        if self.live is not None:
            self.live.update(self.render())

    def apply(self, event: Event) -> None:
        """Update the panel's state from a loop event."""
        match event:
            case TaskProposed(task=task):
                self.task = task
            case ProgramRun():
                self.iteration = event.iteration
                self.items = event.inventory or {}
                self.new_items = list(event.new_items or []) + self.new_items
                self.milestones = event.milestones or self.milestones
                self.last = ("[green]success[/]" if event.success else "[red]failed[/]") + \
                    f" {(event.critique or event.error or '')[:160]}"
            case TaskDone(skill=skill) if skill and skill not in self.skills:
                self.skills.append(skill)

    def show(self, event: Event) -> None:
        """Start the panel on a terminal; elsewhere print the event's line."""
        if not isinstance(event, (TaskProposed, ProgramRun, TaskDone, Resumed)):
            return
        if console.is_terminal:
            if self.live is None:
                self.live = Live(self.render(), console=console, refresh_per_second=4)
                self.live.start()
        elif (line := self.line(event)) is not None:
            console.print(line, highlight=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def replay(self, records: list[dict[str, Any]]) -> None:
        """Catch up with a resumed run's earlier events, silently."""
        for record in records:
            if (event := Event.parse(record)) is not None:
                self.apply(event)

    def line(self, event: Event) -> str | None:
        match event:
            case ProgramRun():
                return (f"[{event.iteration}/{self.iterations}] {event.task} round {event.round}: "
                        f"{'success' if event.success else 'failed'} items={len(self.items)} "
                        f"new={','.join(event.new_items or []) or '-'}")
            case TaskDone():
                return f"  task '{event.task}' {'done' if event.success else 'failed'} skill={event.skill}"
            case Resumed(iteration=iteration):
                return f"resumed at iteration {iteration}"
        return None

    def render(self) -> Panel:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("iteration", Group(f"{self.iteration} / {self.iterations}",
                                         ProgressBar(total=self.iterations, completed=self.iteration, width=40)))
        table.add_row("task", self.task)
        table.add_row("last round", self.last or "-")
        table.add_row("inventory", ", ".join(f"{k} {v}" for k, v in sorted(self.items.items())) or "empty")
        table.add_row("new items", ", ".join(self.new_items[:12]) or "-")
        table.add_row("milestones", "  ".join(
            f"{k.split('_')[0]}: {'[green]' + str(v) + '[/]' if v is not None else '-'}"
            for k, v in ((k, self.milestones.get(k)) for k in metrics.MILESTONES)))
        table.add_row("skills", f"{len(self.skills)}: {', '.join(self.skills[-6:])}")
        table.add_row("LLM", f"{self.backend}  tokens {self.tokens:,}  cost ${self.cost:.4f}")
        return Panel(Group(table), title="lifelong explore (Minecraft)")


@user_errors(LLMError, LibraryError, EmbedderUnavailable, CurriculumError, RunExists, FileNotFoundError, OSError,
             ServerError)
def explore(
    iterations: Annotated[int, typer.Option(help="prompting iterations (rounds) in all, resumed ones included")] = 40,
    llm: LLMChoiceOption = None,
    model: ModelOption = None,
    budget_usd: BudgetUSDOption = None,
    curriculum: Annotated[str | None, typer.Option(
        help="'auto' (the automatic curriculum; with the planner, its recipe walk), 'random' (random items of the "
        "recipe graph: Voyager's ablation) or a static one: a name under curricula/minecraft/ (tech-tree, starter) or a YAML path")] = None,
    seed: Annotated[int | None, typer.Option(help="world seed and curriculum seed")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="run folder (default: runs/explore-<time>)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --run-dir (or the latest)")] = False,
    viewer: Annotated[bool, typer.Option("--viewer", help="serve a browser view of the bot (prismarine-viewer)")] = False,
    viewer_port: Annotated[int, typer.Option(help="port of the --viewer page")] = VIEWER_PORT,
    library: Annotated[Path | None, typer.Option("--library", help="skill library (default: settings.library_dir)")] = None,
    rounds: Annotated[int, typer.Option(help="rounds (programs) per task before it counts as failed")] = 4,
    world: Annotated[Path | None, typer.Option(help="world folder (default: <run-dir>/world)")] = None,
    port: Annotated[int | None, typer.Option(help="port of the embedded server")] = None,
    server: Annotated[str | None, typer.Option(help="HOST:PORT of a running server to use instead of the embedded one")] = None,
    difficulty: DifficultyOption = "peaceful",
    program_timeout: ProgramTimeoutOption = PROGRAM_TIMEOUT_S,
    time_scale: Annotated[float | None, time_scale_option("; only 1 with --server")] = None,
    no_library: Annotated[bool, typer.Option(
        "--no-library", help="ablation: no skills retrieved into the prompt, none stored")] = False,
    no_critic: Annotated[bool, typer.Option(
        "--no-critic", help="ablation: no self-verification; a program that ran without error is a success")] = False,
    no_feedback: Annotated[bool, typer.Option(
        "--no-feedback", help="ablation: no execution error, chat log or critique in the next round's prompt")] = False,
    world_style: Annotated[str | None, typer.Option(
        help="'grove' (default: trees and an ore outcrop at spawn) or 'natural' (no such guarantee, for "
        "benchmarks); kept on --resume")] = None,
    workers: Annotated[int, typer.Option(
        help="explorers sharing one skill library and curriculum memory, each with its own world and server "
        "(RUN/worker-<i>); kept on --resume")] = 1,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="run the --workers on this Ray cluster (HOST:PORT or auto) instead of local processes")] = None,
    config: ConfigOption = None,
) -> None:
    """Explore Minecraft: propose a task, write a program, run and judge it, keep the skill. Repeat."""
    settings = settings_with_llm(config, model=model, budget_usd=budget_usd)
    options = ExploreConfig(
        iterations=iterations, llm=llm, curriculum=curriculum, seed=seed, run_dir=run_dir, resume=resume,
        viewer=viewer, viewer_port=viewer_port, library=library, rounds=rounds, world=world, port=port,
        server=server, difficulty=difficulty, program_timeout=program_timeout, time_scale=time_scale,
        ablations=ablation_flags(no_library=no_library, no_critic=no_critic, no_feedback=no_feedback),
        world_style=world_style, workers=workers, ray=ray)
    display = FleetDisplay(iterations) if workers != 1 or ray or is_fleet_run(options, settings) else Display(iterations)
    try:
        report = run_explore(options, settings, on_event=display)
    except RuntimeError as exc:
        from lifelong.cluster import ClusterUnreachable
        from lifelong.minecraft.env import EnvError
        from lifelong.minecraft.fleet import ExplorerError

        if isinstance(exc, (EnvError, ServerError, ClusterUnreachable, ExplorerError)):  # no Node, port taken, ...
            fail(str(exc))
        raise
    finally:
        display.close()
    console.print(f"run {report['run_dir']}: {report['iterations']} iterations, {report['unique_items_count']} "
                  f"unique items, {report['skills_learned']} skills, milestones {report['milestones']}, "
                  f"{report['tokens']} tokens, ${report['cost_usd']:.4f}  (lifelong report {report['run_dir']})")
    if (line := metrics.tick_rate_line(report)) is not None:
        console.print(line, highlight=False)
