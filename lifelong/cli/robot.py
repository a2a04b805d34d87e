"""`lifelong train-robot TASK`: train PPO on a robot task card with a given reward.

``--reward human|sparse|FILE.py`` trains one reward with no LLM (baselines, offline use). FILE.py
is untrusted like the LLM's rewards and meets the checks Eureka applies to them: the static rules
(:func:`lifelong.robotics.reward.check_source`), then the guarded, time-limited run inside the
confined worker processes of :mod:`lifelong.robotics.pool`, one per seed. The evaluation is not
Eureka's: here the episodes of all seeds are pooled into one mean and spread, where Eureka's final
scores (:func:`lifelong.robotics.scores.evaluate_methods`) are per seed. A rejection, static or
while training, ends the command with one line naming the rule and what to write instead.

``--ray HOST:PORT|auto`` (or ``[ray] address`` in the settings) runs the trainings, these seeds or
the LLM loop's candidates and final seeds, as Ray tasks on a cluster instead
(:mod:`lifelong.robotics.executor`); ``--json`` then names the executor and each seed's Ray node.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lifelong.cli.common import (
    BudgetUSDOption,
    ConfigOption,
    LibraryOption,
    LLMUrlOption,
    ModelOption,
    console,
    err_console,
    fail,
    print_json,
    user_errors,
)
from lifelong.cluster import ClusterError

if TYPE_CHECKING:  # the robotics stack (gymnasium, MuJoCo, torch) loads only when a command runs
    from lifelong.robotics.executor import Executor
    from lifelong.robotics.tasks import TaskCard

RayOption = Annotated[
    str | None,
    typer.Option("--ray", help="run the trainings as Ray tasks on the cluster whose head is at "
                 "HOST:PORT, or 'auto' (the one `ray start` started here); default: "
                 "[ray] address in the settings, else local processes"),
]
RewardOption = Annotated[
    str | None,
    typer.Option("--reward", help="human | sparse | path to a reward .py file "
                 "(default: the LLM writes the reward: Eureka loop)"),
]


def resolve_reward(spec: str) -> tuple[dict[str, Any], str]:
    """The pool's reward spec and its label for ``--reward`` (human, sparse, or a checked file).

    A file's code passes the static rules here, so a rejection names the file and line before
    any process starts; it runs only in a confined worker (``lifelong.robotics.pool``).
    """
    if spec in ("human", "sparse"):
        return {"kind": spec}, spec
    path = Path(spec)
    if path.suffix != ".py":
        fail(f"--reward must be 'human', 'sparse' or a .py file, not {spec!r}")
    if not path.exists():
        fail(f"reward file {path} does not exist")
    from lifelong.robotics.reward import RewardRejected, read_reward_file

    try:
        return {"kind": "code", "code": read_reward_file(path)}, str(path)
    except RewardRejected as exc:
        fail(f"reward file rejected ({exc.rule}): {exc.reason}")


def _progress(json_mode: bool) -> Progress:
    """Rich progress bars; on stderr when stdout carries JSON."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[sps]} steps/s"), TimeRemainingColumn(),
        console=err_console if json_mode else console, transient=json_mode,
    )


def executor_for(config: Path | None, ray: str | None) -> Executor:
    """The trainings' executor: Ray when --ray or ``[ray] address`` names a cluster, else local.

    Connects now, so an unreachable cluster ends the command before anything else starts.
    """
    from lifelong.config import load_settings
    from lifelong.robotics.executor import make_executor

    settings = load_settings(config).ray
    return make_executor(ray or settings.address, settings.max_retries)


def _train_jobs(jobs: list[dict[str, Any]], names: list[str], threads: int,
                json_mode: bool, executor: Executor) -> list[dict[str, Any]]:
    """Run the jobs in worker processes (seeds side by side when cores allow), with progress bars."""
    from lifelong.host import default_workers
    from lifelong.robotics.pool import job_timeout_s

    with _progress(json_mode) as bars:
        ids = [bars.add_task(name, total=job["steps"], sps="-") for name, job in zip(names, jobs, strict=True)]
        starts: dict[int, float] = {}

        def tick(i: int, done: int, total: int) -> None:
            start = starts.setdefault(i, time.perf_counter())
            sps = done / max(time.perf_counter() - start, 1e-9)
            bars.update(ids[i], completed=done, total=total, sps=f"{sps:,.0f}")

        workers = None if executor.name == "ray" else max(1, default_workers() // threads)
        return executor.run_jobs(jobs, workers=workers, timeout_s=job_timeout_s(jobs[0]["steps"]),
                                 on_progress=tick)


def train_and_evaluate(card: TaskCard, card_ref: str, spec: dict[str, Any], label: str, budget: int,
                       seeds: int, eval_episodes: int = 5, threads: int = 1,
                       log_dir: Path | None = None, save_dir: Path | None = None,
                       json_mode: bool = False, executor: Executor | None = None) -> dict[str, Any]:
    """Train one policy per seed in a worker process, evaluate each deterministically; the summary.

    eval_return_* / success_* pool the evaluation episodes of all seeds (seeds x episodes), so the
    spreads are named ``*_std_episodes``: the LLM loop's summary reports the spread across seeds
    instead (``*_std_seeds``). A reward the sandbox rejects while training ends the command with
    its reason. ``executor``: where the seeds train (default: local worker processes).
    """
    from lifelong.robotics.executor import LocalPool

    executor = executor or LocalPool()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lifelong-train-") as run:
        jobs = [{"card": card_ref, "reward": spec, "steps": budget, "seed": seed, "threads": threads,
                 "eval_seeds": list(range(eval_episodes)), "out_dir": f"{run}/seed{seed}",
                 "log_dir": str(log_dir / f"seed{seed}") if log_dir else None}
                for seed in range(seeds)]
        results = _train_jobs(jobs, [f"{card.name} seed {s}" for s in range(seeds)], threads, json_mode,
                              executor)
        failed = next((r for r in results if not r.get("ok")), None)
        if failed:
            what = "training failed" if failed.get("rule") in ("crash", "sandbox") else "reward rejected"
            fail(f"{what} ({failed.get('rule')}): {failed.get('reason')}")
        if save_dir:
            for seed, result in enumerate(results):
                shutil.copyfile(result["policy"], save_dir / f"{card.name}-seed{seed}.pt")
    return _summary(card, label, results, time.perf_counter() - start, executor.name)


def _summary(card: TaskCard, label: str, results: list[dict[str, Any]], wall_s: float,
             executor: str = "local") -> dict[str, Any]:
    returns = [x for r in results for x in r["eval_returns"]]
    successes = [x for r in results for x in r["eval_success"]]
    per_seed = [{"seed": seed, "eval_return_mean": float(np.mean(r["eval_returns"])),
                 "success_mean": float(np.mean(r["eval_success"])),
                 "max_train_success": r["max_success"],
                 "steps_per_s": r["env_steps"] / max(r["wall_s"], 1e-9),
                 "node_id": r.get("node_id")}  # the Ray node it trained on (None: local)
                for seed, r in enumerate(results)]
    return {
        "task": card.name, "reward": label, "eval_return_mean": float(np.mean(returns)),
        "eval_return_std_episodes": float(np.std(returns)), "success_metric": card.success.name,
        "success_mean": float(np.mean(successes)), "success_std_episodes": float(np.std(successes)),
        "env_steps": sum(r["env_steps"] for r in results), "wall_s": wall_s, "seeds": len(results),
        "executor": executor, "per_seed": per_seed,
    }


def open_card(task: str) -> TaskCard:
    """The task card, or a clean error naming the bad field / listing the known tasks."""
    from lifelong.robotics.tasks import TaskCardError, UnknownTaskError, load_card

    try:
        return load_card(task)
    except (TaskCardError, UnknownTaskError) as exc:
        fail(str(exc))


@user_errors(OSError, ClusterError)
def train_robot(
    task: Annotated[str, typer.Argument(help="task card name, e.g. HalfCheetah (see envs/robots/)")],
    reward: RewardOption = None,
    budget: Annotated[int | None, typer.Option(help="env steps per seed (default: the card's)")] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="training seeds (default: 1 with "
                                                    "--reward, 5 for the LLM loop's final scores)")] = None,
    eval_episodes: Annotated[int, typer.Option(min=1, help="deterministic episodes per seed")] = 5,
    threads: Annotated[int, typer.Option(min=1, help="torch and MuJoCo threads")] = 1,
    log_dir: Annotated[Path | None, typer.Option(help="TensorBoard log folder")] = None,
    save_dir: Annotated[Path | None, typer.Option(help="save policy checkpoints here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    # --- the LLM loop (Eureka), used when no --reward is given: lifelong/cli/robot_llm.py ---
    iterations: Annotated[int, typer.Option(min=1, help="LLM loop: reward-writing iterations")] = 5,
    samples: Annotated[int, typer.Option(min=1, help="LLM loop: reward candidates per iteration")] = 8,
    workers: Annotated[int | None, typer.Option(min=1, help="LLM loop: parallel trainings")] = None,
    temperature: Annotated[float, typer.Option(help="LLM loop: sampling temperature")] = 1.0,
    examples: Annotated[int, typer.Option(min=0, help="LLM loop: library rewards shown as examples")] = 2,
    run_dir: Annotated[Path | None, typer.Option(help="LLM loop: run folder")] = None,
    resume: Annotated[bool, typer.Option(help="LLM loop: continue the run in --run-dir")] = False,
    replay: Annotated[Path | None, typer.Option(help="LLM loop: replay the sampled LLM replies of "
                                                "this earlier run folder (a new run otherwise "
                                                "draws new samples)")] = None,
    library: LibraryOption = None,
    config: ConfigOption = None,
    llm_url: LLMUrlOption = None,
    model: ModelOption = None,
    budget_usd: BudgetUSDOption = None,
    ray: RayOption = None,
) -> None:
    """Design a reward with the LLM (Eureka loop), or train PPO on a given --reward."""
    if reward is None:
        from lifelong.cli.robot_llm import run_llm_loop

        run_llm_loop(task, iterations=iterations, samples=samples, budget=budget, seeds=seeds or 5,
                     workers=workers, temperature=temperature, examples=examples, run_dir=run_dir,
                     resume=resume, library=library, config=config, llm_url=llm_url, model=model,
                     budget_usd=budget_usd, as_json=as_json, log_dir=log_dir, replay=replay,
                     ray=ray)
        return
    card = open_card(task)
    spec, label = resolve_reward(reward)
    executor = executor_for(config, ray)
    summary = train_and_evaluate(card, task, spec, label, budget or card.budget, seeds or 1,
                                 eval_episodes, threads, log_dir, save_dir, as_json, executor)
    if as_json:
        print_json(summary)
    else:
        _print_summary(console, summary)


def _print_summary(out: Console, s: dict[str, Any]) -> None:
    out.print(f"[bold]{s['task']}[/] reward={s['reward']} seeds={s['seeds']} "
              f"env_steps={s['env_steps']:,} wall={s['wall_s']:.1f}s")
    out.print(f"  eval return {s['eval_return_mean']:.1f} ± {s['eval_return_std_episodes']:.1f}   "
              f"{s['success_metric']} {s['success_mean']:.3f} ± {s['success_std_episodes']:.3f}")
