"""`lifelong solve`: Voyager's zero-shot protocol, one task in a new world with a learned library.

Voyager (section 3.4 and README, ``voyager.inference``) tests a skill library by putting the agent in
a new world with an empty inventory and a task it never practised: the curriculum decomposes the
task into subgoals (``curriculum_task_decomposition.txt``), then the action agent and the critic work
through them, with the skills retrieved from the library. Here that is the generic loop with
:class:`lifelong.minecraft.curriculum.SolveCurriculum` in place of the exploration curriculum, which
decomposes again after a failed subgoal and stops at the final task's success.

What this module adds to :class:`MinecraftWorld` is small: checks of the input (a task naming an
item that does not exist, a task the inventory cannot check, a library for another world), a
private copy of the library in the run folder (so trials never see each other's new skills and the
source library stays as it was), and the report (success, iterations, subgoals, skills reused and
new).
"""

from __future__ import annotations

import difflib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifelong.library import LibraryError, SkillLibrary
from lifelong.loop import Attempt, Task
from lifelong.minecraft.critic import EQUIP_RE, TASK_RE, parse_count_task
from lifelong.minecraft.gamedata import GameData, game_data
from lifelong.minecraft.program import program_info
from lifelong.minecraft.world import MinecraftWorld
from lifelong.runs import RunDir

if TYPE_CHECKING:
    from lifelong.embeddings import Embedder
    from lifelong.minecraft.curriculum import SolveCurriculum

SKILLS_IN_PROMPT = 60  # a bigger library lists its skills nearest the task (the prompt stays small)


class UnknownItem(ValueError):
    """The task names an item, block or mob that Minecraft does not have."""


@dataclass(frozen=True)
class TaskCheck:
    """How the final task will be judged: ``inventory`` (a count), ``equipment``, or ``llm``."""

    method: str
    note: str = ""


def check_task(task: str, data: GameData | None = None) -> TaskCheck:
    """Raise :class:`UnknownItem` naming the closest real names when the task's object does not
    exist; otherwise say how the critic will judge it (the report repeats it)."""
    data = data or game_data()
    if parse_count_task(task, data) is not None:
        return TaskCheck("inventory")
    if (m := EQUIP_RE.match(task)) and data.normalise(m.group(1)) in data.items:
        return TaskCheck("equipment")
    m = TASK_RE.match(task)
    what = m.group("what") if m else (EQUIP_RE.match(task).group(1) if EQUIP_RE.match(task) else None)
    if what is not None:
        name = data.normalise(what)
        pool = list(data.entities) if m and m.group("verb").lower() == "kill" else list(data.items) + list(data.blocks)
        close = difflib.get_close_matches(name, sorted(set(pool)), n=3, cutoff=0.6)
        hint = f"closest: {', '.join(close)}" if close else "no close match; use item names such as iron_pickaxe"
        raise UnknownItem(f"'{task}' names '{what}', which is no Minecraft item, block or mob ({hint})")
    return TaskCheck("llm", f"'{task}' cannot be checked from the inventory: the LLM critic judges it "
                     "from the final observation")


def check_library(path: Path) -> None:
    """A library folder must exist and hold Minecraft skills (or none yet), not another world's."""
    if not (path / "skills").is_dir():
        raise LibraryError(f"{path} is not a skill library (no skills/ folder); give the --library of an "
                           "explore run, or --no-library")
    worlds: dict[str, int] = {}
    for record in path.glob("skills/*/v*/skill.json"):
        world = re.search(r'"world"\s*:\s*"([^"]+)"', record.read_text(errors="replace"))
        key = world.group(1) if world else "minecraft"
        worlds[key] = worlds.get(key, 0) + 1
    if worlds and "minecraft" not in worlds:
        found = ", ".join(f"{n} skill versions for {w}" for w, n in sorted(worlds.items()))
        raise LibraryError(f"{path} was made for another world ({found}), not Minecraft: give the library "
                           "of a Minecraft explore run, or --no-library")


def private_library(run: RunDir, source: Path | None, embedder: Embedder | str | None) -> SkillLibrary:
    """The run's own copy of ``source`` (an empty library for ``--no-library``): new skills go there
    and the source stays as it was, so every trial of a benchmark starts from the same library.
    The copy's index is rebuilt from the files when it first opens."""
    root = run.path / "library"
    if source is not None and not (root / "skills").exists():
        staging = run.path / "library.copying"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source / "skills", staging / "skills")
        staging.rename(root)
    return SkillLibrary(root, embedder=embedder)


def library_skills(library: SkillLibrary, task: str) -> dict[str, str]:
    """{name: the task it was learned for} for the decomposition prompt; the nearest to the task
    when the library is large."""
    skills = library.list(kind="minecraft-program", world="minecraft")
    if len(skills) > SKILLS_IN_PROMPT:
        skills = [s for s, _ in library.search(task, k=SKILLS_IN_PROMPT, kind="minecraft-program", world="minecraft")]
    return {s.name: s.task for s in skills}


class SolveWorld(MinecraftWorld):
    """The Minecraft world for a solve session. One difference from exploration: a subgoal that
    comes back after a re-plan starts from its last failed round (its code, error and critique),
    not from nothing. (``--no-library`` is exploration's ablation of the same name.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_failed: dict[str, dict[str, Any]] = {}

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        if not history and task.name in self.last_failed:
            history = [Attempt(candidate="", verified=False, evidence=self.last_failed[task.name])]
        return super().write(task, history)

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        attempts = super().verify(task, candidates, round)
        for a in attempts:
            if not a.verified:
                keep = ("code", "error", "chat", "critique")
                self.last_failed[task.name] = {k: a.evidence.get(k) for k in keep}
        return attempts

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "last_failed": self.last_failed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.last_failed = dict(state.get("last_failed") or {})


def report(run: RunDir, curriculum: SolveCurriculum, before: set[str], check: TaskCheck, stored: bool) -> dict[str, Any]:
    """The session's outcome from its event log and curriculum: the one object ``--json`` prints."""
    steps = run.events("step")
    reused = sorted({name for s in steps for name in s.get("calls") or [] if name in before})
    written: list[str] = []  # the main function of every successful program, in order
    for s in steps:
        if s.get("success") and s.get("code"):
            main = program_info(s["code"]).main
            if main and main not in written:
                written.append(main)
    done = {e["task"] for e in run.events("task_done") if e.get("success")}
    return {
        "task": curriculum.task,
        "success": bool(curriculum.done),
        "iterations": len(steps),
        "subgoals": [{"task": t, "done": t in done} for t in curriculum.plan],
        "plans": curriculum.plans,
        "replans": max(0, len(curriculum.plans) - 1),
        "reused_skills": reused,
        "new_skills": [n for n in written if n not in before],
        "relearned_skills": [n for n in written if n in before],  # a subgoal the library had a skill for
        "new_skills_stored": stored,
        "critic": check.method,
        "critic_note": check.note,
        "run_dir": str(run.path),
    }
