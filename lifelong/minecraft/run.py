"""Minecraft's entry points: :func:`run_explore` (Voyager's exploration) and :func:`run_solve`
(one task in a new world with a learned library), each driven by a config object.

This is the one place where the Minecraft pieces are wired together (the LLM back end, the run
folder and its ``run.json``, the library, the curriculum, the embedded server, the body, the four
agents and the loop), as :func:`lifelong.robotics.eureka.run_eureka` is for the robots. The CLI,
the tests and the benchmarks all call in here; none of them builds a world by hand.
:func:`minecraft_world` is the wiring of the agents alone, for callers that bring their own body.

Progress goes to ``on_event`` as typed events (:mod:`lifelong.events`,
:mod:`lifelong.minecraft.events`); nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifelong.config import ConfigError, Settings
from lifelong.events import Event, EventSink, LLMUsage, ignore
from lifelong.host import free_port
from lifelong.library import SkillLibrary
from lifelong.llm import LLM
from lifelong.loop import Loop
from lifelong.minecraft import metrics
from lifelong.minecraft.ablations import (
    AUTO,
    DEFAULT_WORLD,
    NO_LIBRARY,
    RANDOM,
    AblationError,
    check_ablations,
    check_curriculum,
    check_world_style,
)
from lifelong.minecraft.action import ActionAgent
from lifelong.minecraft.critic import Critic
from lifelong.minecraft.curriculum import (
    Curriculum,
    QACache,
    SolveCurriculum,
    StaticCurriculum,
    curriculum_path,
)
from lifelong.minecraft.describe import SkillManager
from lifelong.minecraft.events import BackendChosen, RunOpened, ServerStarting, ViewerStarted
from lifelong.minecraft.limits import PROGRAM_TIMEOUT_S, VIEWER_PORT
from lifelong.minecraft.server import real_time_only
from lifelong.minecraft.world import Env, MinecraftWorld, TaskSource
from lifelong.runs import RunDir, atomic_write_json

RUN_META = "run.json"
RESULT = "result.json"
LLM_CACHE = Path(".cache/lifelong/llm")


@dataclass
class ExploreConfig:
    """Knobs of one exploration run (the flags of ``lifelong explore``); None = the run's own
    value on ``--resume``, else the default."""

    iterations: int = 40            # prompting iterations (rounds) in all, resumed ones included
    llm: str | None = None          # 'planner' or an OpenAI-compatible URL (default: settings, else planner)
    curriculum: str | None = None   # 'auto', 'random' or a static curriculum's name or path
    seed: int | None = None         # world seed and curriculum seed
    run_dir: Path | None = None     # default: <settings.run_dir>/explore-<time>; the latest on resume
    resume: bool = False
    viewer: bool = False            # serve a browser view of the bot
    viewer_port: int = VIEWER_PORT
    library: Path | None = None     # default: settings.library_dir
    rounds: int = 4                 # rounds (programs) per task before it counts as failed
    world: Path | None = None       # world folder (default: <run-dir>/world)
    port: int | None = None         # port of the embedded server
    server: str | None = None       # HOST:PORT of a running server instead of the embedded one
    difficulty: str = "peaceful"
    program_timeout: float = PROGRAM_TIMEOUT_S  # game seconds one program may run
    time_scale: float | None = None  # K: the world and the bot run K times faster than real time
    ablations: tuple[str, ...] | None = None  # Voyager's: no-library, no-critic, no-feedback (fixed at the start)
    world_style: str | None = None  # 'grove' (default) or 'natural' (fixed with the world)
    workers: int = 1                # explorers sharing one library and curriculum memory (lifelong.minecraft.fleet)
    ray: str | None = None          # the explorers' Ray cluster (HOST:PORT or 'auto'); None: local processes


@dataclass
class SolveConfig:
    """Knobs of one solve session (the flags of ``lifelong solve``)."""

    task: str | None = None         # kept on --resume
    library: Path | None = None     # the library to copy (default: settings.library_dir)
    no_library: bool = False        # the ablation: no skills retrieved or stored
    iterations: int = 50
    seed: int | None = None
    llm: str | None = None
    run_dir: Path | None = None     # default: <settings.run_dir>/solve-<time>
    resume: bool = False
    rounds: int = 4                 # rounds per subgoal before it counts as failed (then re-plan)
    port: int | None = None         # default: a free one
    difficulty: str = "peaceful"
    program_timeout: float = PROGRAM_TIMEOUT_S
    time_scale: float | None = None


@dataclass(frozen=True)
class Backend:
    """The LLM a run talks to: its label in the run's records, and whether it is the planner."""

    label: str
    planner: bool

    @property
    def cache_dir(self) -> Path | None:
        """The planner's replies are cheap and deterministic: caching them would only hide changes."""
        return None if self.planner else LLM_CACHE


def minecraft_world(llm: LLM, library: SkillLibrary, run: RunDir, env: Env, *, curriculum: TaskSource | None = None,
                    seed: int = 0, on_event: EventSink = ignore, docs: str | None = None,
                    world_class: type[MinecraftWorld] = MinecraftWorld, **extra: Any) -> MinecraftWorld:
    """Voyager's four agents around ``env``: the wiring every Minecraft run shares.

    ``curriculum`` defaults to the automatic one without a question cache; ``docs`` replaces the
    primitives' documentation in the action prompt; ``world_class`` and ``extra`` select a variant
    (:class:`lifelong.minecraft.solve.SolveWorld`).
    """
    action = ActionAgent(llm, library, docs=docs) if docs is not None else ActionAgent(llm, library)
    return world_class(env=env, curriculum=curriculum or Curriculum(llm, qa=None, seed=seed), action=action,
                       critic=Critic(llm), skills=SkillManager(llm, library), library=library, run=run,
                       seed=seed, on_event=on_event, **extra)


@contextlib.contextmanager
def llm_backend(settings: Settings, llm: str | None, on_event: EventSink = ignore) -> Iterator[Backend]:
    """Point ``settings`` at the LLM: ``llm`` (a URL, or 'planner'), else ``llm.base_url``, else the
    deterministic planner served on localhost for the duration (not a language model)."""
    chosen = llm or ("planner" if not settings.llm.base_url else settings.llm.base_url)
    if chosen != "planner":
        settings.llm.base_url = chosen
        backend = Backend(f"{chosen} ({settings.llm.model_for('action')})", planner=False)
        on_event(BackendChosen(backend.label, planner=False))
        yield backend
        return
    from lifelong.minecraft.planner import LABEL, planner_models, serve_planner

    server = serve_planner()
    settings.llm.base_url = server.base_url
    settings.llm.models = settings.llm.models.model_validate(planner_models())
    settings.llm.cache = False
    on_event(BackendChosen(LABEL, planner=True, implicit=llm is None))
    try:
        yield Backend(LABEL, planner=True)
    finally:
        server.close()


def reporting_usage(on_event: EventSink, llm: LLM) -> EventSink:
    """``on_event``, followed by an :class:`LLMUsage` whenever the ledger changed since the last one."""
    last = (llm.ledger.tokens, llm.ledger.cost_usd)

    def sink(event: Event) -> None:
        nonlocal last
        on_event(event)
        now = (llm.ledger.tokens, llm.ledger.cost_usd)
        if now != last:
            last = now
            on_event(LLMUsage(*now))

    return sink


def one_torch_thread() -> None:
    """Embeddings share 2 cores with Node, the server and the bot: one torch thread is ~9x faster
    under that contention (0.09 s vs 0.8 s per description, measured here)."""
    import torch

    torch.set_num_threads(1)


def run_meta(run: RunDir, given: dict[str, Any]) -> dict[str, Any]:
    """The run's ``run.json``: a resumed run keeps its seed, curriculum, world and library unless a
    flag (a value in ``given`` other than None) overrides them."""
    path = run.path / RUN_META
    saved = json.loads(path.read_text()) if run.resumed and path.exists() else {}
    meta = {**saved, **{k: v for k, v in given.items() if v is not None}}
    atomic_write_json(path, meta)
    return meta


# ---- exploration ----------------------------------------------------------------------------

def explore_run_dir(config: ExploreConfig, settings: Settings) -> Path:
    """``--run-dir``, else the latest explore run on ``--resume``, else a new timestamped folder."""
    if config.run_dir is not None:
        return config.run_dir
    root = Path(settings.run_dir)
    if config.resume:
        runs = sorted(root.glob("explore-*"), key=lambda p: p.stat().st_mtime)
        if not runs:
            raise FileNotFoundError(f"no explore run under {root} to resume; pass --run-dir")
        return runs[-1]
    return root / time.strftime("explore-%Y%m%d-%H%M%S")


def curriculum_for(name: str, llm: LLM, library: SkillLibrary, run: RunDir, seed: int) -> Any:
    """The automatic curriculum ('auto'), the random one ('random', Voyager's ablation), or a static
    one; the last two ask the automatic one's questions for each task's context."""
    automatic = Curriculum(llm, qa=QACache(run.path / "qa", library.embedder), seed=seed)
    if name == AUTO:
        return automatic
    if name == RANDOM:
        from lifelong.minecraft.random_curriculum import RandomCurriculum

        return RandomCurriculum(seed=seed, context=automatic.context)
    return StaticCurriculum(curriculum_path(name), context=automatic.context)


def check_explore_config(config: ExploreConfig) -> None:
    """Unknown curricula, ablations and world styles are errors before anything starts; the
    message lists the valid names."""
    if config.curriculum is not None:
        check_curriculum(config.curriculum)
    if config.ablations is not None:
        check_ablations(config.ablations)
    if config.world_style is not None:
        check_world_style(config.world_style)


def run_explore(config: ExploreConfig, settings: Settings, on_event: EventSink = ignore,
                shared: Any = None) -> dict[str, Any]:
    """Run (or resume) an exploration; returns its metrics report (:func:`metrics.compute`) and
    ``run_dir``. ``--workers``/``--ray`` hand over to :func:`lifelong.minecraft.fleet.run_fleet`, whose
    explorers come back here with ``shared`` (:class:`lifelong.minecraft.fleet.Shared`): the fleet's
    library and curriculum memory."""
    if config.workers != 1 or config.ray or (config.resume and _is_fleet(explore_run_dir(config, settings))):
        from lifelong.minecraft.fleet import run_fleet

        check_explore_config(config)
        return run_fleet(config, settings, on_event)
    if config.server and not config.resume:  # before anything starts; a resumed run checks its own
        real_time_only(config.time_scale if config.time_scale is not None else settings.minecraft.time_scale,
                       f"--server {config.server}")
    one_torch_thread()
    with llm_backend(settings, config.llm, on_event) as backend:
        check_explore_config(config)  # before the run folder exists (the back end is named first)
        run = RunDir(explore_run_dir(config, settings), resume=config.resume)
        meta = _explore_meta(run, config, settings, backend)
        on_event(RunOpened(str(run.path), run.resumed))
        _explore(run, meta, config, settings, backend, on_event, shared)
    return {**metrics.compute(run.path), "run_dir": str(run.path)}


def _is_fleet(run_dir: Path) -> bool:
    from lifelong.minecraft.fleet import is_fleet

    return is_fleet(run_dir)


def _explore_meta(run: RunDir, config: ExploreConfig, settings: Settings, backend: Backend) -> dict[str, Any]:
    _keep_fixed(run, config)
    meta = run_meta(run, {
        "seed": config.seed, "curriculum": config.curriculum, "llm": backend.label,
        "backend": "planner" if backend.planner else settings.llm.base_url,
        "library": str(config.library) if config.library else None,
        "world": str(config.world) if config.world else None, "port": config.port, "server": config.server,
        "time_scale": config.time_scale,
        "ablations": list(check_ablations(config.ablations)) if config.ablations is not None else None,
        "world_style": config.world_style})
    meta.setdefault("seed", 0)
    meta.setdefault("ablations", [])
    meta.setdefault("world_style", DEFAULT_WORLD)
    if meta.get("server") and meta["world_style"] != DEFAULT_WORLD:
        raise AblationError(f"--world-style {meta['world_style']} needs the embedded server, which generates the "
                            f"world; --server {meta['server']} serves its own")
    meta.setdefault("time_scale", settings.minecraft.time_scale)  # a resumed run keeps its own
    meta.setdefault("curriculum", "auto")
    meta.setdefault("library", str(settings.library_dir))
    meta.setdefault("world", str(run.path / "world"))
    atomic_write_json(run.path / RUN_META, meta)
    return meta


def _keep_fixed(run: RunDir, config: ExploreConfig) -> None:
    """A resumed run keeps its ablations and world style: changing them midway would make its
    numbers belong to no experiment (and the world's chunks are already generated)."""
    path = run.path / RUN_META
    if not run.resumed or not path.exists():
        return
    saved = json.loads(path.read_text())
    asked = {"ablations": list(check_ablations(config.ablations)) if config.ablations is not None else None,
             "world_style": config.world_style}
    for key, value in asked.items():
        before = saved.get(key, [] if key == "ablations" else DEFAULT_WORLD)
        if value is not None and value != before:
            shown = [", ".join(v) or "none" if isinstance(v, list) else v for v in (before, value)]
            raise AblationError(f"this run was started with {key.replace('_', ' ')} {shown[0]}, not {shown[1]}; "
                                "resume it without the flag, or start a new run (--run-dir)")


def _explore(run: RunDir, meta: dict[str, Any], config: ExploreConfig, settings: Settings, backend: Backend,
             on_event: EventSink, shared: Any = None) -> None:
    from lifelong.minecraft.env import MinecraftEnv

    library = shared.library if shared else SkillLibrary(meta["library"], embedder=settings.embedder)
    llm = LLM(settings.llm, run_dir=run.path, cache_dir=backend.cache_dir)
    curriculum = curriculum_for(meta["curriculum"], llm, library, run, int(meta["seed"]))
    curriculum = shared.curriculum(curriculum) if shared else curriculum
    on_event = reporting_usage(on_event, llm)
    with _explore_server(run, meta, config.difficulty, on_event) as target:
        env = MinecraftEnv(target, timeout_s=config.program_timeout)
        world = minecraft_world(llm, library, run, env, curriculum=curriculum, seed=int(meta["seed"]),
                                on_event=on_event, ablations=meta["ablations"])
        loop = Loop(world, run, rounds=config.rounds, on_event=on_event)
        try:
            if not run.resumed or not run.events("run_started"):
                run.log("run_started", llm=backend.label, curriculum=meta["curriculum"], seed=meta["seed"],
                        library=meta["library"], world=meta["world"], iterations=config.iterations,
                        time_scale=env.time_scale, ablations=meta["ablations"], world_style=meta["world_style"])
            world.start()
            if config.viewer:
                url = env.start_viewer(config.viewer_port)
                run.log("viewer", url=url, pid=os.getpid())  # `lifelong serve` links a live run's viewer
                on_event(ViewerStarted(url))
            loop.run(config.iterations)
        finally:
            env.close()


@contextlib.contextmanager
def _explore_server(run: RunDir, meta: dict[str, Any], difficulty: str, on_event: EventSink) -> Iterator[Any]:
    """The server the bot joins: ``--server``'s, else the run's embedded one, started here if it
    is not running (and then stopped at the end, also by a resumed run whose first part started it)."""
    if meta.get("server"):
        real_time_only(meta["time_scale"], f"--server {meta['server']}")
        yield meta["server"]
        return
    from lifelong.minecraft.server import DEFAULT_PORT, EmbeddedServer

    embedded = EmbeddedServer(world_dir=meta["world"], port=int(meta.get("port") or DEFAULT_PORT),
                              seed=int(meta["seed"]), difficulty=difficulty, time_scale=meta["time_scale"],
                              world_style=meta.get("world_style", DEFAULT_WORLD))
    started_here = not embedded.status(probe=False).running
    if started_here or meta.get("owns_server"):
        meta["owns_server"] = started_here = True
        atomic_write_json(run.path / RUN_META, meta)
    on_event(ServerStarting(str(meta["world"]), reused=not started_here))
    embedded.ensure_running()
    try:
        yield embedded
    finally:
        if started_here:
            embedded.stop()


# ---- solving one task -----------------------------------------------------------------------

def solve_port(world: Path, asked: int | None) -> int:
    """The port of this run's server when a killed run left it running, else --port, else a free one."""
    from lifelong.minecraft.server import EmbeddedServer

    alive = EmbeddedServer(world_dir=world).status(probe=False) if world.exists() else None
    return (alive.port if alive and alive.running else None) or asked or free_port()


def run_solve(config: SolveConfig, settings: Settings, on_event: EventSink = ignore) -> dict[str, Any]:
    """Solve (or resume solving) one task; returns the result that ``result.json`` holds."""
    from lifelong.minecraft.solve import check_library, check_task

    one_torch_thread()
    if config.resume and config.run_dir is None:
        raise ConfigError("--resume needs the --run-dir of the solve to continue")
    run = RunDir(config.run_dir or Path(settings.run_dir) / time.strftime("solve-%Y%m%d-%H%M%S"),
                 resume=config.resume)
    meta = _solve_meta(run, config, settings)
    check = check_task(meta["task"])
    source = None if meta.get("no_library") else Path(meta["source_library"])
    if source is not None and not (run.path / "library" / "skills").exists():
        check_library(source)
    on_event(RunOpened(str(run.path), run.resumed))
    with llm_backend(settings, meta.get("llm_arg"), on_event) as backend:
        meta["llm"] = backend.label
        result = _solve(run, meta, config, settings, backend, source, check, on_event)
    atomic_write_json(run.path / RESULT, result)
    return result


def _solve_meta(run: RunDir, config: SolveConfig, settings: Settings) -> dict[str, Any]:
    meta = run_meta(run, {"task": config.task, "seed": config.seed, "no_library": config.no_library or None,
                          "llm_arg": config.llm, "source_library": str(config.library) if config.library else None,
                          "time_scale": config.time_scale})
    if not meta.get("task"):
        raise ConfigError("give the task, e.g. lifelong solve 'Craft 1 diamond pickaxe' --library library")
    meta.setdefault("seed", 0)
    meta.setdefault("time_scale", settings.minecraft.time_scale)  # a resumed run keeps its own
    meta.setdefault("source_library", None if meta.get("no_library") else str(settings.library_dir))
    meta["port"] = config.port
    atomic_write_json(run.path / RUN_META, meta)
    return meta


def _solve(run: RunDir, meta: dict[str, Any], config: SolveConfig, settings: Settings, backend: Backend,
           source: Path | None, check: Any, on_event: EventSink) -> dict[str, Any]:
    from lifelong.minecraft.env import MinecraftEnv
    from lifelong.minecraft.server import EmbeddedServer
    from lifelong.minecraft.solve import SolveWorld, library_skills, private_library, report

    library = private_library(run, source, settings.embedder)
    before = set(library.names()) if not run.resumed else set(meta.get("library_skills") or library.names())
    meta["library_skills"] = sorted(before)
    atomic_write_json(run.path / RUN_META, meta)
    llm = LLM(settings.llm, run_dir=run.path, cache_dir=backend.cache_dir)
    qa = Curriculum(llm, qa=QACache(run.path / "qa", library.embedder), seed=int(meta["seed"]))
    skills = None if source is None else (lambda task: library_skills(library, task))
    curriculum = SolveCurriculum(llm, meta["task"], skills=skills, context=qa.context)
    server = EmbeddedServer(world_dir=run.path / "world", port=solve_port(run.path / "world", meta.get("port")),
                            seed=int(meta["seed"]), time_scale=meta["time_scale"], difficulty=config.difficulty)
    try:
        server.ensure_running()
        env = MinecraftEnv(server, timeout_s=config.program_timeout)
        world = minecraft_world(llm, library, run, env, curriculum=curriculum, seed=int(meta["seed"]),
                                on_event=on_event, world_class=SolveWorld,
                                ablations=() if source is not None else (NO_LIBRARY,))
        loop = Loop(world, run, rounds=config.rounds, on_event=on_event)
        if not run.resumed:
            run.log("solve_started", task=meta["task"], llm=meta["llm"], seed=meta["seed"],
                    library=meta.get("source_library"), critic=check.method, iterations=config.iterations,
                    time_scale=meta["time_scale"])
        try:
            world.start()
            loop.run(config.iterations)
        finally:
            env.close()
    finally:
        server.stop()
    result = report(run, curriculum, before, check, stored=source is not None)
    result.update(seed=meta["seed"], library=meta.get("source_library"), llm=meta["llm"],
                  max_iterations=config.iterations, time_scale=meta["time_scale"])
    run.log("solve_done", **{k: result[k] for k in ("success", "iterations", "replans")})
    return result
