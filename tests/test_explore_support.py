"""Test doubles and builders for the Minecraft loop tests (no tests in this file).

``FakeMinecraftEnv`` stands in for :class:`lifelong.minecraft.env.MinecraftEnv` where a test must
not need Node or a server: it runs the *literal* primitive calls of a program (mineBlock, craftItem,
smeltItem with string names and number counts, and calls of the given skills) against a dict
inventory, using the real recipes. A ``throw new Error("...")`` statement fails the step with that
message and its line, as the real runner reports. It is a double of the body, never of the LLM client.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lifelong.config import LLMSettings
from lifelong.library import SkillLibrary
from lifelong.llm import LLM
from lifelong.minecraft.gamedata import SMELTING, game_data
from lifelong.minecraft.run import minecraft_world
from lifelong.runs import RunDir

CALL = re.compile(r'(?:await\s+)?(mineBlock|craftItem|smeltItem)\(bot,\s*"(\w+)"(?:,\s*"(\w+)")?(?:,\s*(\d+))?\)'
                  r'|await\s+(\w+)\(bot\)|throw new Error\("([^"]*)"\)')


class FakeMinecraftEnv:
    def __init__(self) -> None:
        self.inventory: dict[str, int] = {}
        self.position = {"x": 0.0, "y": 64.0, "z": 0.0}
        self.steps: list[tuple[str, list[dict[str, str]]]] = []
        self.resets: list[dict[str, Any]] = []
        self.closed = False

    def reset(self, seed=None, inventory=None, position=None, mode="hard"):
        self.resets.append({"seed": seed, "inventory": dict(inventory or {}), "position": position, "mode": mode})
        self.inventory = {k: v for k, v in (inventory or {}).items() if v > 0}
        if position:
            self.position = dict(position)
        return self._obs([], None)

    def step(self, code: str, skills=None):
        self.steps.append((code, list(skills or [])))
        chat: list[str] = []
        library = {s["name"]: s["code"] for s in skills or []}
        try:
            self._run(code, library, chat, depth=0)
            error = None
        except _Thrown as exc:
            error = {"type": "Error", "message": f"Error: {exc.message}\n  at line {exc.line} of the program",
                     "line": exc.line}
        self.position["x"] += 5.0
        return self._obs(chat, error)

    def close(self) -> None:
        self.closed = True

    def _run(self, code: str, library: dict[str, str], chat: list[str], depth: int) -> None:
        for m in CALL.finditer(code):
            prim, name, fuel, count, skill, thrown = m.groups()
            if thrown is not None:
                raise _Thrown(thrown, code[: m.start()].count("\n") + 1)
            if skill:
                if skill in library and depth < 5:
                    self._run(library[skill], library, chat, depth + 1)
                continue
            self._primitive(prim, name, fuel, int(count or 1), chat)

    def _primitive(self, prim: str, name: str, fuel: str | None, count: int, chat: list[str]) -> None:
        data = game_data()
        if prim == "mineBlock":
            drop = data.drops_of_block(name)[0] if data.drops_of_block(name) else name
            self._add(drop, count)
        elif prim == "craftItem":
            recipe = next((r for r in data.recipes.get(name, []) if all(
                self.inventory.get(i, 0) >= n * count for i, n in r.ingredients)), None)
            if recipe is None:
                chat.append(f"cannot craft {name}: missing ingredients")
                return
            for i, n in recipe.ingredients:
                self._add(i, -n * count)
            self._add(name, recipe.count * count)
        elif prim == "smeltItem":
            if self.inventory.get(name, 0) < count or not fuel or self.inventory.get(fuel, 0) < 1:
                chat.append(f"cannot smelt {name}")
                return
            self._add(name, -count)
            self._add(fuel, -1)
            self._add(SMELTING[name], count)

    def _add(self, item: str, n: int) -> None:
        self.inventory[item] = self.inventory.get(item, 0) + n
        if self.inventory[item] <= 0:
            del self.inventory[item]

    def _obs(self, chat: list[str], error: dict | None) -> dict[str, Any]:
        return {"inventory": dict(self.inventory), "inventory_slots_used": len(self.inventory),
                "position": dict(self.position), "voxels": ["grass_block", "oak_log", "stone"],
                "blocks_seen": ["sand"], "entities": {"cow": 9.5}, "biome": "plains", "time_of_day": "day",
                "health": 20, "food": 20, "equipment": {"mainhand": None}, "chests": {},
                "chat": chat, "error": error}


class _Thrown(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def make_world(base_url: str, tmp: Path, env=None, curriculum=None, embedder=None, resume=False,
               models: dict[str, str] | None = None):
    """A MinecraftWorld (wired by :func:`lifelong.minecraft.run.minecraft_world`, as every run is)
    on a real LLM client pointed at ``base_url`` (a local ChatServer)."""
    settings = LLMSettings(base_url=base_url, max_retries=3, **({"models": models} if models else {}))
    run = RunDir(tmp / "run", resume=resume)
    llm = LLM(settings, run_dir=run.path, cache_dir=None)
    library = SkillLibrary(tmp / "library", embedder=embedder)
    env = env or FakeMinecraftEnv()
    world = minecraft_world(llm, library, run, env, curriculum=curriculum,
                            docs="// mineBlock(bot, name, count): mine blocks")
    return world, env, library, run, llm


def reply(code: str, explain: str = "ok") -> str:
    return f"Explain: {explain}\nPlan:\n1) do it\nCode:\n```javascript\n{code}\n```"
