"""The random curriculum: Voyager's "without the automatic curriculum" ablation (``--curriculum random``).

Voyager's ablation replaces the automatic curriculum by tasks drawn at random, to show how much
of the discovery comes from proposing the right next task. Here each task is an item drawn
uniformly from those the recipe graph of minecraft-data says are obtainable in our world (the
planner's :class:`lifelong.minecraft.planner.Knowledge`: blocks the world generates, crafting,
smelting, and the passive animals it spawns), phrased the way the automatic curriculum phrases
its tasks ("Mine 1 iron ore", "Craft 1 furnace", "Smelt 1 raw iron", "Kill 1 cow"), so the action
agent and the critic understand them. Nothing steers the draw towards what the bot can do now:
that is the point of the ablation.

The draws are seeded by the run's seed and the number of draws so far, so a resumed run draws
what the uninterrupted run would have (the count is in :meth:`RandomCurriculum.state_dict`).
Completed items are not drawn again; failed ones may be.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import cache
from typing import Any

from lifelong.loop import Task
from lifelong.minecraft.critic import parse_count_task
from lifelong.minecraft.curriculum import Memory
from lifelong.minecraft.planner import WOODEN_VARIANT, Knowledge, canon

# The animals bridges/server/plugins/mobs.js spawns at every difficulty (zombies and skeletons
# only spawn at easy and up; explore runs peaceful by default): keep in sync.
WORLD_MOBS = frozenset({"cow", "pig", "sheep", "chicken"})


class Obtainable:
    """Which items the recipe graph lets a bot get in our world, starting from nothing."""

    def __init__(self, knowledge: Knowledge, mobs: frozenset[str] = WORLD_MOBS) -> None:
        self.k = knowledge
        self.mobs = mobs
        self.good: set[str] = set()
        self.bad: set[str] = set()

    def __call__(self, key: str, path: frozenset[str] = frozenset()) -> bool:
        """Every prerequisite (tool, station, ingredient, fuel) obtainable too, without a cycle
        (9 ingots from a block of 9 ingots does not count). A negative answer found inside a
        cycle depends on the path, so only top-level ones are remembered."""
        if key in self.good:
            return True
        if key in self.bad or key in path:
            return False
        m = self.k.method(key)
        if m is None or (m.kind == "kill" and m.source not in self.mobs):
            self.bad.add(key)
            return False
        ok = all(self(pre, path | {key}) for pre, _ in self.k.prerequisites(m))
        if ok:
            self.good.add(key)
        elif not path:
            self.bad.add(key)
        return ok


@cache
def task_pool() -> tuple[str, ...]:
    """Every obtainable item's task, once each, sorted (the draw's order must not depend on sets)."""
    k = Knowledge()
    obtainable = Obtainable(k)
    # One wood kind stands for all (the planner's 'log' and 'planks'); an acacia door needs acacia.
    keys = {canon(i) for i in k.data.items if canon(i) != i or not WOODEN_VARIANT.match(i)}
    tasks = {task for key in keys if obtainable(key) and (task := k.task_for(key, 1))
             and parse_count_task(task, k.data) is not None}
    return tuple(sorted(tasks))


class RandomCurriculum:
    """Tasks drawn at random from :func:`task_pool`; ``context`` answers "how to" for each (the
    automatic curriculum's cached questions, as for static curricula)."""

    def __init__(self, seed: int = 0, context: Callable[[str], str] | None = None,
                 pool: tuple[str, ...] | None = None) -> None:
        self.seed = seed
        self.context_for = context
        self.pool = task_pool() if pool is None else pool
        self.memory = Memory()
        self.draws = 0

    @property
    def progress(self) -> int:
        return len(self.memory.completed)

    def propose(self, obs: dict[str, Any]) -> Task | None:
        done = set(self.memory.completed)
        choices = [t for t in self.pool if t not in done]
        if not choices:
            return None
        task = random.Random(f"{self.seed}:{self.draws}").choice(choices)
        self.draws += 1
        context = self.context_for(task) if self.context_for else ""
        return Task(task, context, {"source": "random", "draw": self.draws})

    def record(self, task: str, success: bool) -> None:
        self.memory.record(task, success)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "random", "draws": self.draws, "memory": vars(self.memory).copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.draws = int(state["draws"])
        self.memory = Memory(**state["memory"])
