"""Final scores: the best reward, the human reward and the sparse reward, each trained on several seeds.

Eureka reports a *human-normalised score* per task,
``(F_method - F_sparse) / |F_human - F_sparse|``, where F is the task's success metric of the
trained policy (here: the deterministic evaluation, averaged over evaluation episodes, then over
training seeds). 1.0 means as good as the human reward, 0.0 as good as the sparse one. When the
human and sparse rewards score the same (InvertedPendulum's gymnasium reward *is* its sparse
reward) the ratio is undefined and reported as null with that reason.

The final evaluation must not reuse what picked the reward: its training seeds
(:func:`evaluation_seeds`, from :data:`FINAL_SEED_BASE` on) and its evaluation episodes
(:data:`FINAL_EPISODES`) are disjoint from the candidates' (training seed = iteration,
episodes :data:`EVAL_EPISODES`), so F is not inflated by selection on the same draws. A seed whose
training fails counts in F as a failure (:data:`FAILED_F`, what a policy that achieves nothing
scores) and is listed with its reason; dropping it would report the mean of the lucky seeds.

Every (method, seed) training runs as a job on the run's executor (:mod:`lifelong.robotics.executor`:
the local pool, or Ray) and leaves its result
in ``<run>/final/<method>/seed<k>/result.json``, so an interrupted evaluation resumes where it
stopped. The table goes to ``<run>/results.{json,csv,md}``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lifelong.robotics.executor import Executor, LocalPool
from lifelong.runs import atomic_write_json, atomic_write_text

DEFAULT_SEEDS = 5
EVAL_EPISODES = (0, 1, 2, 3, 4)        # the candidates' evaluation episodes (selection)
FINAL_EPISODES = (5, 6, 7, 8, 9)       # the final evaluation's episodes: disjoint from selection
FINAL_SEED_BASE = 1000                 # final training seeds start here; candidates use 0, 1, ...
FAILED_F = 0.0                         # F of a seed whose training failed: no policy, no success
METHODS = ("eureka", "human", "sparse")


def evaluation_seeds(count: int, selection: list[int] | tuple[int, ...] = ()) -> list[int]:
    """``count`` final-evaluation training seeds, none of them among the ``selection`` seeds."""
    taken = set(selection)
    seeds: list[int] = []
    seed = FINAL_SEED_BASE
    while len(seeds) < count:
        if seed not in taken:
            seeds.append(seed)
        seed += 1
    return seeds


@dataclass
class MethodScore:
    """One reward trained on several seeds; F and the human return per trained seed.

    ``seeds``/``success``/``returns``/``policies`` describe the seeds that trained;
    ``failed_seeds``/``failures`` the ones that did not. F's mean and spread count each failed
    seed as :data:`FAILED_F` (the human return's cover the trained seeds only: a failed seed has
    no policy to measure).
    """

    method: str
    seeds: list[int] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    env_steps: int = 0
    wall_s: float = 0.0
    failures: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    failed_seeds: list[int] = field(default_factory=list)

    @staticmethod
    def _mean(xs: list[float]) -> float:
        return float(statistics.fmean(xs)) if xs else math.nan

    @staticmethod
    def _std(xs: list[float]) -> float:
        return float(statistics.pstdev(xs)) if len(xs) > 1 else 0.0 if xs else math.nan

    @property
    def f_per_seed(self) -> list[float]:
        """F of every seed, failed ones included as :data:`FAILED_F`."""
        return self.success + [FAILED_F] * len(self.failed_seeds)

    @property
    def success_mean(self) -> float:
        return self._mean(self.f_per_seed)

    @property
    def success_std(self) -> float:
        return self._std(self.f_per_seed)

    @property
    def return_mean(self) -> float:
        return self._mean(self.returns)

    @property
    def return_std(self) -> float:
        return self._std(self.returns)

    def best_policy(self) -> str | None:
        """The checkpoint of the seed with the highest F (stored in the library)."""
        if not self.policies:
            return None
        return self.policies[max(range(len(self.success)), key=self.success.__getitem__)]

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "success_mean": self.success_mean, "success_std": self.success_std,
                "return_mean": self.return_mean, "return_std": self.return_std}


def json_safe(obj: Any) -> Any:
    """NaN/inf become None: strict JSON readers (jq, JavaScript) reject NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def human_normalized(f_method: float, f_human: float, f_sparse: float,
                     eps: float = 1e-9) -> float | None:
    """Eureka's human-normalised score, or None when it is undefined (human == sparse)."""
    denominator = abs(f_human - f_sparse)
    if not all(math.isfinite(x) for x in (f_method, f_human, f_sparse)) or denominator < eps:
        return None
    return (f_method - f_sparse) / denominator


@dataclass
class Results:
    """The results table of one task."""

    task: str
    metric: str
    steps: int
    seeds: list[int]  # the final evaluation's training seeds
    methods: dict[str, MethodScore]
    selection_seeds: list[int] = field(default_factory=list)  # the candidates' training seeds

    def normalized(self, method: str) -> float | None:
        m, h, s = (self.methods.get(k) for k in (method, "human", "sparse"))
        if m is None or h is None or s is None:
            return None
        return human_normalized(m.success_mean, h.success_mean, s.success_mean)

    @property
    def note(self) -> str:
        h, s = self.methods.get("human"), self.methods.get("sparse")
        if h and s and self.normalized("human") is None:
            return (f"human-normalised score undefined: the human and sparse rewards score the same "
                    f"({h.success_mean:.4g}) on {self.task}")
        return ""

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "task": self.task, "metric": self.metric, "steps": self.steps, "seeds": self.seeds,
            "selection_seeds": self.selection_seeds, "evaluation_seeds": self.seeds,
            "selection_episodes": list(EVAL_EPISODES), "evaluation_episodes": list(FINAL_EPISODES),
            "failed_f": FAILED_F,
            "methods": {k: v.summary() for k, v in self.methods.items()},
            "human_normalized_score": self.normalized("eureka"),
            "human_normalized": {k: self.normalized(k) for k in self.methods},
            "note": self.note,
        })

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"task": self.task, "method": k, "seeds_ok": len(v.seeds), "F_mean": v.success_mean,
             "F_std": v.success_std, "return_mean": v.return_mean, "return_std": v.return_std,
             "human_normalized": self.normalized(k), "env_steps": v.env_steps}
            for k, v in self.methods.items()
        ]

    def markdown(self) -> str:
        head = (f"## {self.task}: {self.metric} after {self.steps} env steps, "
                f"{len(self.seeds)} seeds\n\n")
        lines = ["| method | F (mean ± std) | human return (mean ± std) | human-normalised | seeds ok |",
                 "|---|---|---|---|---|"]
        for row in self.rows():
            norm = row["human_normalized"]
            lines.append(
                f"| {row['method']} | {row['F_mean']:.4g} ± {row['F_std']:.3g} | "
                f"{row['return_mean']:.4g} ± {row['return_std']:.3g} | "
                f"{'n/a' if norm is None else f'{norm:.3f}'} | {row['seeds_ok']}/{len(self.seeds)} |"
            )
        notes = [n for n in (self.note, self.failure_note) if n]
        note = "".join(f"\n\n{n}" for n in notes)
        return head + "\n".join(lines) + note + "\n"

    @property
    def failure_note(self) -> str:
        """The failed seeds, each with its reason: they count in F as failures."""
        lines = [f"- {k} {reason}" for k, v in self.methods.items() for reason in v.failures]
        if not lines:
            return ""
        return (f"Failed seeds count in F as {FAILED_F:g} (a policy that achieves nothing):\n"
                + "\n".join(lines))

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(self.rows()[0]))
        writer.writeheader()
        writer.writerows(self.rows())
        return out.getvalue()

    def write(self, folder: Path) -> dict[str, Path]:
        paths = {ext: folder / f"results.{ext}" for ext in ("json", "csv", "md")}
        atomic_write_json(paths["json"], self.to_dict())
        atomic_write_text(paths["csv"], self.csv())
        atomic_write_text(paths["md"], self.markdown())
        return paths


def _job_dir(run_path: Path, method: str, seed: int) -> Path:
    return run_path / "final" / method / f"seed{seed}"


def evaluate_methods(
    card_ref: str,
    rewards: dict[str, dict[str, Any]],
    run_path: Path,
    steps: int,
    seeds: list[int],
    episodes: list[int] | tuple[int, ...] = FINAL_EPISODES,
    workers: int | None = None,
    timeout_s: float | None = None,
    on_done: Callable[[str, int, dict[str, Any]], None] | None = None,
    log_dir: str | None = None,
    executor: Executor | None = None,
) -> dict[str, MethodScore]:
    """Train every reward spec in ``rewards`` on every seed (in parallel); F and return per seed,
    measured on the evaluation ``episodes``.

    ``rewards`` maps method -> reward spec as the pool takes it ({"kind": "human"} or
    {"kind": "code", "code": ...}). Finished (method, seed) pairs found on disk are not rerun.
    ``executor`` runs the trainings (default: local worker processes).
    """
    done: dict[tuple[str, int], dict[str, Any]] = {}
    jobs, keys = [], []
    for method, spec in rewards.items():
        for seed in seeds:
            folder = _job_dir(run_path, method, seed)
            cached = folder / "result.json"
            if cached.exists():
                done[(method, seed)] = json.loads(cached.read_text())
                continue
            keys.append((method, seed))
            jobs.append({"card": card_ref, "reward": spec, "steps": steps, "seed": seed,
                         "eval_seeds": list(episodes), "out_dir": str(folder),
                         "log_dir": f"{log_dir}/{method}/seed{seed}" if log_dir else None})

    def finished(i: int, result: dict[str, Any]) -> None:
        method, seed = keys[i]
        slim = {k: v for k, v in result.items() if k != "history"}
        atomic_write_json(_job_dir(run_path, method, seed) / "result.json", slim)
        done[(method, seed)] = slim
        if on_done:
            on_done(method, seed, slim)

    (executor or LocalPool()).run_jobs(jobs, workers=workers, timeout_s=timeout_s, on_done=finished)
    scores = {method: MethodScore(method) for method in rewards}
    for (method, seed), result in sorted(done.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        score = scores[method]
        if not result.get("ok"):
            score.failed_seeds.append(seed)
            score.failures.append(f"seed {seed}: {result.get('reason')}")
            continue
        score.seeds.append(seed)
        score.success.append(float(statistics.fmean(result["eval_success"])))
        score.returns.append(float(statistics.fmean(result["eval_returns"])))
        score.env_steps = max(score.env_steps, int(result["env_steps"]))
        score.wall_s += float(result["wall_s"])
        score.policies.append(result["policy"])
    return scores
