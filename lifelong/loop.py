"""The generic lifelong-learning loop: propose -> write -> verify -> store.

Both worlds are this loop with different parts plugged in:

=============  ===================================  ========================================
step           Minecraft (Voyager)                  robots (Eureka)
=============  ===================================  ========================================
propose        automatic curriculum                 the task card the user asked for
write          action agent: one JS program         reward writer: K reward functions (n=K)
verify         run on the bot, then the critic      PPO on each reward, score the success metric
store          skill library (minecraft-program)    library (reward-function + policy)
=============  ===================================  ========================================

A *round* is one write -> verify pass; each round counts as one iteration of the run (Voyager
counts prompting iterations the same way). Feedback from a round's attempts goes into the next
round's prompt. The loop checkpoints when it proposes a task and after every round, so ``--resume``
continues the same task with the same history; a round cut short is redone. A task whose last round
was spent is finished on ``--resume`` even when no iteration is left (a crash while storing it, e.g.
during Eureka's final evaluation), and nothing is stored or logged twice: see
:meth:`Loop._finish_task`.

``LIFELONG_FAULT=<point>[@n]`` kills the process at a named point (:func:`lifelong.runs.fault_point`)
for the crash tests: ``written`` (candidates written, not verified), ``round`` (a round
checkpointed), ``stored`` (the world's store returned), ``task_done`` (logged, not checkpointed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from lifelong.events import (
    CurriculumExhausted,
    Event,
    EventSink,
    Resumed,
    RoundDone,
    TaskDone,
    TaskProposed,
    ignore,
)
from lifelong.runs import RunDir, fault_point


@dataclass
class Task:
    """What the curriculum asks for. ``meta`` carries world-specific detail (e.g. the target item)."""

    name: str
    context: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attempt:
    """One candidate after the world's verification. ``feedback`` is what the writer sees next round.

    ``verified`` has one meaning in every world: the candidate passed the world's verification, so
    it may be stored (Minecraft: the program ran and the critic judged the task done; robots: the
    reward trained a policy, whose fitness is ``score``). Only verified attempts are stored.
    """

    candidate: str
    verified: bool
    score: float | None = None
    feedback: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    round: int = 0


class World(Protocol):
    """What a world must provide to run in the loop."""

    def propose(self) -> Task | None:
        """The next task, or None when the curriculum is exhausted."""

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        """Candidates for ``task`` given every earlier attempt at it (empty on the first round)."""

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        """Run and judge each candidate."""

    def store(self, task: Task, best: Attempt) -> str | None:
        """Keep a verified attempt; returns the stored skill's name."""

    def finish(self, task: Task, best: Attempt | None) -> None:
        """Record the outcome (curriculum memory: completed or failed)."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state to checkpoint (curriculum memory, counters)."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def best_of(attempts: list[Attempt]) -> Attempt | None:
    """Verified attempts beat the others; among equals the higher score wins."""
    if not attempts:
        return None
    return max(attempts, key=lambda a: (a.verified, a.score if a.score is not None else float("-inf")))


def verified(attempt: Attempt | None) -> bool:
    return bool(attempt and attempt.verified)


def load_attempt(saved: dict[str, Any]) -> Attempt:
    """An attempt from a checkpoint; checkpoints written before ``verified`` call it ``success``."""
    saved = dict(saved)
    if "success" in saved:
        saved.setdefault("verified", saved.pop("success"))
    return Attempt(**saved)


@dataclass
class LoopState:
    iteration: int = 0
    tasks_done: int = 0
    task: dict[str, Any] | None = None  # the task in progress: its attempts so far (and "skill" once stored)
    history: list[dict[str, Any]] = field(default_factory=list)


class Loop:
    """Drive a :class:`World` for a number of iterations, checkpointing after every round.

    ``stop_on_success`` ends a task at its first round with a verified attempt (Voyager); with it
    off, every round runs and the best attempt is kept (Eureka's iterative improvement). Progress
    goes to ``on_event`` as typed events (:mod:`lifelong.events`), each logged to the run first.
    """

    def __init__(
        self,
        world: World,
        run: RunDir,
        rounds: int = 4,
        stop_on_success: bool = True,
        on_event: EventSink = ignore,
    ) -> None:
        self.world = world
        self.run_dir = run
        self.rounds = rounds
        self.stop_on_success = stop_on_success
        self.on_event = on_event
        self.state = LoopState()
        self._resumed_task = False  # the task in progress came from a checkpoint
        if run.resumed and (checkpoint := run.load_checkpoint()):
            self.state = LoopState(**checkpoint["loop"])
            self._resumed_task = self.state.task is not None
            world.load_state_dict(checkpoint["world"])
            self._emit(Resumed(self.state.iteration))

    def run(self, iterations: int) -> LoopState:
        """Run until ``iterations`` rounds in total have been spent (resumed ones included).

        A resumed task whose rounds were all spent is finished first, even with no iteration left:
        the crashed run was storing it (Eureka: its final evaluation) when it died.
        """
        self._finish_spent_task()
        while self.state.iteration < iterations:
            task, attempts = self._current_task()
            if task is None:
                self._emit(CurriculumExhausted())
                break
            self._run_task(task, attempts, iterations)
        return self.state

    def _saved_task(self) -> tuple[Task, list[Attempt]]:
        assert self.state.task is not None
        saved = self.state.task
        return Task(**saved["task"]), [load_attempt(a) for a in saved["attempts"]]

    def _rounds_left(self, attempts: list[Attempt]) -> range:
        """The rounds still to run: none after a verified attempt (with stop_on_success) or the last round."""
        if self.stop_on_success and any(a.verified for a in attempts):
            return range(0)
        return range(len({a.round for a in attempts}), self.rounds)

    def _finish_spent_task(self) -> None:
        if self.state.task is not None:
            task, attempts = self._saved_task()
            if attempts and not self._rounds_left(attempts):
                self._finish_task(task, attempts)

    def _current_task(self) -> tuple[Task | None, list[Attempt]]:
        """The task in the checkpoint, else a new one, checkpointed at once so that a crash in its
        first round resumes the same task instead of proposing another."""
        if self.state.task is not None:  # resuming mid-task
            return self._saved_task()
        self._resumed_task = False
        task = self.world.propose()
        if task is not None:
            self._emit(TaskProposed(task.name, task.context))
            self.state.task = {"task": asdict(task), "attempts": []}
            self._checkpoint()
        return task, []

    def _run_task(self, task: Task, attempts: list[Attempt], iterations: int) -> None:
        for rnd in self._rounds_left(attempts):
            if self.state.iteration >= iterations:
                return  # out of iterations mid-task: the checkpoint keeps it for --resume
            candidates = self.world.write(task, attempts)
            fault_point("written")
            new = self.world.verify(task, candidates, rnd)
            attempts += new
            self.state.iteration += 1
            best = best_of(new)
            self._emit(RoundDone(task.name, rnd, verified(best), best.score if best else None,
                                 best.feedback if best else ""))
            self.state.task = {"task": asdict(task), "attempts": [asdict(a) for a in attempts]}
            self._checkpoint()
            fault_point("round")
            if self.stop_on_success and verified(best):
                break
        self._finish_task(task, attempts)

    def _finish_task(self, task: Task, attempts: list[Attempt]) -> None:
        """Store the best attempt, let the world record the outcome, log task_done, checkpoint.

        A crash anywhere in here makes ``--resume`` run it again, so every step is safe to repeat:
        the store's result is checkpointed as soon as it returns (a store cut short is redone, and
        the library ignores an identical re-add), ``world.finish`` runs again on the world state of
        that checkpoint, and a task_done already in the log is not logged twice.
        """
        assert self.state.task is not None
        best = best_of(attempts)
        if "skill" not in self.state.task:
            self.state.task["skill"] = self._store(task, best)
            self._checkpoint()
        self.world.finish(task, best)
        done = TaskDone(task.name, verified(best), self.state.task["skill"], self.state.iteration,
                        len({a.round for a in attempts}))
        outcome = done.fields()
        if not (self._resumed_task and self._logged(done.name, outcome)):
            self._emit(done)
        fault_point("task_done")
        self.state.tasks_done += 1
        self.state.task = None
        self.state.history.append(outcome)
        self._checkpoint()

    def _store(self, task: Task, best: Attempt | None) -> str | None:
        if not verified(best):
            return None
        skill = self.world.store(task, best)
        fault_point("stored")
        return skill

    def _logged(self, event: str, fields: dict[str, Any]) -> bool:
        """Whether the log already holds ``event`` with these fields (written before a crash)."""
        return any(all(e.get(k) == v for k, v in fields.items()) for e in self.run_dir.events(event))

    def _checkpoint(self) -> None:
        self.run_dir.save_checkpoint({"loop": asdict(self.state), "world": self.world.state_dict()})

    def _emit(self, event: Event) -> None:
        self.run_dir.log(event.name, **event.fields())
        self.on_event(event)
