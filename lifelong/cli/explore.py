"""`lifelong explore`: Voyager's lifelong exploration loop in Minecraft, with a live display.

Starts (or reuses) the embedded server for the run's world, connects the bot, and runs the generic
loop with the Minecraft world. The LLM is any OpenAI-compatible endpoint, or ``--llm planner``: the
deterministic planner back end served on localhost (not a language model), which is also what
runs when no endpoint is configured. ``--resume`` continues a run exactly where its checkpoint is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
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
from lifelong.config import Settings
from lifelong.embeddings import EmbedderUnavailable
from lifelong.library import LibraryError, SkillLibrary
from lifelong.llm import LLM, LLMError
from lifelong.loop import Loop
from lifelong.minecraft import metrics
from lifelong.minecraft.curriculum import (
    Curriculum,
    CurriculumError,
    QACache,
    StaticCurriculum,
    curriculum_path,
)
from lifelong.minecraft.server import ServerError, real_time_only
from lifelong.runs import RunDir, RunExists, atomic_write_json

RUN_META = "run.json"
PLANNER_NOTE = ("[bold yellow]planner[/]: using the deterministic planner back end (recipes and drop "
                "tables from minecraft-data) — it is NOT a language model.")


def _run_dir(run_dir: Path | None, resume: bool, settings: Settings) -> Path:
    if run_dir is not None:
        return run_dir
    root = Path(settings.run_dir)
    if resume:
        runs = sorted(root.glob("explore-*"), key=lambda p: p.stat().st_mtime)
        if not runs:
            raise FileNotFoundError(f"no explore run under {root} to resume; pass --run-dir")
        return runs[-1]
    return root / time.strftime("explore-%Y%m%d-%H%M%S")


def _meta(run: RunDir, given: dict[str, Any]) -> dict[str, Any]:
    """A resumed run keeps its seed, curriculum, world and library unless a flag overrides them."""
    path = run.path / RUN_META
    saved = {}
    if run.resumed and path.exists():
        import json

        saved = json.loads(path.read_text())
    meta = {**saved, **{k: v for k, v in given.items() if v is not None}}
    atomic_write_json(path, meta)
    return meta


class Display:
    """The live panel: task, iteration, items, milestones, skills and cost, refreshed per event."""

    def __init__(self, iterations: int, backend: str) -> None:
        self.iterations = iterations
        self.backend = backend
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

    def event(self, e: dict[str, Any], llm: LLM | None = None) -> None:
        kind = e.get("event")
        if kind == "task_proposed":
            self.task = e["task"]
        elif kind == "step":
            self.iteration = e["iteration"]
            self.items = e.get("inventory") or {}
            self.new_items = (e.get("new_items") or []) + self.new_items
            self.milestones = e.get("milestones") or self.milestones
            self.last = ("[green]success[/]" if e["success"] else "[red]failed[/]") + \
                f" {(e.get('critique') or e.get('error') or '')[:160]}"
        elif kind == "task_done" and e.get("skill") and e["skill"] not in self.skills:
            self.skills.append(e["skill"])
        if llm is not None:
            self.tokens, self.cost = llm.ledger.tokens, llm.ledger.cost_usd
        if self.live is not None:
            self.live.update(self.render())
        elif kind in ("step", "task_done", "resumed"):
            console.print(self.line(e), highlight=False)

    def replay(self, events: list[dict[str, Any]]) -> None:
        """Catch up with a resumed run's earlier events, silently."""
        for e in events:
            if e.get("event") in ("task_proposed", "step", "task_done"):
                live, self.live = self.live, None
                printing = console.quiet
                console.quiet = True
                try:
                    self.event(e)
                finally:
                    console.quiet = printing
                    self.live = live

    def line(self, e: dict[str, Any]) -> str:
        if e.get("event") == "step":
            return (f"[{e['iteration']}/{self.iterations}] {e['task']} round {e['round']}: "
                    f"{'success' if e['success'] else 'failed'} items={len(self.items)} "
                    f"new={','.join(e.get('new_items') or []) or '-'}")
        if e.get("event") == "task_done":
            return f"  task '{e['task']}' {'done' if e['success'] else 'failed'} skill={e.get('skill')}"
        return f"resumed at iteration {e.get('iteration')}"

    def render(self) -> Panel:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("iteration", f"{self.iteration} / {self.iterations}")
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


def _one_torch_thread() -> None:
    """Embeddings share 2 cores with Node, the server and the bot: one torch thread is ~9x faster
    under that contention (0.09 s vs 0.8 s per description, measured here)."""
    import torch

    torch.set_num_threads(1)


def _curriculum(name: str, llm: LLM, library: SkillLibrary, run: RunDir, seed: int) -> Any:
    if name == "auto":
        return Curriculum(llm, qa=QACache(run.path / "qa", library.embedder), seed=seed)
    path = curriculum_path(name)
    helper = Curriculum(llm, qa=QACache(run.path / "qa", library.embedder), seed=seed)
    return StaticCurriculum(path, context=helper.context)


@user_errors(LLMError, LibraryError, EmbedderUnavailable, CurriculumError, RunExists, FileNotFoundError, OSError,
             ServerError)
def explore(
    iterations: Annotated[int, typer.Option(help="prompting iterations (rounds) in all, resumed ones included")] = 40,
    llm: Annotated[str | None, typer.Option(
        "--llm", help="'planner' (deterministic back end, not a language model) or an OpenAI-compatible URL; "
        "default: llm.base_url, else the planner")] = None,
    model: ModelOption = None,
    budget_usd: BudgetUSDOption = None,
    curriculum: Annotated[str | None, typer.Option(
        help="'auto' (the automatic curriculum) or a static one: a name under curricula/minecraft/ "
        "(tech-tree, starter) or a YAML path")] = None,
    seed: Annotated[int | None, typer.Option(help="world seed and curriculum seed")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="run folder (default: runs/explore-<time>)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --run-dir (or the latest)")] = False,
    viewer: Annotated[bool, typer.Option("--viewer", help="serve a browser view of the bot (prismarine-viewer)")] = False,
    viewer_port: Annotated[int, typer.Option(help="port of the --viewer page")] = 3007,
    library: Annotated[Path | None, typer.Option("--library", help="skill library (default: settings.library_dir)")] = None,
    rounds: Annotated[int, typer.Option(help="rounds (programs) per task before it counts as failed")] = 4,
    world: Annotated[Path | None, typer.Option(help="world folder (default: <run-dir>/world)")] = None,
    port: Annotated[int | None, typer.Option(help="port of the embedded server")] = None,
    server: Annotated[str | None, typer.Option(help="HOST:PORT of a running server to use instead of the embedded one")] = None,
    difficulty: Annotated[str, typer.Option(help="embedded server difficulty")] = "peaceful",
    program_timeout: Annotated[float, typer.Option(help="game seconds one program may run")] = 180.0,
    time_scale: Annotated[float | None, typer.Option(
        "--time-scale", help="K: the embedded world and the bot run K times faster than real time "
        "(default: the run's, else [minecraft] time_scale, 1); only 1 with --server")] = None,
    config: ConfigOption = None,
) -> None:
    """Explore Minecraft: propose a task, write a program, run and judge it, keep the skill. Repeat."""
    settings = settings_with_llm(config, model=model, budget_usd=budget_usd)
    if server and not resume:  # before anything starts; a resumed run checks its own settings in _explore
        real_time_only(time_scale if time_scale is not None else settings.minecraft.time_scale, f"--server {server}")
    _one_torch_thread()
    backend = llm or ("planner" if not settings.llm.base_url else settings.llm.base_url)
    planner_server = None
    if backend == "planner":
        from lifelong.minecraft.planner import LABEL, planner_models, serve_planner

        planner_server = serve_planner()
        settings.llm.base_url = planner_server.base_url
        settings.llm.models = settings.llm.models.model_validate(planner_models())
        settings.llm.cache = False
        note = "" if llm else "No LLM endpoint is configured (llm.base_url / --llm). "
        err_console.print(f"{note}{PLANNER_NOTE}")
        label = LABEL
    else:
        settings.llm.base_url = backend
        label = f"{backend} ({settings.llm.models.action})"
    try:
        _explore(settings, label, iterations, curriculum, seed, run_dir, resume, viewer, viewer_port,
                 library, rounds, world, port, server, difficulty, program_timeout, backend, time_scale)
    except RuntimeError as exc:
        from lifelong.minecraft.env import EnvError
        from lifelong.minecraft.server import ServerError

        if isinstance(exc, (EnvError, ServerError)):  # no Node, port taken, bot not an operator, ...
            fail(str(exc))
        raise
    finally:
        if planner_server is not None:
            planner_server.close()


def _explore(settings: Settings, label: str, iterations: int, curriculum: str | None, seed: int | None,
             run_dir: Path | None, resume: bool, viewer: bool, viewer_port: int, library: Path | None,
             rounds: int, world: Path | None, port: int | None, server: str | None, difficulty: str,
             program_timeout: float, backend: str, time_scale: float | None = None) -> None:
    from lifelong.minecraft.action import ActionAgent
    from lifelong.minecraft.critic import Critic
    from lifelong.minecraft.describe import SkillManager
    from lifelong.minecraft.env import MinecraftEnv
    from lifelong.minecraft.server import DEFAULT_PORT, EmbeddedServer
    from lifelong.minecraft.world import MinecraftWorld

    path = _run_dir(run_dir, resume, settings)
    run = RunDir(path, resume=resume)
    meta = _meta(run, {"seed": seed, "curriculum": curriculum, "llm": label, "backend": backend,
                       "library": str(library) if library else None, "world": str(world) if world else None,
                       "port": port, "server": server, "time_scale": time_scale})
    meta.setdefault("seed", 0)
    meta.setdefault("time_scale", settings.minecraft.time_scale)  # a resumed run keeps its own
    meta.setdefault("curriculum", "auto")
    meta.setdefault("library", str(settings.library_dir))
    meta.setdefault("world", str(run.path / "world"))
    atomic_write_json(run.path / RUN_META, meta)
    lib = SkillLibrary(meta["library"], embedder=settings.embedder)
    llm = LLM(settings.llm, run_dir=run.path, cache_dir=None if backend == "planner" else Path(".cache/lifelong/llm"))
    cur = _curriculum(meta["curriculum"], llm, lib, run, int(meta["seed"]))
    embedded = None
    started_here = False
    if meta.get("server"):
        real_time_only(meta["time_scale"], f"--server {meta['server']}")
        target: Any = meta["server"]
    else:
        embedded = EmbeddedServer(world_dir=meta["world"], port=int(meta.get("port") or DEFAULT_PORT),
                                  seed=int(meta["seed"]), difficulty=difficulty, time_scale=meta["time_scale"])
        started_here = not embedded.status(probe=False).running
        if started_here or meta.get("owns_server"):  # a resumed run stops the server its first part started
            meta["owns_server"] = started_here = True
            atomic_write_json(run.path / RUN_META, meta)
        console.print(f"starting the embedded Minecraft server (world {meta['world']}) ..." if started_here
                      else f"using the running embedded server for {meta['world']}")
        embedded.ensure_running()
        target = embedded
    env = MinecraftEnv(target, timeout_s=program_timeout)
    display = Display(iterations, label)
    if run.resumed:
        display.replay(run.events())
    world_obj = MinecraftWorld(env=env, curriculum=cur, action=ActionAgent(llm, lib), critic=Critic(llm),
                               skills=SkillManager(llm, lib), library=lib, run=run, seed=int(meta["seed"]),
                               on_step=lambda record: display.event(record, llm))
    loop = Loop(world_obj, run, rounds=rounds, on_event=lambda e: display.event(e, llm))
    try:
        if not run.resumed or not run.events("run_started"):
            run.log("run_started", llm=label, curriculum=meta["curriculum"], seed=meta["seed"],
                    library=meta["library"], world=meta["world"], iterations=iterations,
                    time_scale=env.time_scale)
        world_obj.start()
        if viewer:
            url = env.start_viewer(viewer_port)
            run.log("viewer", url=url, pid=os.getpid())  # `lifelong serve` links a live run's viewer
            console.print(f"viewer: {url}")
        if console.is_terminal:
            with Live(display.render(), console=console, refresh_per_second=4) as live:
                display.live = live
                loop.run(iterations)
        else:
            loop.run(iterations)
    finally:
        display.live = None
        env.close()
        if embedded is not None and started_here:
            embedded.stop()
    report = metrics.compute(run.path)
    console.print(f"run {run.path}: {report['iterations']} iterations, {report['unique_items_count']} unique items, "
                  f"{report['skills_learned']} skills, milestones {report['milestones']}, "
                  f"{report['tokens']} tokens, ${report['cost_usd']:.4f}  (lifelong report {run.path})")
    if (line := metrics.tick_rate_line(report)) is not None:
        console.print(line, highlight=False)
