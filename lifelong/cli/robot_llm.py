"""The LLM half of `lifelong train-robot TASK`: the Eureka loop with progress bars.

`train-robot` without ``--reward`` lands here (lifelong/cli/robot.py declares the flags); this
module turns flags into settings, opens the run folder and the library, runs
:func:`lifelong.robotics.eureka.run_eureka` and prints either a summary or one JSON object.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lifelong.cli.common import console, err_console, fail, print_json, settings_with_llm
from lifelong.events import Event, Resumed, RoundDone
from lifelong.llm import LLM, LLMError, LLMNotConfigured
from lifelong.robotics import events as eureka
from lifelong.runs import RunDir, RunExists

NO_LLM_HINT = ("\nTo train without an LLM, give a reward: --reward human, --reward sparse or "
               "--reward FILE.py (a compute_reward(state) file; it must pass the same sandbox).")


def card_ref(task: str) -> str:
    """What worker processes load: a card file as an absolute path, else the task name."""
    path = Path(task)
    return str(path.resolve()) if path.suffix in (".yaml", ".yml") and path.exists() else task


def default_run_dir(base: Path, task: str) -> Path:
    return base / f"eureka-{Path(task).stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def _open_library(path: Path | None, settings: Any) -> Any:
    """The skill library: stores the result and supplies similar rewards as examples."""
    from lifelong.library import SkillLibrary

    return SkillLibrary(path or settings.library_dir, embedder=settings.embedder)


class Bars:
    """Rich progress: one bar for iterations, one for the trainings of the current phase."""

    def __init__(self, iterations: int, json_mode: bool) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
            console=err_console if json_mode else console, transient=json_mode,
        )
        self.rounds = self.progress.add_task("iterations", total=iterations, note="")
        self.jobs = self.progress.add_task("candidates", total=0, note="", visible=False)

    def __call__(self, event: Event) -> None:
        p = self.progress
        match event:
            case Resumed(iteration=iteration):
                p.update(self.rounds, completed=iteration)
            case eureka.RewardsRequested(samples=samples):
                p.update(self.rounds, note=f"asking the LLM for {samples} rewards")
            case eureka.TrainingStarted(round=rnd, jobs=jobs, rejected=rejected):
                p.update(self.jobs, description=f"iteration {rnd + 1}: training", total=jobs, completed=0,
                         visible=True, note=f"{rejected} rejected by the sandbox")
            case eureka.CandidateRejected(round=rnd, index=index, reason=reason):
                self._failed(rnd, index, "rejected", reason)
            case eureka.CandidateTrained(round=rnd, index=index, ok=ok, reason=reason):
                p.advance(self.jobs)
                if not ok:
                    self._failed(rnd, index, "failed", reason)
            case RoundDone(score=score):
                p.advance(self.rounds)
                p.update(self.rounds, note=f"best F {score:.4g}" if score is not None else "no reward trained")
            case eureka.FinalEvaluationStarted(methods=methods, seeds=seeds):
                p.update(self.jobs, description="final evaluation", completed=0, total=methods * seeds,
                         note="best vs human vs sparse")
            case eureka.FinalRunDone():
                p.advance(self.jobs)

    def _failed(self, rnd: int, index: int, verb: str, reason: str) -> None:
        last = (reason.splitlines() or [""])[-1][:160]
        self.progress.console.print(f"  iteration {rnd + 1}, candidate {index} {verb}: {last}",
                                    highlight=False, markup=False)


def run_llm_loop(task: str, *, iterations: int, samples: int, budget: int | None,
                 seeds: int, workers: int | None, temperature: float, examples: int,
                 run_dir: Path | None, resume: bool, library: Path | None, config: Path | None,
                 llm_url: str | None, model: str | None, budget_usd: float | None,
                 as_json: bool, log_dir: Path | None = None, replay: Path | None = None,
                 ray: str | None = None) -> None:
    """`train-robot TASK` without --reward: design the reward with the LLM (Eureka)."""
    from lifelong import cluster
    from lifelong.robotics.eureka import EurekaConfig, RunMismatch, run_eureka
    from lifelong.robotics.tasks import TaskCardError, UnknownTaskError, load_card

    settings = settings_with_llm(config, llm_url, model, budget_usd)
    try:
        card = load_card(task)
    except (TaskCardError, UnknownTaskError) as exc:
        fail(str(exc))
    if not settings.llm.base_url:
        fail(LLMNotConfigured().args[0] + NO_LLM_HINT)
    if resume and run_dir is None:
        fail("--resume needs --run-dir: the folder of the run to continue")
    ray = ray or settings.ray.address
    if ray:  # before the run folder exists: an unreachable cluster leaves nothing behind
        try:
            cluster.connect(ray)
        except cluster.ClusterError as exc:
            fail(str(exc))
    folder = run_dir or default_run_dir(settings.run_dir, task)
    try:
        run = RunDir(folder, resume=resume)
    except (RunExists, FileNotFoundError) as exc:
        fail(str(exc))
    if replay is not None and not replay.is_dir():
        fail(f"--replay {replay}: no such run folder")
    llm = LLM(settings.llm, run_dir=run.path, replay_dir=replay)
    eureka = EurekaConfig(samples=samples, steps=budget, seeds=seeds, workers=workers,
                          temperature=temperature, examples=examples,
                          log_dir=str(log_dir.resolve()) if log_dir else None,
                          ray=ray, ray_retries=settings.ray.max_retries)
    lib = _open_library(library, settings)
    bars = Bars(iterations, as_json)
    try:
        with bars.progress:
            summary = run_eureka(card_ref(task), llm, run, iterations, eureka, lib, on_event=bars)
    except LLMError as exc:
        fail(f"{exc}\nThe run is saved in {run.path}; continue it with "
             f"--run-dir {run.path} --resume")
    except (RunMismatch, cluster.ClusterError) as exc:
        fail(str(exc))
    if as_json:
        print_json(summary)
    else:
        _print(summary, card.success.name)


def _print(s: dict[str, Any], metric: str) -> None:
    console.print(f"[bold]{s['task']}[/] Eureka: {s['iterations']} iterations, {s['candidates']} "
                  f"candidates ({s['rejected']} rejected or failed), {s['env_steps']:,} env steps, "
                  f"{s['wall_s']:.1f}s")
    for method, m in s.get("methods", {}).items():
        console.print(f"  {method:7s} {metric} {m['success_mean']:.4g} ± {m['success_std']:.3g}   "
                      f"return {m['return_mean']:.4g}")
    score = s.get("human_normalized_score")
    console.print(f"  human-normalised score: {'n/a' if score is None else f'{score:.3f}'}"
                  + (f"  ({s['note']})" if s.get("note") else ""))
    console.print(f"  results: {s['run_dir']}/results.md" + (
        f"; library: {', '.join(s['library'])}" if s.get("library") else ""))
