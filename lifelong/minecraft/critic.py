"""The critic: did the program do what the task asked?

Voyager asks GPT-4 every time. Most tasks are countable, though ("Mine 3 iron ore", "Craft 1
furnace"), and for those the inventory before and after the program says it exactly, for free and
without a model's mistakes. So: an error means failure (no LLM call, as in Voyager); a countable task
is judged by the inventory difference; anything else ("Equip", "Build", unusual wording) goes to
the LLM critic, whose JSON reply is parsed robustly (code fences, single quotes, trailing prose).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.ask import ChatLLM, ask
from lifelong.minecraft.action import render_observation
from lifelong.minecraft.gamedata import GameData, game_data

PROMPTS = Path(__file__).parent / "prompts"
TASK_RE = re.compile(
    r"^\s*(?P<verb>mine|craft|smelt|cook|kill|collect|obtain|get|gather|chop)\s+"
    r"(?P<count>\d+|an?|one)?\s*(?P<what>[a-z][a-z _\-]*?)\s*[.!]?\s*$",
    re.IGNORECASE,
)

EQUIP_RE = re.compile(r"^\s*equip\s+(?:an?\s+|the\s+|1\s+)?([a-z][a-z _\-]*?)\s*[.!]?\s*$", re.IGNORECASE)
RETRY_FORMAT = 'Answer with only a JSON object: {"reasoning": "...", "success": true or false, "critique": "..."}'


@dataclass
class Verdict:
    success: bool
    critique: str
    reasoning: str = ""
    method: str = "inventory"  # inventory | error | llm
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CountTask:
    """A task the inventory can check: gain ``count`` of any of ``items``."""

    verb: str
    count: int
    what: str
    items: tuple[str, ...]


def parse_count_task(task: str, data: GameData | None = None) -> CountTask | None:
    """'Mine 3 iron ore' -> CountTask(mine, 3, 'iron ore', ('iron_ore', 'raw_iron')); None if not countable."""
    m = TASK_RE.match(task)
    if not m:
        return None
    data = data or game_data()
    raw = (m.group("count") or "1").lower()
    count = int(raw) if raw.isdigit() else 1
    verb, what = m.group("verb").lower(), m.group("what").strip().lower()
    if verb == "kill":
        mob = data.normalise(what)
        items = tuple(data.guaranteed_mob_drops(mob)) if mob in data.entities else ()
    elif verb in ("smelt", "cook"):
        name = data.normalise(what)
        from lifelong.minecraft.gamedata import SMELTING  # the product of smelting X
        items = tuple(dict.fromkeys([SMELTING[name]] if name in SMELTING else data.items_for(what)))
    else:
        items = tuple(data.items_for(what))
    if not items:
        return None
    return CountTask(verb, count, what, items)


def inventory_gain(before: dict[str, int], after: dict[str, int], items: tuple[str, ...]) -> int:
    return sum(max(0, after.get(i, 0) - before.get(i, 0)) for i in items)


def check_inventory(task: CountTask, before: dict[str, int], after: dict[str, int]) -> Verdict:
    gained = inventory_gain(before, after, task.items)
    shown = ", ".join(f"{i}: {before.get(i, 0)} -> {after.get(i, 0)}" for i in task.items
                      if before.get(i, 0) or after.get(i, 0)) or f"no {task.what} in the inventory"
    detail = {"gained": gained, "needed": task.count, "items": list(task.items)}
    if gained >= task.count:
        return Verdict(True, "", f"gained {gained} {task.what} ({shown})", detail=detail)
    hint = {
        "mine": f"find {task.what} first (exploreUntil) and make sure the right tool is in the inventory",
        "craft": "check every ingredient (and a crafting table nearby for 3x3 recipes) before craftItem",
        "smelt": "place a furnace nearby and have enough fuel and input before smeltItem",
        "cook": "place a furnace nearby and have enough fuel and raw food before smeltItem",
        "kill": "find the mob (exploreUntil) and pick up its drops after killMob",
    }.get(task.verb, f"get {task.count} {task.what}")
    critique = f"The task needs {task.count} more {task.what}; the inventory gained {gained} ({shown}). Hint: {hint}."
    return Verdict(False, critique, critique, detail=detail)


def parse_critic_reply(text: str) -> tuple[bool, str, str]:
    """(success, critique, reasoning) from a reply that should be JSON but often is not quite."""
    obj = _first_json_object(text)
    if obj is None:
        m = re.search(r"success\W+(true|false|yes|no)", text, re.IGNORECASE)
        if not m:
            raise ValueError("the critic reply has no JSON object with a 'success' field")
        return m.group(1).lower() in ("true", "yes"), text.strip()[-500:], ""
    success = obj.get("success")
    if isinstance(success, str):
        success = success.strip().lower() in ("true", "yes", "1")
    if not isinstance(success, bool):
        raise ValueError("the critic reply's 'success' is not true or false")  # noqa: TRY004
    return success, str(obj.get("critique", "") or ""), str(obj.get("reasoning", "") or "")


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first {...} in ``text`` that parses as JSON (or as a Python literal: single quotes, True)."""
    text = re.sub(r"```(?:json)?", "", text)
    for start in (i for i, c in enumerate(text) if c == "{"):
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                chunk = text[start:end + 1]
                for loader in (json.loads, _py_literal):
                    try:
                        value = loader(chunk)
                    except (ValueError, SyntaxError):
                        continue
                    if isinstance(value, dict):
                        return value
                break
    return None


def _py_literal(chunk: str) -> Any:
    fixed = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", chunk))
    return ast.literal_eval(fixed)


class Critic:
    """Judge one program run. ``llm`` is only used for tasks the inventory cannot check."""

    def __init__(self, llm: ChatLLM | None, data: GameData | None = None, retries: int = 2) -> None:
        self.llm = llm
        self.data = data or game_data()
        self.retries = retries
        self.system = (PROMPTS / "critic.txt").read_text()

    def judge(self, task: str, context: str, before: dict[str, Any], after: dict[str, Any],
              error: str | None) -> Verdict:
        if error:
            return Verdict(False, f"The program failed with an error: {error.strip()[:600]}",
                           method="error")
        counted = parse_count_task(task, self.data)
        if counted is not None:
            return check_inventory(counted, before.get("inventory", {}), after.get("inventory", {}))
        if (m := EQUIP_RE.match(task)) and (item := self.data.normalise(m.group(1))) in self.data.items:
            worn = [v for v in (after.get("equipment") or {}).values() if v]
            if item in worn:
                return Verdict(True, "", f"{item} is equipped", detail={"equipment": worn})
            return Verdict(False, f"{item} is not equipped (equipment: {', '.join(worn) or 'nothing'}); "
                           f"get it first, then bot.equip it.", detail={"equipment": worn})
        return self._ask(task, context, after)

    def _ask(self, task: str, context: str, obs: dict[str, Any]) -> Verdict:
        if self.llm is None:
            return Verdict(False, f"'{task}' cannot be checked from the inventory and no critic LLM is set",
                           method="llm")
        messages = [{"role": "system", "content": self.system},
                    {"role": "user", "content": critic_user_message(task, context, obs)}]
        answer = ask(self.llm, "critic", messages, parse_critic_reply,
                     lambda problem: f"{problem}. {RETRY_FORMAT}", self.retries + 1)
        if answer.value is None:
            return Verdict(False, f"the critic gave no usable verdict ({answer.problem})", method="llm")
        success, critique, reasoning = answer.value
        return Verdict(success, critique, reasoning, method="llm")


def critic_user_message(task: str, context: str, obs: dict[str, Any]) -> str:
    """Voyager's critic prompt: the observation (no entities), the task and its context."""
    return "\n".join([*render_observation(obs, omit=("Nearby entities",)),
                      f"Task: {task}", f"Context: {context or 'None'}"])
