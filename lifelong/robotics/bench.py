"""The Eureka benchmark: reward design on several task cards, resumable, in one tidy record.

For each task, :func:`lifelong.robotics.eureka.run_eureka` runs in its own folder
(``<out>/<task>/``); a task whose ``results.json`` exists is read back, an interrupted one is
resumed from its checkpoint. What comes out per task is Eureka's own measures: the F of the best
reward in each iteration (the max over that iteration's candidates of F's max over training), and
the final evaluation of the sparse, human and Eureka rewards on seeds unseen by selection, with
the human-normalised score ``(F_eureka - F_sparse) / |F_human - F_sparse|``.

The back end is an OpenAI-compatible URL (a real LLM), or, offline, **scripted replies** served
by the local chat server (:mod:`lifelong.openai_server`): for iteration ``i`` and sample ``k`` the
reply is the card's human reward plus ``w_ik`` times its sparse reward. That is a hand-made
family of rewards, **not an LLM**, and :data:`SCRIPTED_LABEL` says so wherever a result is shown:
it checks the pipeline (sandbox, K trainings in parallel, reflection, final evaluation, scores)
end to end, not how well a model writes rewards.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

from lifelong.robotics.tasks import load_card
from lifelong.runs import CHECKPOINT_FILE, RunDir

SCRIPTED = "scripted"
SCRIPTED_LABEL = "scripted rewards: human + w x sparse (not an LLM)"
WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 0.25, 8.0, 0.1)  # w per sample; iteration i shifts the start by i

# The notebooks' sizes. small: one task whose human and sparse rewards differ, a short budget.
# full: every such card at its own budget, Eureka's 5 iterations, 4 samples, 5 evaluation seeds.
PRESETS: dict[str, dict[str, Any]] = {
    "small": {"tasks": ["InvertedDoublePendulum"], "iterations": 2, "samples": 2, "steps": 8192, "seeds": 2},
    "full": {"tasks": ["InvertedDoublePendulum", "Hopper", "HalfCheetah", "Walker2d", "Swimmer", "Reacher",
                       "Ant"], "iterations": 5, "samples": 4, "steps": None, "seeds": 5},
}


def backend_label(backend: str) -> str:
    return SCRIPTED_LABEL if backend == SCRIPTED else backend


def _as_function(source: str, name: str) -> str:
    """A card's ``compute_reward`` renamed, so that two of them can live in one reply."""
    renamed, count = re.subn(r"def compute_reward\(", f"def {name}(", source, count=1)
    if not count:
        raise ValueError(f"the reward has no `def compute_reward(`: {source[:80]!r}")
    return renamed


def scripted_reward(task: str, weight: float) -> str:
    """The card's human reward plus ``weight`` x its sparse reward, as one ``compute_reward``."""
    card = load_card(task)
    return "\n".join([
        "import numpy as np", "", _as_function(card.human_reward.strip(), "human_reward"), "",
        _as_function(card.sparse_reward.strip(), "sparse_reward"), "",
        "def compute_reward(state):",
        "    human, _ = human_reward(state)",
        "    sparse, _ = sparse_reward(state)",
        f"    bonus = {weight!r} * sparse",
        "    return human + bonus, {'human': human, 'sparse_bonus': bonus}",
    ])


def scripted_replies(task: str, iterations: int, samples: int) -> list[list[str]]:
    """The replies of each iteration: K rewards with different weights on the sparse term."""
    def reply(weight: float) -> str:
        return (f"Scripted reply (not an LLM): the human reward plus {weight:g} x the sparse one.\n\n"
                f"```python\n{scripted_reward(task, weight)}\n```\n")

    return [[reply(WEIGHTS[(i + k) % len(WEIGHTS)]) for k in range(samples)] for i in range(iterations)]


def run_task(task: str, out: Path, iterations: int, samples: int, steps: int | None, seeds: int,
             backend: str = SCRIPTED, workers: int | None = None) -> dict[str, Any]:
    """One task's run (resumed or read back when it exists) and its record."""
    from lifelong.config import LLMSettings
    from lifelong.llm import LLM
    from lifelong.openai_server import ChatServer
    from lifelong.robotics.eureka import EurekaConfig, run_eureka

    folder = Path(out) / task
    if (folder / "results.json").exists():
        return task_record(task, folder, backend)
    resume = (folder / CHECKPOINT_FILE).exists()
    run = RunDir(folder, resume=resume)
    config = EurekaConfig(samples=samples, steps=steps, seeds=seeds, workers=workers)
    t0 = time.perf_counter()
    if backend == SCRIPTED:
        done = int((run.load_checkpoint() or {}).get("loop", {}).get("iteration", 0))
        with ChatServer.scripted(scripted_replies(task, iterations, samples)[done:]) as server:
            llm = LLM(LLMSettings(base_url=server.base_url, max_retries=0), run_dir=run.path, cache_dir=None)
            run_eureka(task, llm, run, iterations, config)
    else:
        run_eureka(task, LLM(LLMSettings(base_url=backend), run_dir=run.path), run, iterations, config)
    (folder / "wall_s.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")
    return task_record(task, folder, backend)


def best_f_per_iteration(folder: Path) -> list[float | None]:
    """Per iteration, the F of its best candidate (None when none trained)."""
    best: dict[int, float | None] = {}
    for path in sorted((folder / "candidates").glob("r*_k*/result.json")):
        rnd = int(path.parent.name[1:].split("_")[0])
        score = json.loads(path.read_text()).get("score")
        ok = score is not None and not (isinstance(score, float) and math.isnan(score))
        current = best.get(rnd)
        best[rnd] = max(current, score) if ok and current is not None else (score if ok else current)
    return [best.get(r) for r in range(max(best) + 1)] if best else []


def task_record(task: str, folder: Path, backend: str) -> dict[str, Any]:
    """What the notebook plots of one task."""
    results = json.loads((folder / "results.json").read_text())
    wall = folder / "wall_s.txt"
    return {"task": task, "backend": backend, "backend_label": backend_label(backend),
            "best_f_per_iteration": best_f_per_iteration(folder),
            "methods": {k: {"F_mean": v["success_mean"], "F_std": v["success_std"]}
                        for k, v in results["methods"].items()},
            "human_normalized_score": results.get("human_normalized_score"), "note": results.get("note", ""),
            "metric": results.get("metric"), "steps": results.get("steps"), "seeds": results.get("seeds"),
            "wall_s": float(wall.read_text()) if wall.exists() else None}


def run_tasks(out: Path, tasks: list[str], iterations: int, samples: int, steps: int | None, seeds: int,
              backend: str = SCRIPTED) -> list[dict[str, Any]]:
    """Every task in turn (each runs its K trainings in parallel on the available cores)."""
    return [run_task(t, out, iterations, samples, steps, seeds, backend) for t in tasks]
