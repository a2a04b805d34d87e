"""Eureka as a :class:`lifelong.loop.World`: the LLM writes rewards, PPO verifies them, the best is kept.

=========  ============================================================================
propose    the task card the user asked for (one task; the loop's rounds are iterations)
write      K reward functions from ``llm.chat("reward", messages, n=K)``; the prompt is
           Eureka's (reward-engineer rules, env context, task) plus similar rewards
           retrieved from the skill library (Text2Reward-style few-shot); from the second
           iteration on: the best response of the last iteration and its reflection
verify     static sandbox checks in this process, then every surviving candidate trains
           in its own confined worker process, on this machine (lifelong.robotics.pool)
           or as a Ray task on a cluster node (lifelong.robotics.executor, ``--ray``);
           fitness = max of F over
           training (Eureka's); failures carry their exact reason
store      multi-seed final evaluation of the best reward against the human and sparse
           rewards (lifelong.robotics.scores) on training seeds and episodes disjoint from
           the ones that selected it, then the reward code (kind reward-function)
           and the best seed's policy checkpoint with the scores (kind policy) go into the
           library
=========  ============================================================================

Everything a run produces lives in its run folder: ``prompts/round<r>.json`` (the messages sent),
``candidates/r<r>_k<i>/`` (reply, code, result), ``final/`` and ``results.{json,csv,md}``. The loop
checkpoints after every iteration, so ``--resume`` continues with the same history; a run killed
after its last iteration (during the final evaluation, or before it stored its results) finishes
them on ``--resume``, keeping the final trainings already done. Crash tests kill a run at the fault
points ``candidate`` (a candidate recorded) and ``final_done`` (a final training recorded) too.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifelong.events import EventSink, ignore
from lifelong.llm import LLM
from lifelong.loop import Attempt, Loop, Task, best_of
from lifelong.robotics.events import (
    CandidateRejected,
    CandidateTrained,
    FinalEvaluationStarted,
    FinalRunDone,
    RewardsRequested,
    TrainingStarted,
)
from lifelong.robotics.executor import Executor, make_executor
from lifelong.robotics.reflection import (
    TrainingCurves,
    error_feedback,
    next_messages,
    policy_feedback,
    prompt,
)
from lifelong.robotics.reward import (
    ALLOWED_MODULES,
    CALL_TIMEOUT_S,
    FIRST_CALL_TIMEOUT_S,
    RewardRejected,
    check_source,
    extract_code,
)
from lifelong.robotics.scores import (
    DEFAULT_SEEDS,
    EVAL_EPISODES,
    Results,
    evaluate_methods,
    evaluation_seeds,
    json_safe,
)
from lifelong.robotics.tasks import TaskCard, load_card
from lifelong.runs import RunDir, atomic_write_json, atomic_write_text, fault_point

if TYPE_CHECKING:
    from lifelong.library import SkillLibrary

WORLD = "robotics"
Message = dict[str, str]


@dataclass
class EurekaConfig:
    """Knobs of one Eureka run (CLI flags)."""

    samples: int = 8               # K reward candidates per iteration
    steps: int | None = None       # env steps per candidate (default: the card's budget)
    final_steps: int | None = None  # env steps per final-evaluation seed (default: steps)
    seeds: int = DEFAULT_SEEDS     # final-evaluation seeds per method
    workers: int | None = None     # parallel training processes (default: usable cores)
    temperature: float = 1.0       # Eureka samples at 1.0: K identical replies teach nothing
    examples: int = 2              # similar rewards retrieved from the library as examples
    candidate_timeout_s: float | None = None  # per training job (default: from the budget)
    call_timeout_s: float = CALL_TIMEOUT_S
    first_call_timeout_s: float = FIRST_CALL_TIMEOUT_S
    log_dir: str | None = None     # TensorBoard logs: <log_dir>/r<round>_k<i>, <log_dir>/final/...
    ray: str | None = None         # Ray head (HOST:PORT or auto): trainings as Ray tasks; None: local
    ray_retries: int = 3           # reruns of a training whose Ray worker or node died


def fitness(result: dict[str, Any]) -> float:
    """Eureka's fitness: max of F over training; the evaluation's F if no episode ended."""
    value = result.get("max_success", math.nan)
    if value is None or not math.isfinite(value):
        success = result.get("eval_success") or [math.nan]
        value = sum(success) / len(success)
    return float(value)


class RunMismatch(ValueError):
    """--resume named a run folder that belongs to another task."""


class EurekaWorld:
    """One robot task designed by an LLM; see the module docstring for the four steps."""

    def __init__(self, card_ref: str | Path, llm: LLM, run: RunDir, config: EurekaConfig | None = None,
                 library: SkillLibrary | None = None, on_event: EventSink = ignore) -> None:
        self.card_ref = str(card_ref)
        self.card: TaskCard = load_card(card_ref)
        self.llm = llm
        self.run = run
        self.config = config or EurekaConfig()
        self.library = library
        self.on_event = on_event
        self.done = False
        self.results: dict[str, Any] | None = None
        self.stored: list[str] = []
        self.selection_seeds: list[int] = []  # candidates' training seeds (one per iteration)
        self._examples: list[dict[str, Any]] | None = None
        # connects now: an unreachable cluster fails the run before the LLM is asked anything
        self.executor: Executor = make_executor(self.config.ray, self.config.ray_retries)

    # ---- configuration derived from the card ----------------------------------------------

    @property
    def steps(self) -> int:
        return int(self.config.steps or self.card.budget)

    @property
    def final_steps(self) -> int:
        return int(self.config.final_steps or self.steps)

    def timeout_s(self, steps: int) -> float:
        """A training job's deadline: generous (600 s + 5 ms per env step), for hangs only."""
        return self.config.candidate_timeout_s or 600.0 + 0.005 * steps

    # ---- prompts ------------------------------------------------------------------------------

    def system_prompt(self) -> str:
        return prompt("reward_system").format(
            allowed_modules=", ".join(ALLOWED_MODULES), call_timeout_s=self.config.call_timeout_s
        )

    def user_prompt(self) -> str:
        text = prompt("reward_user").format(
            env_context=self.card.context_text(),
            task_description=self.card.description.strip(),
            success_description=f"{self.card.success.name}: {self.card.success.description} "
                                f"(aggregated per episode by {self.card.success.aggregate})",
        )
        examples = self.examples()
        if examples:
            shown = "".join(prompt("reward_example").format(**e) for e in examples)
            text += "\n" + prompt("reward_examples").format(examples=shown)
        return text

    def examples(self) -> list[dict[str, Any]]:
        """Similar verified rewards from the library (fixed for the run, so prompts are stable)."""
        if self._examples is None:
            self._examples = []
            if self.library is not None and self.config.examples > 0:
                query = f"{self.card.name}: {self.card.description.strip()}"
                for skill in self.library.retrieve(query, k=self.config.examples,
                                                   kind="reward-function", world=WORLD):
                    score = skill.evidence.get("fitness")
                    self._examples.append({
                        "name": skill.name, "task": skill.task or skill.description,
                        "score": f"{score:.4g}" if isinstance(score, float) else "n/a",
                        "code": self.library.code(skill.name).strip(),
                    })
        return self._examples

    def messages(self, history: list[Attempt]) -> list[Message]:
        """[system, user] first; then Eureka's [system, user, best response, its feedback]."""
        system, user = self.system_prompt(), self.user_prompt()
        if not history:
            return [{"role": "system", "content": system}, {"role": "user", "content": user}]
        last_round = max(a.round for a in history)
        last = [a for a in history if a.round == last_round]
        best = best_of(last)
        assert best is not None
        if not best.verified:  # a round where nothing trained: build on the best reward so far
            overall = best_of(history)
            best = overall if overall is not None and overall.verified else best
        others = [(a.evidence.get("code") or a.candidate, a.evidence.get("reason", ""))
                  for a in last if a is not best and not a.verified]
        return next_messages(system, user, best.candidate, best.feedback, others)

    # ---- World protocol ---------------------------------------------------------------------

    def propose(self) -> Task | None:
        if self.done:
            return None
        return Task(self.card.name, context=self.card.description.strip(),
                    meta={"card": self.card_ref})

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        messages = self.messages(history)
        rnd = len({a.round for a in history})
        atomic_write_json(self.run.path / "prompts" / f"round{rnd}.json", messages)
        self.on_event(RewardsRequested(rnd, self.config.samples))
        replies = self.llm.chat("reward", messages, n=self.config.samples,
                                temperature=self.config.temperature)
        self.run.log("rewards_written", round=rnd, count=len(replies))
        return replies

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        attempts: list[Attempt | None] = [None] * len(candidates)
        jobs, slots = [], []
        for i, reply in enumerate(candidates):
            folder = self.run.path / "candidates" / f"r{round}_k{i}"
            atomic_write_text(folder / "reply.md", reply)
            code = ""
            try:
                code = extract_code(reply)
                atomic_write_text(folder / "reward.py", code + "\n")
                check_source(code)
            except RewardRejected as exc:
                attempts[i] = self._failed(reply, code, exc.rule, exc.reason, round)
                self._record(folder, attempts[i])
                self.on_event(CandidateRejected(round, i, exc.reason))
                continue
            slots.append((i, reply, code, folder))
            jobs.append({
                "card": self.card_ref, "reward": {"kind": "code", "code": code},
                "steps": self.steps, "seed": self._selection_seed(round),
                "eval_seeds": list(EVAL_EPISODES),
                "out_dir": str(folder), "log_dir": self._log_dir(folder.name), "limits": {"call_timeout_s": self.config.call_timeout_s,
                                                   "first_call_timeout_s": self.config.first_call_timeout_s},
            })
        self.on_event(TrainingStarted(round, len(jobs), len(candidates) - len(jobs)))

        def done(j: int, result: dict[str, Any]) -> None:
            self.on_event(CandidateTrained(round, slots[j][0], bool(result.get("ok")), str(result.get("reason") or "")))

        results = self.executor.run_jobs(jobs, workers=self.config.workers,
                                         timeout_s=self.timeout_s(self.steps), on_done=done)
        for (i, reply, code, folder), result in zip(slots, results, strict=True):
            if result.get("ok"):
                attempts[i] = self._trained(reply, code, result, round)
            else:
                attempts[i] = self._failed(reply, code, result.get("rule", "crash"),
                                           result.get("reason", "unknown failure"), round)
            self._record(folder, attempts[i], result)
        return [a for a in attempts if a is not None]

    def _selection_seed(self, rnd: int) -> int:
        """The candidates' training seed in iteration ``rnd`` (recorded: the final evaluation
        avoids it)."""
        if rnd not in self.selection_seeds:
            self.selection_seeds = sorted({*self.selection_seeds, rnd})
        return rnd

    def _log_dir(self, name: str) -> str | None:
        return str(Path(self.config.log_dir) / name) if self.config.log_dir else None

    def _trained(self, reply: str, code: str, result: dict[str, Any], rnd: int) -> Attempt:
        curves = TrainingCurves.from_history(result["history"], self.card.success.name)
        eval_success = result["eval_success"]
        return Attempt(
            candidate=reply, verified=True, score=fitness(result), feedback=policy_feedback(curves),
            round=rnd,
            evidence={"code": code, "max_success": result["max_success"],
                      "eval_success_mean": sum(eval_success) / len(eval_success),
                      "env_steps": result["env_steps"], "wall_s": round(result["wall_s"], 2),
                      "policy": result["policy"]},
        )

    @staticmethod
    def _failed(reply: str, code: str, rule: str, reason: str, rnd: int) -> Attempt:
        return Attempt(candidate=reply, verified=False, score=None, feedback=error_feedback(reason),
                       round=rnd, evidence={"code": code, "rule": rule, "reason": reason})

    def _record(self, folder: Path, attempt: Attempt, result: dict[str, Any] | None = None) -> None:
        summary = {k: v for k, v in (result or {}).items() if k != "history"}
        if result and result.get("history"):
            # every logged point of training, for plots (the reflection shows the LLM 10 of them)
            curves = TrainingCurves.from_history(result["history"], self.card.success.name)
            atomic_write_json(folder / "curves.json", asdict(curves))
        atomic_write_json(folder / "result.json", {**asdict(attempt), "result": summary})
        self.run.log("candidate", folder=folder.name, success=attempt.verified, score=attempt.score,
                     rule=attempt.evidence.get("rule"), reason=attempt.evidence.get("reason"))
        fault_point("candidate")

    def store(self, task: Task, best: Attempt) -> str | None:
        """Final multi-seed evaluation (seeds unseen by selection), the results table, the library."""
        code = best.evidence["code"]
        seeds = evaluation_seeds(self.config.seeds, self.selection_seeds)
        self.on_event(FinalEvaluationStarted(3, self.config.seeds))
        scores = evaluate_methods(
            self.card_ref,
            {"eureka": {"kind": "code", "code": code}, "human": {"kind": "human"},
             "sparse": {"kind": "sparse"}},
            self.run.path, steps=self.final_steps, seeds=seeds,
            workers=self.config.workers, timeout_s=self.timeout_s(self.final_steps),
            log_dir=self._log_dir("final"),
            on_done=self._final_done, executor=self.executor,
        )
        results = Results(self.card.name, self.card.success.name, self.final_steps, seeds, scores,
                          selection_seeds=self.selection_seeds)
        results.write(self.run.path)
        self.results = {**results.to_dict(), "best_round": best.round, "fitness": best.score}
        self.run.log("results", human_normalized_score=results.normalized("eureka"),
                     F=scores["eureka"].success_mean)
        return self._store_in_library(best, results)

    def _final_done(self, method: str, seed: int, result: dict[str, Any]) -> None:
        self.on_event(FinalRunDone(method, seed, bool(result.get("ok"))))
        fault_point("final_done")

    def _store_in_library(self, best: Attempt, results: Results) -> str | None:
        eureka, sparse = results.methods["eureka"], results.methods["sparse"]
        if self.library is None or not eureka.seeds:
            return None
        if sparse.seeds and eureka.success_mean < sparse.success_mean:
            # Not verified: the sparse reward does better. Kept in the run folder, not the library.
            self.run.log("not_stored", reason="the best reward scores below the sparse reward",
                         F=eureka.success_mean, F_sparse=sparse.success_mean)
            return None
        evidence = {"task": self.card.name, "base_env": self.card.base_env,
                    "fitness": best.score, "success_metric": self.card.success.name,
                    "F_mean": eureka.success_mean, "F_std": eureka.success_std,
                    "return_mean": eureka.return_mean,
                    "human_normalized_score": results.normalized("eureka"),
                    "env_steps": eureka.env_steps, "run": str(self.run.path)}
        description = (f"Reward function for the robot task {self.card.name} "
                       f"({self.card.base_env}): {self.card.description.strip()}")
        reward = self.library.add(
            f"reward-{self.card.name}", best.evidence["code"] + "\n", kind="reward-function",
            description=description, task=self.card.description.strip(), evidence=evidence,
            world=WORLD,
        )
        policy_path = eureka.best_policy()
        artifacts = {"policy.pt": Path(policy_path)} if policy_path else {}
        self.library.add(
            f"policy-{self.card.name}", best.evidence["code"] + "\n", kind="policy",
            description=f"PPO policy for the robot task {self.card.name} ({self.card.base_env}) "
                        f"trained on reward {reward.name} v{reward.version}",
            task=self.card.description.strip(), calls=[reward.name],
            evidence={**evidence, "reward": reward.name, "reward_version": reward.version,
                      "scores": results.to_dict()},
            world=WORLD, artifacts=artifacts,
        )
        self.stored = [reward.name, f"policy-{self.card.name}"]
        return reward.name

    def finish(self, task: Task, best: Attempt | None) -> None:
        self.done = True
        if best is None or not best.verified:
            self.run.log("no_reward", reason="no candidate trained successfully")

    def state_dict(self) -> dict[str, Any]:
        return {"task": self.card.name, "done": self.done, "results": self.results,
                "stored": self.stored, "examples": self._examples,
                "selection_seeds": self.selection_seeds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("task", self.card.name) != self.card.name:
            raise RunMismatch(f"the run in {self.run.path} designs rewards for {state['task']}, "
                              f"not {self.card.name}: resume it with that task, or start a new run")
        self.done = state.get("done", False)
        self.results = state.get("results")
        self.stored = state.get("stored", [])
        self._examples = state.get("examples")
        self.selection_seeds = state.get("selection_seeds", [])


def summary(world: EurekaWorld, loop: Loop, wall_s: float) -> dict[str, Any]:
    """The one JSON object ``train-robot --json`` prints for the LLM loop."""
    results = world.results or {}
    eureka = results.get("methods", {}).get("eureka", {})
    candidates = _candidate_events(world.run)
    nan = math.nan
    return json_safe({
        "task": world.card.name, "reward": "eureka",
        "eval_return_mean": eureka.get("return_mean", nan),
        "eval_return_std_seeds": eureka.get("return_std", nan),  # across the seeds' means
        "success_metric": world.card.success.name,
        "success_mean": eureka.get("success_mean", nan),
        "success_std_seeds": eureka.get("success_std", nan),
        "env_steps": sum(c.get("env_steps", 0) for c in _candidate_results(world))
        + sum(m.get("env_steps", 0) * len(m.get("seeds", [])) for m in results.get("methods", {}).values()),
        "wall_s": wall_s,
        "human_normalized_score": results.get("human_normalized_score"),
        "note": results.get("note", "" if results else "no candidate trained successfully"),
        "iterations": loop.state.iteration,
        "candidates": len(candidates),
        "rejected": sum(1 for c in candidates if not c.get("success")),
        "best_fitness": results.get("fitness"),
        "methods": {k: {"success_mean": v["success_mean"], "success_std": v["success_std"],
                        "return_mean": v["return_mean"], "failed_seeds": v.get("failed_seeds", [])}
                    for k, v in results.get("methods", {}).items()},
        "selection_seeds": results.get("selection_seeds"),
        "evaluation_seeds": results.get("evaluation_seeds"),
        "library": world.stored,
        "run_dir": str(world.run.path),
        "executor": world.executor.name,
        **placement(world.run.path),
    })


def placement(run_path: Path) -> dict[str, Any]:
    """Where each training ran: the Ray ``node_id`` of every candidate and final-evaluation seed
    (None for local processes), read from the run folder so a resumed run reports all of them."""
    def node(path: Path, *keys: str) -> str | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        for key in keys:
            data = data.get(key) or {}
        return data.get("node_id") if isinstance(data, dict) else None

    candidates = {p.parent.name: node(p, "result")
                  for p in sorted(run_path.glob("candidates/*/result.json"))}
    final = [{"method": p.parts[-3], "seed": int(p.parent.name.removeprefix("seed")),
              "node_id": node(p)} for p in sorted(run_path.glob("final/*/seed*/result.json"))]
    return {"candidate_nodes": candidates, "per_seed": final}


def _candidate_events(run: RunDir) -> list[dict[str, Any]]:
    """The last ``candidate`` event per candidate folder: an iteration cut short by a crash is
    redone after ``--resume`` and logs its candidates again."""
    return list({e.get("folder"): e for e in run.events("candidate")}.values())


def _candidate_results(world: EurekaWorld) -> list[dict[str, Any]]:
    out = []
    for path in sorted((world.run.path / "candidates").glob("*/result.json")):
        try:
            out.append(json.loads(path.read_text()).get("result", {}))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def run_eureka(card_ref: str | Path, llm: LLM, run: RunDir, iterations: int,
               config: EurekaConfig | None = None, library: SkillLibrary | None = None,
               on_event: EventSink = ignore) -> dict[str, Any]:
    """Run (or resume) the loop for ``iterations`` rounds; returns :func:`summary`."""
    start = time.perf_counter()
    world = EurekaWorld(card_ref, llm, run, config, library, on_event)
    loop = Loop(world, run, rounds=iterations, stop_on_success=False, on_event=on_event)
    loop.run(iterations)
    return summary(world, loop, time.perf_counter() - start)
