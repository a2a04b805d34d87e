"""`lifelong solve "TASK" --library DIR`: solve one task in a new world with a learned skill library.

Voyager's zero-shot protocol (see :mod:`lifelong.minecraft.solve`): a fresh world (``--seed``), an
empty inventory, the task decomposed into subgoals by the curriculum, the loop run on them with
re-planning after a failure, until the task succeeds or ``--iterations`` rounds are spent.
``--no-library`` is the ablation. Resumes like ``explore`` (``--run-dir DIR --resume``).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.common import (
    ConfigOption,
    ModelOption,
    console,
    err_console,
    fail,
    print_json,
    settings_with_llm,
    user_errors,
)
from lifelong.cli.explore import PLANNER_NOTE, RUN_META, _meta, _one_torch_thread
from lifelong.config import Settings
from lifelong.embeddings import EmbedderUnavailable
from lifelong.library import LibraryError
from lifelong.llm import LLM, LLMError
from lifelong.loop import Loop
from lifelong.minecraft.curriculum import (
    Curriculum,
    CurriculumError,
    DecompositionError,
    QACache,
    SolveCurriculum,
)
from lifelong.minecraft.solve import (
    SolveWorld,
    UnknownItem,
    check_library,
    check_task,
    library_skills,
    private_library,
    report,
)
from lifelong.runs import RunDir, RunExists, atomic_write_json

RESULT = "result.json"


def free_port() -> int:
    """A port nothing listens on, so a solve never collides with another run's server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llm_backend(settings: Settings, llm: str | None, quiet: bool) -> Iterator[str]:
    """Point the settings at the LLM (the planner served on localhost when asked or when none is
    configured); yields the label that the run records."""
    backend = llm or ("planner" if not settings.llm.base_url else settings.llm.base_url)
    if backend != "planner":
        settings.llm.base_url = backend
        yield f"{backend} ({settings.llm.models.action})"
        return
    from lifelong.minecraft.planner import LABEL, planner_models, serve_planner

    server = serve_planner()
    settings.llm.base_url = server.base_url
    settings.llm.models = settings.llm.models.model_validate(planner_models())
    settings.llm.cache = False
    if not quiet:
        err_console.print(PLANNER_NOTE)
    try:
        yield LABEL
    finally:
        server.close()


@user_errors(LLMError, LibraryError, EmbedderUnavailable, CurriculumError, DecompositionError, UnknownItem,
             RunExists, FileNotFoundError, OSError)
def solve(
    task: Annotated[str | None, typer.Argument(help="the task, e.g. 'Craft 1 diamond pickaxe' (kept on --resume)")] = None,
    library: Annotated[Path | None, typer.Option("--library", help="skill library learned by explore "
                                                 "(default: settings.library_dir); it is copied, never changed")] = None,
    no_library: Annotated[bool, typer.Option("--no-library", help="ablation: no skills retrieved or stored")] = False,
    iterations: Annotated[int, typer.Option(help="prompting iterations (rounds) at most")] = 50,
    seed: Annotated[int | None, typer.Option(help="seed of the new world (default 0)")] = None,
    llm: Annotated[str | None, typer.Option(
        "--llm", help="'planner' (deterministic back end, not a language model) or an OpenAI-compatible URL; "
        "default: llm.base_url, else the planner")] = None,
    model: ModelOption = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="run folder (default: runs/solve-<time>)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in --run-dir")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object: success, iterations, subgoals, skills")] = False,
    rounds: Annotated[int, typer.Option(help="rounds per subgoal before it counts as failed (then re-plan)")] = 4,
    port: Annotated[int | None, typer.Option(help="port of the embedded server (default: a free one)")] = None,
    difficulty: Annotated[str, typer.Option(help="embedded server difficulty (as explore)")] = "peaceful",
    program_timeout: Annotated[float, typer.Option(help="seconds (game time) one program may run")] = 180.0,
    time_scale: Annotated[float | None, typer.Option(
        "--time-scale", help="K: the world and the bot run K times faster than real time "
        "(default: the run's, else [minecraft] time_scale, 1)")] = None,
    config: ConfigOption = None,
) -> None:
    """Solve one task in a new world from an empty inventory: decompose it, then reuse the library's skills."""
    settings = settings_with_llm(config, model=model)
    _one_torch_thread()
    path = run_dir or Path(settings.run_dir) / time.strftime("solve-%Y%m%d-%H%M%S")
    if resume and run_dir is None:
        fail("--resume needs the --run-dir of the solve to continue")
    run = RunDir(path, resume=resume)
    meta = _meta(run, {"task": task, "seed": seed, "no_library": no_library or None, "llm_arg": llm,
                       "source_library": str(library) if library else None, "time_scale": time_scale})
    if not meta.get("task"):
        fail("give the task, e.g. lifelong solve 'Craft 1 diamond pickaxe' --library library")
    meta.setdefault("seed", 0)
    meta.setdefault("time_scale", settings.minecraft.time_scale)  # a resumed run keeps its own
    meta.setdefault("source_library", None if meta.get("no_library") else str(settings.library_dir))
    meta["port"] = port
    atomic_write_json(run.path / RUN_META, meta)
    check = check_task(meta["task"])
    source = None if meta.get("no_library") else Path(meta["source_library"])
    if source is not None and not (run.path / "library" / "skills").exists():
        check_library(source)
    with llm_backend(settings, meta.get("llm_arg"), quiet=json_out) as label:
        meta["llm"] = label
        result = _solve(settings, run, meta, source, check, iterations, rounds, program_timeout, json_out, difficulty)
    atomic_write_json(run.path / RESULT, result)
    if json_out:
        print_json(result)
    else:
        _print(result)


def _solve(settings: Settings, run: RunDir, meta: dict[str, Any], source: Path | None, check: Any,
           iterations: int, rounds: int, program_timeout: float, quiet: bool, difficulty: str) -> dict[str, Any]:
    from lifelong.minecraft.action import ActionAgent
    from lifelong.minecraft.critic import Critic
    from lifelong.minecraft.describe import SkillManager
    from lifelong.minecraft.env import MinecraftEnv
    from lifelong.minecraft.server import EmbeddedServer

    lib = private_library(run, source, settings.embedder)
    before = set(lib.names()) if not run.resumed else set(meta.get("library_skills") or lib.names())
    meta["library_skills"] = sorted(before)
    atomic_write_json(run.path / RUN_META, meta)
    llm = LLM(settings.llm, run_dir=run.path, cache_dir=None if "planner" in meta["llm"] else Path(".cache/lifelong/llm"))
    qa = Curriculum(llm, qa=QACache(run.path / "qa", lib.embedder), seed=int(meta["seed"]))
    skills = None if source is None else (lambda task: library_skills(lib, task))
    cur = SolveCurriculum(llm, meta["task"], skills=skills, context=qa.context)
    server = EmbeddedServer(world_dir=run.path / "world", port=_port(run.path / "world", meta.get("port")),
                            seed=int(meta["seed"]), time_scale=meta["time_scale"], difficulty=difficulty)
    say = (lambda e: None) if quiet else (lambda e: _progress(e, iterations))
    try:
        server.ensure_running()
        env = MinecraftEnv(server, timeout_s=program_timeout)
        world = SolveWorld(env=env, curriculum=cur, action=ActionAgent(llm, lib), critic=Critic(llm),
                           skills=SkillManager(llm, lib), library=lib, run=run, seed=int(meta["seed"]),
                           store=source is not None)
        loop = Loop(world, run, rounds=rounds, on_event=say)
        if not run.resumed:
            run.log("solve_started", task=meta["task"], llm=meta["llm"], seed=meta["seed"], library=meta.get("source_library"),
                    critic=check.method, iterations=iterations, time_scale=meta["time_scale"])
        try:
            world.start()
            loop.run(iterations)
        finally:
            env.close()
    finally:
        server.stop()
    result = report(run, cur, before, check, stored=source is not None)
    result.update(seed=meta["seed"], library=meta.get("source_library"), llm=meta["llm"], max_iterations=iterations,
                  time_scale=meta["time_scale"])
    run.log("solve_done", **{k: result[k] for k in ("success", "iterations", "replans")})
    return result


def _port(world: Path, asked: int | None) -> int:
    """The port of this run's server when a killed run left it running, else --port, else a free one."""
    from lifelong.minecraft.server import EmbeddedServer

    alive = EmbeddedServer(world_dir=world).status(probe=False) if world.exists() else None
    return (alive.port if alive and alive.running else None) or asked or free_port()


def _progress(e: dict[str, Any], iterations: int) -> None:
    if e.get("event") == "round":
        console.print(f"[{e['task']}] round {e['round']}: "
                      f"{'success' if e['success'] else 'failed'} {(e.get('feedback') or '')[:140]}", highlight=False)
    elif e.get("event") == "task_proposed":
        console.print(f"subgoal: {e['task']}", highlight=False)


def _print(result: dict[str, Any]) -> None:
    status = "[green]solved[/]" if result["success"] else "[red]not solved[/]"
    console.print(f"{result['task']}: {status} in {result['iterations']} iterations "
                  f"({result['replans']} re-plans), run {result['run_dir']}")
    for s in result["subgoals"]:
        console.print(f"  {'[green]done[/]' if s['done'] else '-   '} {s['task']}", highlight=False)
    console.print(f"reused skills: {', '.join(result['reused_skills']) or 'none'}")
    console.print(f"new skills: {', '.join(result['new_skills']) or 'none'}"
                  + ("" if result["new_skills_stored"] else " (not stored: --no-library)"))
    if result["critic_note"]:
        console.print(f"[yellow]note[/]: {result['critic_note']}")
