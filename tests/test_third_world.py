"""A third world, defined here and nowhere else: the core runs it without knowing it.

Arithmetic programs (Python expressions of numbers, + and -): the curriculum asks for sums, the
writer's first candidate is off by one and the second is right, and verification evaluates them. The world registers its skill kind
and its LLM role (:mod:`lifelong.worlds`), runs in the generic loop, stores what it verified in the
skill library, and ``lifelong skills list`` shows it, with no core file naming it.
"""

from __future__ import annotations

import ast
import json
import operator
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from lifelong import worlds
from lifelong.cli import app
from lifelong.config import ConfigError, load_settings
from lifelong.events import Event, RoundDone, TaskDone
from lifelong.library import LibraryError, SkillLibrary
from lifelong.loop import Attempt, Loop, Task
from lifelong.runs import RunDir

WORLD = "arithmetic"
KIND = "arithmetic-program"
SUMS = {"addTwoAndThree": (2, 3), "addFortyAndTwo": (40, 2)}
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub}


def evaluate(program: str) -> int:
    """The value of an arithmetic program; anything but numbers, + and - is refused."""
    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](value(node.left), value(node.right))
        raise ValueError(f"not arithmetic: {ast.dump(node)}")

    return value(ast.parse(program, mode="eval").body)


class ArithmeticWorld:
    """propose a sum; write ``a + b`` (off by one on the first round); verify by evaluating it;
    store the verified program as a skill of this world's kind."""

    def __init__(self, library: SkillLibrary) -> None:
        self.library = library
        self.todo = list(SUMS)

    def propose(self) -> Task | None:
        return Task(self.todo[0], context=f"compute {SUMS[self.todo[0]]}") if self.todo else None

    def write(self, task: Task, history: list[Attempt]) -> list[str]:
        a, b = SUMS[task.name]
        slip = 0 if history else 1
        return [f"{a} + {b} + {slip}"]

    def verify(self, task: Task, candidates: list[str], round: int) -> list[Attempt]:
        want = sum(SUMS[task.name])
        attempts = []
        for code in candidates:
            got = evaluate(code)
            attempts.append(Attempt(code, verified=got == want, score=-abs(got - want),
                                    feedback=f"got {got}, want {want}", round=round))
        return attempts

    def store(self, task: Task, best: Attempt) -> str | None:
        skill = self.library.add(task.name, best.candidate, kind=KIND,
                                 description=f"Returns the sum {' + '.join(map(str, SUMS[task.name]))}.",
                                 task=task.context)
        return skill.name

    def finish(self, task: Task, best: Attempt | None) -> None:
        self.todo.remove(task.name)

    def state_dict(self) -> dict[str, Any]:
        return {"todo": self.todo}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.todo = list(state["todo"])


@pytest.fixture
def arithmetic() -> Iterator[worlds.World]:
    worlds.load_worlds()  # the shipped worlds first, as any command would have them
    yield worlds.register_world(WORLD, kinds={KIND: ".py"}, roles={"arithmetician": "small-model"})
    worlds.unregister_world(WORLD)


def test_a_third_world_runs_the_loop_stores_skills_and_lists_them(arithmetic, tmp_path):
    library = SkillLibrary(tmp_path / "library")
    seen: list[Event] = []
    state = Loop(ArithmeticWorld(library), RunDir(tmp_path / "run"), rounds=3, on_event=seen.append).run(10)

    assert state.tasks_done == 2 and state.iteration == 4  # each sum: one slip, then right
    assert [e.success for e in seen if isinstance(e, RoundDone)] == [False, True, False, True]
    assert [e.skill for e in seen if isinstance(e, TaskDone)] == list(SUMS)
    stored = library.get("addFortyAndTwo")
    assert (stored.kind, stored.world, stored.code_file) == (KIND, WORLD, "code.py")
    assert library.code("addFortyAndTwo") == "40 + 2 + 0"

    result = CliRunner().invoke(app, ["skills", "list", "--library", str(tmp_path / "library"),
                                      "--kind", KIND, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {(r["name"], r["world"]) for r in json.loads(result.stdout)} == {(n, WORLD) for n in SUMS}
    table = CliRunner().invoke(app, ["skills", "list", "--library", str(tmp_path / "library")])
    assert "addTwoAndThree" in table.stdout and "2 skills" in table.stdout


def test_its_role_is_a_setting_and_its_kind_is_known_only_while_registered(arithmetic, tmp_path):
    assert load_settings().llm.model_for("arithmetician") == "small-model"
    assert load_settings(llm={"models": {"arithmetician": "other"}}).llm.model_for("arithmetician") == "other"
    worlds.unregister_world(WORLD)
    with pytest.raises(ConfigError, match="unknown LLM role 'arithmetician'"):
        load_settings().llm.model_for("arithmetician")
    with pytest.raises(LibraryError, match="unknown skill kind 'arithmetic-program'"):
        SkillLibrary(tmp_path / "library").add("sum", "1 + 1", kind=KIND, description="d")
