"""Minecraft as a :class:`lifelong.loop.World`: Voyager's four agents around the bot.

propose  -> the curriculum (automatic or static) looks at the last observation;
write    -> the action agent writes one program, with retrieved skills in its prompt;
verify   -> the program runs on the bot (``MinecraftEnv.step``) with exactly the skills it calls,
            then the critic judges it (inventory difference, or the LLM critic);
store    -> the skill manager describes it and adds it to the library.

Every round logs a ``step`` event (code, inventory, position, new items, verdict) from which
:mod:`lifelong.minecraft.metrics` computes the report, and the world's state (curriculum memory,
metrics, the last observation) goes into the loop's checkpoint. On ``--resume`` the bot gets its
checkpointed inventory and position back (a hard reset); the server keeps the world itself.

Voyager's ablations (:mod:`lifelong.minecraft.ablations`) switch parts off here, and only here:
``no-library`` retrieves no skills into the prompt, loads none into the program and stores none;
``no-critic`` never calls the critic (a program that ran without an error is a success);
``no-feedback`` shows the next round's prompt the last code but no execution error, chat log or
critique.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any, Protocol, Self

from lifelong.events import EventSink, ignore
from lifelong.library import SkillLibrary
from lifelong.loop import Attempt, Task, verified
from lifelong.minecraft.ablations import NO_CRITIC, NO_FEEDBACK, NO_LIBRARY, check_ablations
from lifelong.minecraft.action import ActionAgent
from lifelong.minecraft.critic import Critic, Verdict
from lifelong.minecraft.describe import SkillManager
from lifelong.minecraft.events import ProgramRun
from lifelong.minecraft.metrics import Tracker
from lifelong.minecraft.program import program_info
from lifelong.runs import RunDir


class Env(Protocol):
    """What the world needs of :class:`lifelong.minecraft.env.MinecraftEnv`."""

    def reset(self, seed: int | None = None, inventory: dict[str, int] | None = None,
              position: dict[str, float] | None = None, mode: str = "hard") -> dict[str, Any]: ...

    def step(self, code: str, skills: Any = None) -> dict[str, Any]: ...

    def close(self) -> None: ...


class TaskSource(Protocol):
    """What the world needs of a curriculum (:mod:`lifelong.minecraft.curriculum`'s automatic,
    static and solve curricula): the next task, each outcome, and its state for ``--resume``."""

    def propose(self, obs: dict[str, Any]) -> Task | None: ...

    def record(self, task: str, success: bool) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class UnusableReply(str):
    """A candidate the action agent could not get from the LLM: nothing to run (its text is
    empty), and ``problem`` says why (the last parse error). ``write`` hands it to ``verify``,
    which turns it into a failed attempt whose critique the next round's prompt carries."""

    problem: str

    def __new__(cls, problem: str) -> Self:
        reply = super().__new__(cls, "")
        reply.problem = problem
        return reply


def error_text(obs: dict[str, Any]) -> str | None:
    """The program's error as one string (the env reports a dict with message and line)."""
    err = obs.get("error")
    if not err:
        return None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or err)
    return str(err)


class MinecraftWorld:
    """The Minecraft world for :class:`lifelong.loop.Loop`."""

    def __init__(self, env: Env, curriculum: TaskSource, action: ActionAgent, critic: Critic,
                 skills: SkillManager, library: SkillLibrary, run: RunDir, seed: int = 0,
                 on_event: EventSink = ignore, ablations: Collection[str] = ()) -> None:
        self.env = env
        self.curriculum = curriculum
        self.action = action
        self.critic = critic
        self.skills = skills
        self.library = library
        self.run = run
        self.seed = seed
        self.on_event = on_event
        self.ablations = frozenset(check_ablations(ablations))
        self.obs: dict[str, Any] = {}
        self.tracker = Tracker()
        self.iteration = 0
        self.started = False
        self._restore: dict[str, Any] = {}
        self.timings: dict[str, float] = {"write_s": 0.0, "env_s": 0.0, "overhead_s": 0.0}

    # ---- World protocol ------------------------------------------------------------------

    def propose(self) -> Task | None:
        self.start()
        return self.curriculum.propose(self.obs)

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        self.start()
        t0 = time.perf_counter()
        retrieved = [] if NO_LIBRARY in self.ablations else self.action.retrieve(task.name, task.context)
        last = self._feedback(history[-1].evidence) if history else None
        reply, problem, _calls = self.action.write(task.name, task.context, self.obs, retrieved, last)
        self.timings["write_s"] += time.perf_counter() - t0
        return [UnusableReply(problem) if reply is None else reply.code]

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        return [self._verify_one(task, code, round) for code in candidates]

    def store(self, task: Task, best: Attempt) -> str | None:
        if NO_LIBRARY in self.ablations:
            return None
        skill = self.skills.add(task.name, best.candidate, best.evidence["main"], evidence={
            "task": task.name, "run": str(self.run.path), "iteration": best.evidence.get("iteration"),
            "round": best.round, "inventory_before": best.evidence.get("inventory_before"),
            "inventory_after": best.evidence.get("inventory"), "critic": best.evidence.get("method"),
        })
        self.run.log("skill_stored", name=skill.name, version=skill.version, calls=skill.calls)
        return skill.name

    def finish(self, task: Task, best: Attempt | None) -> None:
        self.curriculum.record(task.name, verified(best))

    def state_dict(self) -> dict[str, Any]:
        keep = ("inventory", "position", "equipment", "inventory_slots_used", "voxels", "blocks_seen",
                "entities", "biome", "time_of_day", "health", "food", "chests")
        return {
            "curriculum": self.curriculum.state_dict(),
            "tracker": self.tracker.state_dict(),
            "iteration": self.iteration,
            "obs": {k: self.obs[k] for k in keep if k in self.obs},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curriculum.load_state_dict(state["curriculum"])
        self.tracker.load_state_dict(state["tracker"])
        self.iteration = int(state["iteration"])
        self.obs = dict(state.get("obs") or {})
        self._restore = {"inventory": self.obs.get("inventory") or {}, "position": self.obs.get("position")}

    # ---- helpers -------------------------------------------------------------------------

    def start(self) -> None:
        """Reset the bot once per process: empty on a new run, as checkpointed on a resumed one."""
        if self.started:
            return
        obs = self.env.reset(seed=self.seed, inventory=self._restore.get("inventory") or {},
                             position=self._restore.get("position"), mode="hard")
        self.obs = obs or self.obs
        self.started = True
        self.tracker.update(self.iteration, self.obs.get("inventory") or {}, self.obs.get("position"))
        self.run.log("reset", iteration=self.iteration, inventory=self.obs.get("inventory") or {},
                     position=self.obs.get("position"))

    def _feedback(self, evidence: dict[str, Any]) -> dict[str, Any]:
        """What the next round's prompt sees of the last one: everything, or its code alone."""
        if NO_FEEDBACK in self.ablations:
            return {"code": evidence.get("code") or ""}
        return evidence

    def _judge(self, task: Task, before: dict[str, Any], after: dict[str, Any], error: str | None) -> Verdict:
        """The critic's verdict; without self-verification, whether the program ran without an error."""
        if NO_CRITIC in self.ablations:
            return Verdict(error is None, "", "no self-verification (--no-critic): success = no error",
                           method="no-critic")
        return self.critic.judge(task.name, task.context, before, after, error)

    def _skills_for(self, code: str) -> list[dict[str, str]]:
        """Exactly the library skills the program calls, with their callees: the runner loads no other
        (none without a library)."""
        if NO_LIBRARY in self.ablations:
            return []
        names = program_info(code).skills(set(self.library.names()))
        skills = self.library.with_callees([self.library.get(n) for n in names])
        return [{"name": s.name, "code": self.library.code(s.name)} for s in skills]

    def _verify_one(self, task: Task, code: str, round: int) -> Attempt:
        before = self.obs
        t0 = time.perf_counter()
        evidence: dict[str, Any] = {"inventory_before": before.get("inventory") or {}}
        if isinstance(code, UnusableReply):
            critique = f"The reply could not be used: {code.problem}"
            evidence.update(code="", error=critique, chat=[], critique=critique, method="parse",
                            main=None, inventory=before.get("inventory") or {})
            success = False
            env_s = 0.0
        else:
            main = program_info(code).main
            skills = self._skills_for(code)
            t_env = time.perf_counter()
            obs = self.env.step(code, skills)
            env_s = time.perf_counter() - t_env
            self.obs = obs
            error = error_text(obs)
            verdict = self._judge(task, before, obs, error)
            success = verdict.success
            evidence.update(code=code, error=error or "", chat=list(obs.get("chat") or []),
                            critique=verdict.critique, method=verdict.method, main=main,
                            inventory=obs.get("inventory") or {}, calls=[s["name"] for s in skills])
            for name in evidence["calls"]:
                if name in self.library:
                    self.library.record_use(name, success)
        self.iteration += 1
        evidence["iteration"] = self.iteration
        new_items = self.tracker.update(self.iteration, self.obs.get("inventory") or {}, self.obs.get("position"))
        record = self.run.log(
            "step", iteration=self.iteration, task=task.name, round=round, success=success,
            code=evidence["code"], inventory=self.obs.get("inventory") or {}, position=self.obs.get("position"),
            new_items=new_items, error=evidence["error"], critique=evidence["critique"],
            method=evidence["method"], calls=evidence.get("calls", []), chat=evidence["chat"][-8:],
            milestones=dict(self.tracker.milestones), env_s=round_s(env_s),
            time_scale=self.obs.get("time_scale"), ticks_per_s=self.obs.get("ticks_per_s"),
            server_ticks_per_s=self.obs.get("server_ticks_per_s"),
        )
        self.timings["env_s"] += env_s
        self.timings["overhead_s"] += time.perf_counter() - t0 - env_s
        self.on_event(ProgramRun.from_record(record))
        feedback = evidence["critique"] or evidence["error"]
        return Attempt(candidate=code if evidence["main"] else "", verified=success,
                       score=1.0 if success else 0.0, feedback=feedback, evidence=evidence, round=round)


def round_s(x: float) -> float:
    return round(x, 3)
