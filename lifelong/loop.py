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
round's prompt. The loop checkpoints after every round, so ``--resume`` continues mid-task with
the same history, and a task whose skill was stored just before a crash is not stored twice
(the library ignores an identical re-add).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from lifelong.runs import RunDir


@dataclass
class Task:
    """What the curriculum asks for. ``meta`` carries world-specific detail (e.g. the target item)."""

    name: str
    context: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attempt:
    """One verified candidate. ``feedback`` is what the writer sees next round."""

    candidate: str
    success: bool
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
    """Successful attempts beat failed ones; among equals the higher score wins."""
    if not attempts:
        return None
    return max(attempts, key=lambda a: (a.success, a.score if a.score is not None else float("-inf")))


@dataclass
class LoopState:
    iteration: int = 0
    tasks_done: int = 0
    task: dict[str, Any] | None = None  # the task in progress, with its attempts so far
    history: list[dict[str, Any]] = field(default_factory=list)


class Loop:
    """Drive a :class:`World` for a number of iterations, checkpointing after every round.

    ``stop_on_success`` ends a task at its first successful round (Voyager); with it off, every
    round runs and the best attempt is kept (Eureka's iterative improvement).
    """

    def __init__(
        self,
        world: World,
        run: RunDir,
        rounds: int = 4,
        stop_on_success: bool = True,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.world = world
        self.run_dir = run
        self.rounds = rounds
        self.stop_on_success = stop_on_success
        self.on_event = on_event or (lambda event: None)
        self.state = LoopState()
        if run.resumed and (checkpoint := run.load_checkpoint()):
            self.state = LoopState(**checkpoint["loop"])
            world.load_state_dict(checkpoint["world"])
            self._emit("resumed", iteration=self.state.iteration)

    def run(self, iterations: int) -> LoopState:
        """Run until ``iterations`` rounds in total have been spent (resumed ones included)."""
        while self.state.iteration < iterations:
            task, attempts = self._current_task()
            if task is None:
                self._emit("curriculum_exhausted")
                break
            self._run_task(task, attempts, iterations)
        return self.state

    def _current_task(self) -> tuple[Task | None, list[Attempt]]:
        if self.state.task is not None:  # resuming mid-task
            saved = self.state.task
            return Task(**saved["task"]), [Attempt(**a) for a in saved["attempts"]]
        task = self.world.propose()
        if task is not None:
            self._emit("task_proposed", task=task.name, context=task.context)
        return task, []

    def _run_task(self, task: Task, attempts: list[Attempt], iterations: int) -> None:
        first_round = len({a.round for a in attempts})
        already_done = self.stop_on_success and any(a.success for a in attempts)
        for rnd in range(first_round, 0 if already_done else self.rounds):  # resumed after a success
            if self.state.iteration >= iterations:
                return  # out of iterations mid-task: the checkpoint keeps it for --resume
            candidates = self.world.write(task, attempts)
            new = self.world.verify(task, candidates, rnd)
            attempts += new
            self.state.iteration += 1
            best = best_of(new)
            self._emit(
                "round",
                task=task.name,
                round=rnd,
                success=bool(best and best.success),
                score=best.score if best else None,
                feedback=best.feedback if best else "",
            )
            self.state.task = {"task": asdict(task), "attempts": [asdict(a) for a in attempts]}
            self._checkpoint()
            if self.stop_on_success and best and best.success:
                break
        self._finish_task(task, attempts)

    def _finish_task(self, task: Task, attempts: list[Attempt]) -> None:
        best = best_of(attempts)
        skill = self.world.store(task, best) if best and best.success else None
        self.world.finish(task, best)
        self.state.tasks_done += 1
        self.state.task = None
        outcome = {"task": task.name, "success": bool(best and best.success), "skill": skill,
                   "iteration": self.state.iteration, "rounds": len({a.round for a in attempts})}
        self.state.history.append(outcome)
        self._emit("task_done", **outcome)
        self._checkpoint()

    def _checkpoint(self) -> None:
        self.run_dir.save_checkpoint({"loop": asdict(self.state), "world": self.world.state_dict()})

    def _emit(self, event: str, **fields: Any) -> None:
        self.on_event(self.run_dir.log(event, **fields))
