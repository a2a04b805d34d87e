"""The planner back end: a deterministic program, NOT a language model, behind an OpenAI-compatible API.

These machines have no LLM. To run (and test, and benchmark) the whole Voyager loop offline, the
planner answers the same prompts the agents send to an LLM, over the same HTTP interface
(:class:`lifelong.openai_server.ChatServer`), so nothing in the agents knows or cares:

* **curriculum**: walks the recipe tree of minecraft-data from the completed tasks towards the next
  tech-tree goal (wooden -> stone -> iron -> diamond tools, then more tools, food, light, storage)
  and proposes the first unmet prerequisite: a discovery order that mirrors what GPT-4 proposes;
* **action**: writes a real JavaScript program from the recipe and drop tables, composed from the
  primitives and from the library skills listed in the prompt (so later skills call earlier ones);
* **critic / describer / qa**: answers from the prompt's inventory, the code and the game data.

It is a baseline for curriculum benchmarks and the offline demo. Everything it writes says
"planner" so its output is never mistaken for a language model's.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.minecraft.action import PROMPTS, primitive_names
from lifelong.minecraft.gamedata import SMELTING, TOOL_TIERS, GameData, Recipe, game_data
from lifelong.openai_server import ChatServer

PLANNER_MODEL = "planner"  # models are named planner-<role>; the prefix marks every reply's source
LABEL = "planner (not an LLM)"  # the words every record, table and figure of a planner run carries
PRIMITIVES = primitive_names()
# Blocks the world generates (bridges/server/worldgen.js; vanilla has them too): what can be mined at all.
NATURAL = {
    "grass_block", "dirt", "stone", "deepslate", "sand", "gravel", "clay", "snow_block",
    "coal_ore", "iron_ore", "copper_ore", "gold_ore", "redstone_ore", "lapis_ore", "diamond_ore",
    "emerald_ore", "deepslate_coal_ore", "deepslate_iron_ore", "deepslate_copper_ore",
    "deepslate_gold_ore", "deepslate_redstone_ore", "deepslate_lapis_ore", "deepslate_diamond_ore",
}
# What the curriculum steers towards once the basics are done, in order: the tech tree first.
GOALS = (
    "wooden_pickaxe", "stone_pickaxe", "iron_pickaxe", "stone_sword", "stone_axe", "torch",
    "chest", "iron_sword", "bucket", "shield", "iron_axe", "iron_shovel", "cooked_beef",
    "glass", "iron_helmet", "diamond_pickaxe", "diamond_sword",
)
DIRECTIONS = ((1, 0, 1), (-1, 0, 1), (1, 0, -1), (-1, 0, -1), (1, 0, 0), (0, 0, 1), (-1, 0, 0), (0, 0, -1))
# Where to put a crafting table or furnace, nearest first: around the bot, then a level down, then up
# (a bot that dug down stands in a hole where the ring at its feet is all rock). Up comes last: to
# reach a table above it the pathfinder builds steps out of the inventory, eating ingredients.
SPOTS = sorted(([x, y, z] for y in (0, 1, -1) for x in range(-2, 3) for z in range(-2, 3)
                if (x, z) != (0, 0)), key=lambda p: ((0, -1, 1).index(p[1]), abs(p[0]) + abs(p[2]), p))
WOODEN_VARIANT = re.compile(r"^(oak|spruce|birch|jungle|acacia|dark_oak|mangrove|cherry|bamboo|crimson|warped|pale_oak)_")
DEEP_ORES = ("diamond", "redstone", "lapis", "gold", "emerald")
LOG_RE = re.compile(r"^(?!stripped_)\w+_log$")


# ---- items as the planner thinks of them: two groups (any log, any planks) plus real names ------


def canon(item: str) -> str:
    """Wood variants do not matter to a plan: every log is 'log', every planks item 'planks'."""
    if LOG_RE.match(item):
        return "log"
    if item.endswith("_planks"):
        return "planks"
    return item


def words(key: str) -> str:
    return {"log": "wood log", "planks": "planks"}.get(key, key.replace("_", " "))


@dataclass
class Method:
    """How to get one item: mine a block, craft a recipe, smelt an input, or kill a mob."""

    kind: str  # mine | craft | smelt | kill
    key: str
    blocks: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # any of these can harvest (empty: by hand)
    recipe: Recipe | None = None
    ingredients: list[tuple[str, int]] = field(default_factory=list)  # canonical keys, per run
    source: str = ""  # smelting input or mob


class Knowledge:
    """Answers 'how do I get X' from minecraft-data, for the curriculum and the program writer."""

    def __init__(self, data: GameData | None = None) -> None:
        self.data = data or game_data()
        self._cache: dict[str, Method | None] = {}

    def names(self, key: str) -> list[str]:
        if key == "log":
            return sorted(n for n in self.data.items if LOG_RE.match(n))
        if key == "planks":
            return sorted(n for n in self.data.items if n.endswith("_planks"))
        return [key]

    def method(self, key: str) -> Method | None:
        if key not in self._cache:
            self._cache[key] = self._method(key)
        return self._cache[key]

    def _method(self, key: str) -> Method | None:
        data = self.data
        if key == "log":
            return Method("mine", key, blocks=[n for n in self.names("log") if n in data.blocks])
        item = "oak_planks" if key == "planks" else key
        blocks = [b for b in data.blocks_dropping(item) if b in NATURAL]
        if blocks:
            blocks.sort(key=lambda b: (b != "stone", b.startswith("deepslate_"), b))
            tools = data.harvest_tools(blocks[0])
            tools.sort(key=lambda t: TOOL_TIERS.index(t.split("_")[0]) if t.split("_")[0] in TOOL_TIERS else 9)
            return Method("mine", key, blocks=blocks, tools=tools)
        inputs = [i for i in data.smelt_inputs(item) if not i.endswith("_ore") and i in data.items]
        if inputs:
            return Method("smelt", key, source=inputs[0])
        recipe = self._best_recipe(item)
        if recipe is not None:
            ingredients = {}
            for name, n in recipe.ingredients:
                ingredients[canon(name)] = ingredients.get(canon(name), 0) + n
            return Method("craft", key, recipe=recipe, ingredients=sorted(ingredients.items()))
        mobs = data.mobs_dropping(item)
        if mobs:
            mob = "cow" if "cow" in mobs else mobs[0]
            return Method("kill", key, source=mob)
        return None

    def _best_recipe(self, item: str) -> Recipe | None:
        """The plain recipe: oak over other woods, the most output, the fewest exotic ingredients."""
        recipes = self.data.recipes.get(item, [])
        if not recipes:
            return None

        def cost(r: Recipe) -> tuple:
            exotic = sum(1 for name, _ in r.ingredients
                         if canon(name) not in ("log", "planks") and name not in NATURAL
                         and not self.data.recipes.get(name) and not self.data.blocks_dropping(name)
                         and not self.data.smelt_inputs(name))
            odd_wood = sum(1 for name, _ in r.ingredients
                           if canon(name) in ("log", "planks") and not name.startswith("oak_"))
            storage = sum(1 for name, _ in r.ingredients if name.endswith(("_block", "_nugget")))
            # deepslate and blackstone variants, and smelted fuels, are harder to come by
            rare = sum(1 for name, _ in r.ingredients
                       if "deepslate" in name or "blackstone" in name or name == "charcoal")
            return (exotic, storage, rare, odd_wood, -r.count, len(r.ingredients))

        return min(recipes, key=cost)

    def prerequisites(self, m: Method) -> list[tuple[str, int]]:
        """What must exist before ``m`` can run once: tools, stations, ingredients."""
        if m.kind == "mine":
            return [(m.tools[0], 1)] if m.tools else []
        if m.kind == "craft":
            table = [("crafting_table", 1)] if m.recipe and m.recipe.needs_table else []
            return table + sorted(m.ingredients, key=lambda kv: -self.depth(kv[0]))
        if m.kind == "smelt":
            return [("furnace", 1), (canon(m.source), 3), ("coal", 1)]
        return []

    def depth(self, key: str, seen: frozenset[str] = frozenset()) -> int:
        m = self.method(key)
        if m is None or key in seen or m.kind != "craft":
            return 0
        return 1 + max((self.depth(k, seen | {key}) for k, _ in m.ingredients), default=0)

    # ---- tasks <-> keys ----------------------------------------------------------------

    def task_for(self, key: str, count: int) -> str | None:
        m = self.method(key)
        if m is None:
            return None
        if m.kind == "mine":
            block = m.blocks[0]
            what = words(key) if key in ("log", "cobblestone") or block == key else words(block)
            if key != "log" and not block.endswith("_ore") and key != block and key != "cobblestone":
                what = words(key)
            return f"Mine {count} {what}"
        if m.kind == "craft":
            runs = max(1, math.ceil(count / m.recipe.count)) if m.recipe else 1
            return f"Craft {runs * (m.recipe.count if m.recipe else 1)} {words(key)}"
        if m.kind == "smelt":
            return f"Smelt {count} {words(m.source)}"
        return f"Kill 1 {words(m.source)}"

    def task_key(self, task: str) -> str | None:
        """The item a task is about: 'Mine 3 iron ore' -> 'raw_iron', 'Craft 4 planks' -> 'planks'."""
        from lifelong.minecraft.critic import parse_count_task

        spec = parse_count_task(task, self.data)
        if spec is None:
            return None
        keys = {canon(i) for i in spec.items}
        if len(keys) == 1:
            return keys.pop()
        if spec.verb in ("mine", "collect", "obtain", "get", "gather", "chop"):
            block = self.data.normalise(spec.what)
            drops = [canon(d) for d in self.data.drops_of_block(block) if d != block]
            if drops:
                return drops[0]
        return canon(spec.items[-1])


# ---- prompt reading -----------------------------------------------------------------------------


def fields(text: str) -> dict[str, str]:
    """'Key: value' lines of a prompt (the last occurrence wins)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Za-z ]{1,40}?)(?: \([^)]*\))?:\s?(.*)$", line)
        if m:
            out[m.group(1).strip()] = m.group(2).strip()
    return out


def parse_inventory(value: str) -> dict[str, int]:
    value = (value or "").strip()
    if not value or value.lower() == "empty":
        return {}
    try:
        obj = json.loads(value)
    except json.JSONDecodeError:
        obj = {k: int(v) for k, v in re.findall(r"'?([a-z_]+)'?\s*:\s*(\d+)", value)}
    return {str(k): int(v) for k, v in obj.items()} if isinstance(obj, dict) else {}


def parse_list(value: str) -> list[str]:
    value = (value or "").strip()
    if not value or value.lower() in ("none", "[]"):
        return []
    return [t.strip() for t in value.split(",") if t.strip()]


def defined_functions(text: str) -> list[str]:
    return re.findall(r"async\s+function\s+([A-Za-z_$][\w$]*)\s*\(", text)


def camel(task: str) -> str:
    parts = re.findall(r"[A-Za-z]+", task)
    return parts[0].lower() + "".join(p.capitalize() for p in parts[1:]) if parts else "doTask"


def uncamel(name: str) -> str:
    """'mineIronOre' -> 'Mine 1 iron ore' (the task a planner-written skill was named after)."""
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)
    if len(parts) < 2:
        return ""
    return f"{parts[0].capitalize()} 1 {' '.join(p.lower() for p in parts[1:])}"


# ---- the curriculum -----------------------------------------------------------------------------


class PlannerCurriculum:
    """Next task = first unmet prerequisite of the first reachable goal (tech tree first)."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge

    def next_task(self, completed: list[str], failed: list[str], inventory: dict[str, int],
                  nearby: Iterable[str] = ()) -> tuple[str, str]:
        done = {key for t in completed if (key := self.k.task_key(t))}
        blocked = {key for t in failed if (key := self.k.task_key(t))} - done
        tried = {t.lower() for t in completed + failed}
        for goal in GOALS:
            goal_key = canon(goal)
            if goal_key in done:
                continue
            found = self._first_missing(goal_key, done, blocked, frozenset())
            if found and found != "BLOCKED":
                key, need = found
                task = self.k.task_for(key, need)
                if task and task.lower() not in tried:
                    why = f"{words(goal_key)} is the next goal of the tech tree; it needs {words(key)} first" \
                        if key != goal_key else f"everything {words(goal_key)} needs is done"
                    return task, why
        return self._discover(done, blocked, tried, nearby)

    def _first_missing(self, key: str, done: set[str], blocked: set[str], path: frozenset[str],
                       need: int = 1) -> tuple[str, int] | str | None:
        if key in done:
            return None
        if key in path or key in blocked:
            return "BLOCKED"
        m = self.k.method(key)
        if m is None:
            return "BLOCKED"
        for pre, n in self.k.prerequisites(m):
            found = self._first_missing(pre, done, blocked, path | {key}, n)
            if found is not None:
                return found
        return key, max(1, min(need, 8))

    def _discover(self, done: set[str], blocked: set[str], tried: set[str],
                  nearby: Iterable[str]) -> tuple[str, str]:
        """Past the goals: mine a block not collected yet, else craft anything makeable now."""
        for block in sorted(set(nearby)):
            for item in self.k.data.drops_of_block(block):
                key = canon(item)
                if key not in done and key not in blocked and self.k.method(key):
                    task = self.k.task_for(key, 1)
                    if task and task.lower() not in tried:
                        return task, f"{words(block)} is nearby and not collected yet"
        makeable = []  # cheapest first: a new item for few resources beats an anvil
        for item in self.k.data.recipes:
            if WOODEN_VARIANT.match(item):
                continue  # boats, doors, signs of one wood need that wood's planks: the plan merges woods
            key = canon(item)
            m = self.k.method(key)
            if key in done or key in blocked or m is None or m.kind != "craft":
                continue
            if all(p in done for p, _ in self.k.prerequisites(m)):
                makeable.append((sum(n for _, n in m.ingredients), key))
        for _, key in sorted(makeable):
            task = self.k.task_for(key, 1)
            if task and task.lower() not in tried:
                return task, f"every ingredient of {words(key)} can already be made"
        return "Mine 1 wood log", "nothing new is reachable; gather more wood"


# ---- task decomposition (Voyager's zero-shot protocol) -------------------------------------------

# Where to dig down to before mining a deep ore: inside its band in our world generator
# (bridges/server/worldgen.js, ORES: diamond -16..14 with most veins at the bottom, gold peaking at
# -8, redstone -16..15, lapis peaking at 0) and above the bedrock, which reaches up to y=-13. From
# there a 32-block search covers the whole band; from the surface (y 56-100) it covers none of it.
DEEP_LEVEL = {"diamond": -8, "redstone": -4, "gold": -4, "lapis": 0, "emerald": -4}
DIG_RE = re.compile(r"^\s*dig down to y\s*=\s*(-?\d+)\s*\.?\s*$", re.IGNORECASE)
TOOL_RE = re.compile(r"_(pickaxe|axe|shovel|hoe|sword)$")
STATIONS = ("crafting_table", "furnace")


def deep_level(m: Method | None) -> int | None:
    """The y to dig down to before mining with ``m``; None for anything within reach of the surface."""
    if m is None or m.kind != "mine" or not m.blocks:
        return None
    return next((level for ore, level in DEEP_LEVEL.items() if ore in m.blocks[0]), None)


def dig_task(level: int) -> str:
    return f"Dig down to y={level}"


@dataclass
class Demand:
    """How many of one item the plan makes: before digging down (``pre``) and to carry down (``post``)."""

    pre: int = 0
    post: int = 0
    uses: dict[str, int] = field(default_factory=dict)  # consumer -> how many it needs


class Decomposer:
    """Answers Voyager's decomposition prompt from the recipe graph: the subgoals for a final task.

    The plan is every item the task needs, producers before consumers, with counts summed over the
    whole tree and what the inventory already holds taken off. Two refinements make it work:

    * **the library**: an item a library skill makes is left to that skill (its callers call it),
      except tools (Voyager's criterion: each level of tools is a subgoal) and what must be carried;
    * **deep ores** (diamond, gold, redstone, lapis): everything the underground part needs is made
      on the surface first (the crafting table, furnace, sticks, fuel and ingots its last steps
      use), then "Dig down to y=N" (skipped when the bot is already that deep), then the ores and
      what is made of them.
    """

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge

    def decompose(self, task: str, inventory: dict[str, int], skills: dict[str, str] | None = None,
                  y: float | None = None) -> list[str]:
        """Subgoals ending with ``task``; ``skills`` maps library skill names to the tasks they learned."""
        from lifelong.minecraft.critic import parse_count_task

        goal = self.k.task_key(task)
        spec = parse_count_task(task, self.k.data)
        if goal is None or spec is None or self.k.method(goal) is None:
            return [task]  # nothing the recipe graph knows: the task itself, for the action agent
        order = self._order(goal)
        deep = self._deep(order)
        demand = self._demand(goal, spec.count, order, deep, inventory)
        keep = self._kept(goal, order, deep, demand, skills)
        plan = [self._task(key, demand[key].pre) for key in order
                if key not in deep and demand[key].pre and key in keep]
        plan += [self._task(key, demand[key].post) for key in order if key not in deep and demand[key].post]
        if deep:
            level = min(deep_level(self.k.method(key)) for key in deep if deep_level(self.k.method(key)) is not None)
            if y is None or y > level + 2:
                plan.append(dig_task(level))
            plan += [self._task(key, demand[key].post) for key in order if key in deep and demand[key].post]
        if plan and self.k.task_key(plan[-1]) == goal:
            plan.pop()  # the user's own words end the plan: the critic judges exactly what was asked
        return [t for t in plan if t] + [task]

    def _kept(self, goal: str, order: list[str], deep: set[str], demand: dict[str, Demand],
              skills: dict[str, str] | None) -> set[str]:
        """The items that get a subgoal of their own. Without a library: all. With one, an item a
        skill makes is left to the programs that need it, unless it is a tool (each level of tools
        is a subgoal), deep, or a kept item needs more of it at once than one call of the skill
        makes (one program looping over a skill many times would not finish in the step limit)."""
        if skills is None:
            return set(order)
        covered = self._covered(skills)
        kept: set[str] = set()
        for key in reversed(order):  # consumers first
            uses = demand[key].uses
            if key == goal or key in deep or TOOL_RE.search(key) or key not in covered or any(
                    n > covered[key] for consumer, n in uses.items() if consumer in kept):
                kept.add(key)
        return kept

    def _task(self, key: str, count: int) -> str:
        return self.k.task_for(key, count) or ""

    def _inputs(self, m: Method) -> list[tuple[str, float, str]]:
        """(key, amount per item made, kind) for one method; kind is tool, station or ingredient."""
        if m.kind == "mine":
            return [(m.tools[0], 0, "tool")] if m.tools else []
        if m.kind == "craft":
            assert m.recipe is not None
            table = [("crafting_table", 0, "station")] if m.recipe.needs_table else []
            return table + [(key, n / m.recipe.count, "ingredient") for key, n in m.ingredients]
        if m.kind == "smelt":
            return [("furnace", 0, "station"), (canon(m.source), 1, "ingredient"), ("coal", 1 / 8, "fuel")]
        return []

    def _order(self, goal: str) -> list[str]:
        """Every item under ``goal``, producers first (a depth-first post-order of the recipe graph)."""
        order: list[str] = []

        def visit(key: str, path: frozenset[str]) -> None:
            if key in order or key in path:
                return
            m = self.k.method(key)
            for pre, _, _ in (self._inputs(m) if m else []):
                visit(pre, path | {key})
            order.append(key)

        visit(goal, frozenset())
        return order

    def _deep(self, order: list[str]) -> set[str]:
        """Deep ores and everything made of them (not what merely uses a tool made of them)."""
        deep: set[str] = set()
        for key in order:  # producers come first, so one pass suffices
            m = self.k.method(key)
            if deep_level(m) is not None or any(
                    pre in deep for pre, _, kind in (self._inputs(m) if m else []) if kind != "tool"):
                deep.add(key)
        return deep

    def _demand(self, goal: str, count: int, order: list[str], deep: set[str],
                inventory: dict[str, int]) -> dict[str, Demand]:
        """Consumers before producers: what each item's makers need, less what the inventory holds."""
        demand = {key: Demand() for key in order}
        if goal in deep:
            demand[goal].post = count
        else:
            demand[goal].pre = count
        stock: dict[str, int] = {}
        for name, n in inventory.items():
            stock[canon(name)] = stock.get(canon(name), 0) + n
        for key in reversed(order):
            d = demand[key]
            have = self._have(key, stock)
            from_stock = min(d.post, have)  # what is in the inventory serves the trip down first
            d.post -= from_stock
            d.pre = max(0, d.pre - (have - from_stock))
            m = self.k.method(key)
            if m is None or not (d.pre or d.post):
                continue
            for pre, per, kind in self._inputs(m):
                before = demand[pre].pre + demand[pre].post
                self._add(demand[pre], kind, per, m, d, key in deep)
                demand[pre].uses[key] = demand[pre].pre + demand[pre].post - before
        return demand

    def _add(self, d: Demand, kind: str, per: float, m: Method, made: Demand, made_deep: bool) -> None:
        """Add one input's demand. Tools stay in the inventory, so one is enough wherever it is used.
        A station used underground gets a subgoal of its own right before the dig: the planner's
        programs take theirs back after use, but a library skill may have left it on the surface
        (measured: a compass run lost 6 rounds climbing out for wood to make a table)."""
        runs = lambda n: math.ceil(n / m.recipe.count) * m.recipe.count if m.recipe and n else n
        if kind == "tool" or (kind == "station" and not made_deep):
            d.pre = max(d.pre, 1)
            return
        if kind == "station":
            d.post = max(d.post, 1)
            return
        amounts = [math.ceil(runs(made.pre) * per), math.ceil(runs(made.post) * per)]
        if made_deep:
            d.post += sum(amounts)
        else:
            d.pre += sum(amounts)

    def _have(self, key: str, stock: dict[str, int]) -> int:
        """Inventory count of ``key``; a tool of the same kind and a better tier counts as one."""
        if TOOL_RE.search(key) and key.split("_")[0] in TOOL_TIERS:
            tier, kind = key.split("_", 1)
            better = TOOL_TIERS[TOOL_TIERS.index(tier):]
            return max(stock.get(f"{t}_{kind}", 0) for t in better)
        return stock.get(key, 0)

    def _covered(self, skills: dict[str, str]) -> dict[str, int]:
        """Item -> how many one call of a library skill makes (the count of the task it learned).
        A plan needing more gets its own subgoal: one program looping over a skill many times would
        not finish within the step limit."""
        from lifelong.minecraft.critic import parse_count_task

        made: dict[str, int] = {}
        for name, task in skills.items():
            task = task or uncamel(name)
            key, spec = self.k.task_key(task), parse_count_task(task, self.k.data)
            if key and spec:
                made[key] = max(made.get(key, 0), spec.count)
        return made


# ---- the program writer -------------------------------------------------------------------------


class ProgramWriter:
    """Writes a Voyager-style JS skill for a task from the primitives and the skills it may call."""

    def __init__(self, knowledge: Knowledge, skills: Iterable[str], round_hint: int = 0) -> None:
        self.k = knowledge
        self.skill_for: dict[str, str] = {}
        for name in skills:
            if name in PRIMITIVES:
                continue
            key = self.k.task_key(uncamel(name))
            if key and key not in self.skill_for:
                self.skill_for[key] = name
        self.round_hint = round_hint
        self.calls: list[str] = []

    def write(self, task: str) -> tuple[str, list[str]]:
        """(code, plan steps) for ``task``; raises ValueError when the planner has no method."""
        from lifelong.minecraft.critic import parse_count_task

        if (chest := self._chest_task(task)) is not None:
            return chest
        if (m := DIG_RE.match(task)) is not None:
            return self._dig_task(task, int(m.group(1)))
        spec = parse_count_task(task, self.k.data)
        key = self.k.task_key(task)
        method = self.k.method(key) if key else None
        if spec is None or method is None:
            raise ValueError(f"the planner knows no way to do '{task}'")
        name = camel(task)
        self.skill_for.pop(key, None)  # the program must do the work itself, not call a namesake
        self.skill_for = {k: v for k, v in self.skill_for.items() if v != name}
        plan: list[str] = []
        body = self._do(method, spec.count, plan, indent="  ", top=True)
        header = [
            f"// Written by the lifelong planner (deterministic, not a language model) for: {task}",
            f"async function {name}(bot) {{",
            ("  const have = (names) => bot.inventory.items()"
             ".filter((it) => names.includes(it.name)).reduce((n, it) => n + it.count, 0);"),
        ]
        code = "\n".join(header + body + [f'  bot.chat("{task}: done");', "}"]) + "\n"
        return code, plan

    def _chest_task(self, task: str) -> tuple[str, list[str]] | None:
        """The curriculum's inventory-full tasks: place a chest, deposit what is not a tool or fuel."""
        name = camel(task)
        head = [f"// Written by the lifelong planner (deterministic, not a language model) for: {task}",
                f"async function {name}(bot) {{",
                ("  const have = (names) => bot.inventory.items()"
                 ".filter((it) => names.includes(it.name)).reduce((n, it) => n + it.count, 0);")]
        if re.match(r"^place (?:a|1) chest$", task.strip(), re.IGNORECASE):
            plan: list[str] = []
            body = self._station("chest", plan, "  ", 0, track=False).copy()
            body = body[1:-1]  # place one even if another chest is in reach
            body = [line[2:] for line in body]
            return "\n".join(head + body + [f'  bot.chat("{task}: done");', "}"]) + "\n", plan
        m = re.match(r"^deposit .*chest at \(?\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)?$", task.strip(), re.IGNORECASE)
        if m:
            keep = r"/(_pickaxe|_axe|_sword|_shovel|_hoe|^crafting_table|^furnace|^torch|_log|_planks|^stick|^coal|_ingot|^raw_)/"
            body = [
                f"  const keep = {keep};",
                "  const items = {};",
                "  for (const it of bot.inventory.items()) if (!keep.test(it.name)) items[it.name] = (items[it.name] || 0) + it.count;",
                f"  await depositItemIntoChest(bot, new Vec3({m.group(1)}, {m.group(2)}, {m.group(3)}), items);",
            ]
            plan = ["walk to the chest", "deposit everything that is not a tool, fuel, wood or metal"]
            return "\n".join(head + body + [f'  bot.chat("{task}: done");', "}"]) + "\n", plan
        return None

    # -- steps --

    def _direction(self, salt: str) -> str:
        i = (zlib.crc32(salt.encode()) + self.round_hint) % len(DIRECTIONS)
        return "new Vec3({}, {}, {})".format(*DIRECTIONS[i])

    def _mine_direction(self, m: Method) -> str:
        """Deep ores are dug down to first (:meth:`_dig_lines`): from there, search sideways. Others
        too deep for a level of its own (``DEEP_ORES`` without a ``DEEP_LEVEL``) dig down on the first
        try, then alternate with walking, since the surface search of 32 blocks never reaches them."""
        deep = any(d in m.blocks[0] for d in DEEP_ORES) and deep_level(m) is None
        if deep and self.round_hint % 2 == 0:
            return "new Vec3(0, -1, 0)"
        return self._direction(m.key)

    def _dig_task(self, task: str, level: int) -> tuple[str, list[str]]:
        """'Dig down to y=N': a shaft straight down, then a little room to place a table or furnace."""
        plan: list[str] = []
        body = self._dig_lines(level, "  ", 0, plan)
        code = "\n".join([
            f"// Written by the lifelong planner (deterministic, not a language model) for: {task}",
            f"async function digDownToY{'Minus' if level < 0 else ''}{abs(level)}(bot) {{", *body,
            f'  if (bot.entity.position.y > {level} + 1) throw new Error(`stopped at y=${{Math.floor(bot.entity.position.y)}}, above y={level}`);',
            f'  bot.chat(`{task}: at y=${{Math.floor(bot.entity.position.y)}}`);', "}"]) + "\n"
        return code, plan

    @staticmethod
    def _dig_lines(level: int, indent: str, depth: int, plan: list[str] | None = None) -> list[str]:
        """Dig straight down to ``level`` with the best pickaxe, then clear the blocks around the
        bot at its feet and head. Why a shaft: the pathfinder (exploreUntil down, collectblock)
        plans a dug path block by block and spends most of a 180 s step thinking, while a shaft
        costs one dig per block (measured: README, "Deep resources"). Falls do no damage here
        (flying-squid has none) and fluids do not flow. Stops at bedrock."""
        if plan is not None:
            plan += [f"equip the best pickaxe and dig the blocks under the bot until y={level}",
                     "clear the blocks around the bot to make room for a crafting table or furnace"]
        d = depth
        return [
            f'{indent}const pick{d} = ["netherite_pickaxe", "diamond_pickaxe", "iron_pickaxe", "stone_pickaxe", "wooden_pickaxe"]',
            f"{indent}  .map((n) => bot.inventory.items().find((it) => it.name === n)).find(Boolean);",
            f'{indent}if (!pick{d}) throw new Error("no pickaxe to dig down with");',
            f'{indent}await bot.equip(pick{d}, "hand");',
            f"{indent}const under{d} = () => {{ const p = bot.entity.position; const out = [];",
            f"{indent}  for (const dx of [-0.3, 0.3]) for (const dz of [-0.3, 0.3]) {{",
            f"{indent}    const b = bot.blockAt(new Vec3(Math.floor(p.x + dx), Math.floor(p.y) - 1, Math.floor(p.z + dz)));",
            f"{indent}    if (b && !out.some((o) => o.position.equals(b.position))) out.push(b); }}",
            f"{indent}  return out; }};",
            f"{indent}for (let n = 0, stuck = 0; bot.entity.position.y > {level} + 0.5 && n < 400; n++) {{",
            f"{indent}  const y0 = bot.entity.position.y;",
            f"{indent}  for (const b of under{d}()) {{",
            f'{indent}    if (b.name === "bedrock") throw new Error(`bedrock at y=${{b.position.y}}, above y={level}`);',
            f'{indent}    if (b.boundingBox === "block" && bot.canDigBlock(b)) await bot.dig(b, true);',
            f"{indent}  }}",
            f"{indent}  await bot.waitForTicks(3);",
            f"{indent}  for (let t = 0; t < 20 && !bot.entity.onGround; t++) await bot.waitForTicks(1);",
            f"{indent}  stuck = bot.entity.position.y < y0 - 0.5 ? 0 : stuck + 1;",
            f'{indent}  if (stuck > 8) throw new Error(`could not dig below y=${{Math.floor(bot.entity.position.y)}}`);',
            f"{indent}}}",
            f"{indent}const here{d} = bot.entity.position.floored();",
            f"{indent}for (const [dx, dz] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) for (const dy of [1, 0]) {{",
            f"{indent}  const b = bot.blockAt(here{d}.offset(dx, dy, dz));",
            f'{indent}  if (b && b.boundingBox === "block" && b.name !== "bedrock" && bot.canDigBlock(b)) await bot.dig(b, true);',
            f"{indent}}}",
        ]

    def _names(self, key: str) -> str:
        return json.dumps(self.k.names(key))

    def _ensure(self, key: str, need: int, plan: list[str], indent: str, depth: int) -> list[str]:
        """Make sure ``need`` of ``key`` are in the inventory: call a skill, else inline the method."""
        names = self.k.names(key)
        if key.endswith(("_pickaxe", "_axe", "_shovel")):
            kind = key.split("_", 1)[1]
            tier = key.split("_")[0]
            better = [t for t in TOOL_TIERS[TOOL_TIERS.index(tier):] if t != "golden" or tier == "golden"] \
                if tier in TOOL_TIERS else [tier]
            names = [f"{t}_{kind}" for t in better if f"{t}_{kind}" in self.k.data.items]
        have = f"have({json.dumps(names)})"
        if key in self.skill_for:
            skill = self.skill_for[key]
            if skill not in self.calls:
                self.calls.append(skill)
            plan.append(f"make sure there are {need} {words(key)}, calling {skill} if not")
            tries = min(need, 6) + 1
            return [f"{indent}for (let i = 0; i < {tries} && {have} < {need}; i++) await {skill}(bot);"]
        m = self.k.method(key)
        if m is None or depth > 4:
            plan.append(f"check that there are {need} {words(key)} (the planner has no way to make it)")
            return [f'{indent}if ({have} < {need}) bot.chat("missing {words(key)}: need {need}");']
        inner = self._do(m, f"{need} - {have}", plan, indent + "  ", depth=depth + 1)
        return [f"{indent}if ({have} < {need}) {{"] + inner + [f"{indent}}}"]

    def _do(self, m: Method, count: int | str, plan: list[str], indent: str, top: bool = False,
            depth: int = 0) -> list[str]:
        step = {"mine": self._mine, "craft": self._craft, "smelt": self._smelt, "kill": self._kill}[m.kind]
        return step(m, count, plan, indent, depth)

    def _station(self, station: str, plan: list[str], indent: str, depth: int, track: bool = True) -> list[str]:
        """A crafting table or furnace within reach: reuse one there, else make and place one next to
        the bot (``track``: remember it, for :meth:`_take_back`). Only one in reach is reused: one
        placed earlier and further away may stand where the pathfinder cannot get back to, e.g.
        the rim of the pit the bot dug ("cannot reach the crafting table", then the runner's stuck
        detector; measured in solve runs, README "Deep resources")."""
        plan.append(f"use a {words(station)} within reach, or get one and place it next to the bot")
        offsets = json.dumps(SPOTS)
        flag = f"placed{camel(words(station)).capitalize()}{depth}"
        reach = 4 if track else 32
        lines = [f"{indent}let {flag} = null;"] if track else []
        lines += [f"{indent}if (!bot.findBlock({{ matching: mcData.blocksByName.{station}.id, maxDistance: {reach} }})) {{"]
        lines += self._ensure(station, 1, plan, indent + "  ", depth)
        lines += [
            f"{indent}  const spotFor = () => {offsets}.map(([x, y, z]) => bot.entity.position.floored().offset(x, y, z))",
            f"{indent}    .find((p) => {{ const b = bot.blockAt(p); const under = bot.blockAt(p.offset(0, -1, 0));",
            f'{indent}      return b && ["air", "cave_air", "short_grass", "tall_grass", "snow", "water"].includes(b.name) && under && under.boundingBox === "block"; }});',
            f"{indent}  const spot = spotFor() || await exploreUntil(bot, {self._direction(station)}, 30, spotFor);",
            f'{indent}  if (!spot) throw new Error("no free spot near the bot to place a {words(station)}, even after moving");',
            f'{indent}  await placeItem(bot, "{station}", spot);',
            *([f"{indent}  {flag} = spot;"] if track else []),
            f"{indent}}}",
        ]
        return lines

    def _station_item(self, station: str, plan: list[str], indent: str, depth: int) -> list[str]:
        """Have the station in the inventory (unless one is in reach) before the step gathers its
        ingredients: made later, it would eat planks or cobblestone gathered for the recipe."""
        reach = f"bot.findBlock({{ matching: mcData.blocksByName.{station}.id, maxDistance: 4 }})"
        inner = self._ensure(station, 1, plan, indent + "  ", depth)
        return [f"{indent}if (!{reach}) {{", *inner, f"{indent}}}"]

    def _take_back(self, station: str, plan: list[str], indent: str, depth: int) -> list[str]:
        """Mine the station this step placed back into the inventory, as Voyager's environment does
        after every step: the next step then places it where the bot is, instead of walking back."""
        plan.append(f"take the {words(station)} back into the inventory")
        flag = f"placed{camel(words(station)).capitalize()}{depth}"
        return [f"{indent}if ({flag} && bot.blockAt({flag})?.name === \"{station}\") {{",
                f'{indent}  try {{ await mineBlock(bot, "{station}", 1); }} catch (err) {{ bot.chat(`left the {words(station)}: ${{err.message}}`); }}',
                f"{indent}}}"]

    def _mine(self, m: Method, count: int | str, plan: list[str], indent: str, depth: int) -> list[str]:
        lines: list[str] = []
        if m.tools:
            lines += self._ensure(m.tools[0], 1, plan, indent, depth)
        ids = json.dumps(m.blocks)
        var = f"found{depth}"
        climb = self._climb_out(var, depth, plan, indent) if m.key == "log" else []
        if (level := deep_level(m)) is not None:
            plan.append(f"if none is within 32 blocks and the bot is above y={level + 4}, dig straight down to y={level}")
            finder = f"bot.findBlock({{ matching: {ids}.map((n) => mcData.blocksByName[n].id), maxDistance: 32 }})"
            climb = [f"{indent}if (!({finder}) && bot.entity.position.y > {level + 4}) {{",
                     *self._dig_lines(level, indent + "  ", depth), f"{indent}}}"]
        plan.append(f"find {words(m.blocks[0])} within 32 blocks (explore if there is none) and mine {count}")
        finder = f"bot.findBlock({{ matching: {ids}.map((n) => mcData.blocksByName[n].id), maxDistance: 32 }})"
        what = words(m.key if m.key == "log" else m.blocks[0])
        lines += self._seek(var, finder, self._mine_direction(m), what, indent, before=climb)
        if deep_level(m) is not None:  # the tunnel may dig the ore itself: mine on only if more are near
            lines += self._tunnel_lines(var, indent, depth, plan)
            lines.append(f"{indent}if ({var}()) await mineBlock(bot, {var}().name, {count});")
            return lines
        lines.append(f"{indent}await mineBlock(bot, {var}().name, {count});")
        return lines

    @staticmethod
    def _tunnel_lines(found: str, indent: str, depth: int, plan: list[str]) -> list[str]:
        """Dig a tunnel (feet and head high) to within 2 blocks of the ore, sideways then down.
        Why: down there collectblock's pathfinder often finds no dug path to an ore 10-25 blocks
        away in solid rock ("no path", measured: README, "Deep resources"); a tunnel needs none."""
        plan.append("tunnel through the rock towards it (sideways, then down) until it is within reach")
        d = depth
        return [
            f"{indent}for (let n = 0, t = {found}().position; n < 60; n++) {{",
            f"{indent}  const p = bot.entity.position.floored(); const dx = t.x - p.x, dy = t.y - p.y, dz = t.z - p.z;",
            f"{indent}  if (Math.abs(dx) <= 2 && Math.abs(dz) <= 2 && dy >= -3 && dy <= 2) break;",
            f"{indent}  const step{d} = Math.abs(dx) > 1 ? new Vec3(Math.sign(dx), 0, 0) : Math.abs(dz) > 1 ? new Vec3(0, 0, Math.sign(dz))",
            f"{indent}    : dy < 0 ? new Vec3(0, -1, 0) : null;",
            f"{indent}  if (!step{d}) break;",
            f"{indent}  const next{d} = p.plus(step{d});",
            f"{indent}  const open{d} = (c) => {{ const b = bot.blockAt(c); return !b || b.boundingBox !== \"block\"; }};",
            f"{indent}  for (const c of (step{d}.y < 0 ? [next{d}] : [next{d}, next{d}.offset(0, 1, 0)])) {{",
            f"{indent}    const b = bot.blockAt(c);",
            f'{indent}    if (b && b.boundingBox === "block" && b.name !== "bedrock" && bot.canDigBlock(b)) await bot.dig(b, true);',
            f"{indent}  }}",
            f"{indent}  if (!open{d}(next{d}) || (step{d}.y === 0 && !open{d}(next{d}.offset(0, 1, 0)))) break;",
            f"{indent}  if (step{d}.y === 0) {{  // a step of one block with the controls, not a pathfinder goal",
            f"{indent}    await bot.lookAt(next{d}.offset(0.5, 1.6, 0.5), true);",
            f'{indent}    bot.setControlState("forward", true);',
            f"{indent}    for (let t = 0; t < 30 && !bot.entity.position.floored().equals(next{d}); t++) await bot.waitForTicks(1);",
            f'{indent}    bot.setControlState("forward", false);',
            f"{indent}  }}",
            f"{indent}  for (let t = 0; t < 20 && !bot.entity.onGround; t++) await bot.waitForTicks(1);",
            f"{indent}  if (bot.entity.position.floored().equals(p)) break;",
            f"{indent}}}",
        ]

    @staticmethod
    def _seek(var: str, finder: str, direction: str, what: str, indent: str,
              before: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Bind `var` to a finder, explore for up to 120 s if it finds nothing, and fail with a
        message the critic can read rather than letting the next primitive crash on null."""
        return [
            f"{indent}const {var} = () => {finder};",
            *before,
            f"{indent}if (!{var}()) await exploreUntil(bot, {direction}, 120, {var});",
            f'{indent}if (!{var}()) throw new Error("no {what} within 32 blocks, even after exploring");',
        ]

    def _climb_out(self, found: str, depth: int, plan: list[str], indent: str) -> list[str]:
        """Trees grow on the surface: a bot down a mine (after iron or diamonds) would search
        sideways for minutes and never see one, so it first goes up until the sky is open (a log
        seen through the rock is usually out of reach from below)."""
        plan.append("if there is rock overhead (down a mine), go up to the surface first")
        return [
            f"{indent}const roofed{depth} = () => {{ const p = bot.entity.position.floored();",
            f"{indent}  for (let dy = 2; dy < 48; dy++) {{ const b = bot.blockAt(p.offset(0, dy, 0));",
            f'{indent}    if (b && b.boundingBox === "block" && !/leaves|log/.test(b.name)) return true; }}',
            f"{indent}  return false; }};",
            f"{indent}if (!{found}() && roofed{depth}()) await exploreUntil(bot, new Vec3(0, 1, 0), 120, () => !roofed{depth}());",
        ]

    def _craft(self, m: Method, count: int | str, plan: list[str], indent: str, depth: int) -> list[str]:
        assert m.recipe is not None
        per = m.recipe.count
        runs = str(max(1, math.ceil(count / per))) if isinstance(count, int) else f"Math.ceil(({count}) / {per})"
        lines: list[str] = []
        if m.recipe.needs_table:  # the table first (it is made of planks the recipe may need too) ...
            lines += self._station_item("crafting_table", plan, indent, depth)
        for key, n in sorted(m.ingredients, key=lambda kv: -self.k.depth(kv[0])):
            need = n * int(runs) if runs.isdigit() else n
            lines += self._ensure(key, need, plan, indent, depth)
        if m.recipe.needs_table:  # ... placed after the ingredients, where the bot ends up
            lines += self._station("crafting_table", plan, indent, depth)
        if m.key == "planks":
            plan.append(f"turn logs into planks ({runs} times)")
            lines += [
                f'{indent}const log{depth} = bot.inventory.items().find((it) => /^(?!stripped_)\\w+_log$/.test(it.name));',
                f'{indent}if (!log{depth}) throw new Error("no log in the inventory to make planks from");',
                f'{indent}await craftItem(bot, log{depth}.name.replace(/_log$/, "_planks"), {runs});',
            ]
        else:
            plan.append(f"craft {words(m.key)} ({runs} times, {per} each)")
            lines.append(f'{indent}await craftItem(bot, "{m.key}", {runs});')
        if m.recipe.needs_table:
            lines += self._take_back("crafting_table", plan, indent, depth)
        return lines

    def _smelt(self, m: Method, count: int | str, plan: list[str], indent: str, depth: int) -> list[str]:
        need = count if isinstance(count, int) else 1
        lines = self._station_item("furnace", plan, indent, depth)
        lines += self._ensure(canon(m.source), need, plan, indent, depth)
        fuel_need = max(1, math.ceil(need / 8))
        if "coal" in self.skill_for:
            lines += self._ensure("coal", fuel_need, plan, indent, depth)
        lines += self._station("furnace", plan, indent, depth)  # after the inputs: where the bot ends up
        plan.append(f"smelt {count} {words(m.source)} with coal (or planks if there is no coal)")
        lines += [
            f'{indent}const fuel{depth} = bot.inventory.items().find((it) => ["coal", "charcoal"].includes(it.name))',
            f'{indent}  || bot.inventory.items().find((it) => it.name.endsWith("_planks"));',
            f'{indent}if (!fuel{depth}) throw new Error("no fuel: need coal or planks to smelt {words(m.source)}");',
            f'{indent}await smeltItem(bot, "{m.source}", fuel{depth}.name, {count});',
        ]
        return lines + self._take_back("furnace", plan, indent, depth)

    def _kill(self, m: Method, count: int | str, plan: list[str], indent: str, depth: int) -> list[str]:
        mob = m.source
        var = f"mob{depth}"
        plan.append(f"find a {mob} (explore if none is near), kill it and pick up the drops")
        finder = f'bot.nearestEntity((e) => e.name === "{mob}" && e.position.distanceTo(bot.entity.position) < 32)'
        return [*self._seek(var, finder, self._direction(mob), mob, indent),
                f'{indent}await killMob(bot, "{mob}", 120);']


# ---- the responder ------------------------------------------------------------------------------


class Planner:
    """The ChatServer responder: reads the role from the model name (or the prompt) and answers."""

    def __init__(self, data: GameData | None = None) -> None:
        self.k = Knowledge(data)
        self.curriculum = PlannerCurriculum(self.k)
        self.decomposer = Decomposer(self.k)

    def __call__(self, request: dict[str, Any]) -> str:
        messages = request.get("messages", [])
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        role = role_of(str(request.get("model", "")), system)
        if role == "curriculum" and DECOMPOSITION_MARK in system:
            return self.decomposition_reply(messages)
        if role in ("curriculum", "decomposition"):
            return self.curriculum_reply(user)
        if role == "questions":
            return self.questions_reply(user)
        if role == "qa":
            return self.qa_reply(user)
        if role == "action":
            return self.action_reply(system, messages)
        if role == "critic":
            return self.critic_reply(user)
        if role == "describer":
            return self.describe_reply(user)
        return f"The {LABEL} cannot answer this prompt: it only knows the lifelong agents' prompts."

    # -- roles --

    def curriculum_reply(self, user: str) -> str:
        f = fields(user)
        nearby = parse_list(f.get("Nearby blocks", "")) + parse_list(f.get("Other blocks that are recently seen", ""))
        task, why = self.curriculum.next_task(
            parse_list(f.get("Completed tasks so far", "")), parse_list(f.get("Failed tasks that are too hard", "")),
            parse_inventory(f.get("Inventory", "")), nearby)
        return f"Reasoning: [{LABEL}] {why}.\nTask: {task}"

    def decomposition_reply(self, messages: list[dict[str, str]]) -> str:
        """Voyager's decomposition prompt: the observation, then 'Final task: ...' (own message)."""
        text = "\n".join(m["content"] for m in messages if m.get("role") == "user")
        f = fields(text)
        task = f.get("Final task", "")
        skills = parse_skills(f["Skills in the library"]) if "Skills in the library" in f else None
        y = re.search(r"y=(-?[\d.]+)", f.get("Position", ""))
        plan = self.decomposer.decompose(task, parse_inventory(f.get("Inventory", "")), skills,
                                         float(y.group(1)) if y else None)
        return json.dumps(plan)

    def questions_reply(self, user: str) -> str:
        f = fields(user)
        task, _ = self.curriculum.next_task(
            parse_list(f.get("Completed tasks so far", "")), parse_list(f.get("Failed tasks that are too hard", "")),
            parse_inventory(f.get("Inventory", "")))
        key = self.k.task_key(task) or "log"
        concepts = [key] + [p for p, _ in self.k.prerequisites(self.k.method(key))] if self.k.method(key) else [key]
        lines = [f"Reasoning: [{LABEL}] questions about the next tech-tree step and what it needs."]
        for i, c in enumerate(dict.fromkeys(concepts), 1):
            lines += [f"Question {i}: How to obtain {words(c)} in Minecraft?", f"Concept {i}: {words(c)}"]
        return "\n".join(lines)

    def qa_reply(self, user: str) -> str:
        q = fields(user).get("Question", user)
        m = re.search(r"how to (?:obtain |get |make |do )?(.+?)(?: in minecraft)?\??$", q.strip(), re.IGNORECASE)
        target = m.group(1) if m else q
        key = self.k.task_key(target) or self.k.task_key(f"Mine 1 {target}") or self.k.task_key(f"Craft 1 {target}")
        method = self.k.method(key) if key else None
        if method is None:
            return "Answer: Unknown"
        return "Answer: " + self.explain(method)

    def explain(self, m: Method) -> str:
        if m.kind == "mine":
            tool = f" with a {words(m.tools[0])} or better" if m.tools else " (no tool needed)"
            return f"{words(m.key)} comes from mining {', '.join(words(b) for b in m.blocks[:3])}{tool}."
        if m.kind == "craft":
            parts = ", ".join(f"{n} {words(k)}" for k, n in m.ingredients)
            where = "on a crafting table" if m.recipe and m.recipe.needs_table else "in the inventory grid"
            return f"Craft {m.recipe.count if m.recipe else 1} {words(m.key)} from {parts} {where}."
        if m.kind == "smelt":
            return f"Smelt {words(m.source)} in a furnace with fuel such as coal to get {words(m.key)}."
        return f"Kill a {words(m.source)}; it drops {words(m.key)}."

    def action_reply(self, system: str, messages: list[dict[str, str]]) -> str:
        user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        first_user = next((m["content"] for m in messages if m.get("role") == "user"), user)
        f = fields(first_user)
        task = f.get("Task", "")
        last_code = first_user.split("Code from the last round:", 1)[-1].split("Execution error:", 1)[0]
        # A repeated round explores elsewhere: the hint is derived from the last program, so the
        # reply stays a pure function of the prompt (a resumed run gets the same code again).
        attempt = 0 if "No code in the first round" in last_code else 1 + zlib.crc32(last_code.encode()) % 7
        writer = ProgramWriter(self.k, defined_functions(system), round_hint=attempt)
        try:
            code, plan = writer.write(task)
        except ValueError as exc:
            code, plan = self._fallback(task, str(exc)), [f"the planner has no recipe for this; {exc}"]
        explain = f"[{LABEL}] " + (
            f"The last round did not finish the task ({f.get('Critique') or f.get('Execution error') or 'no detail'}); "
            "this program explores another direction and re-checks every ingredient."
            if f.get("Execution error", "No error") not in ("", "No error") or f.get("Critique")
            else "A program composed from the primitives and the library skills "
            f"{', '.join(writer.calls) or '(none needed)'}.")
        steps = "\n".join(f"{i}) {s}" for i, s in enumerate(plan, 1))
        return f"Explain: {explain}\nPlan:\n{steps}\nCode:\n```javascript\n{code}```\n"

    def _fallback(self, task: str, why: str) -> str:
        name = camel(task)
        return (f"// Written by the lifelong planner (deterministic, not a language model) for: {task}\n"
                f"async function {name}(bot) {{\n"
                f"  bot.chat({json.dumps('planner: ' + why)});\n"
                f"  throw new Error({json.dumps(why)});\n}}\n")

    def critic_reply(self, user: str) -> str:
        f = fields(user)
        task = f.get("Task", "")
        inventory = parse_inventory(f.get("Inventory", ""))
        equipment = f.get("Equipment", "")
        m = re.match(r"equip (?:an? |the )?(.+)$", task.strip(), re.IGNORECASE)
        if m:
            item = self.k.data.normalise(m.group(1))
            ok = item in equipment
            critique = "" if ok else f"Equip {item} with bot.equip after getting it."
            return json.dumps({"reasoning": f"[{LABEL}] equipment is {equipment}", "success": ok, "critique": critique})
        if (dig := DIG_RE.match(task)) is not None:
            m = re.search(r"""Position: .*?['"]?y['"]?\s*[:=]\s*(-?[\d.]+)""", user)
            y = float(m.group(1)) if m else None
            ok = y is not None and y <= int(dig.group(1)) + 1
            return json.dumps({"reasoning": f"[{LABEL}] the bot is at y={y}", "success": ok,
                               "critique": "" if ok else f"Dig further down: y is {y}, the task asks for "
                               f"y={dig.group(1)} or below."})
        if re.match(r"deposit", task.strip(), re.IGNORECASE):
            used = int(re.search(r"\((\d+)/", user).group(1)) if re.search(r"\((\d+)/", user) else 36
            ok = used < 20
            return json.dumps({"reasoning": f"[{LABEL}] {used} of 36 slots used", "success": ok,
                               "critique": "" if ok else "Deposit more items so that fewer than 20 slots are used."})
        if re.match(r"place", task.strip(), re.IGNORECASE):
            chests = f.get("Chests", "None")
            ok = chests not in ("", "None")
            return json.dumps({"reasoning": f"[{LABEL}] chests nearby: {chests}", "success": ok,
                               "critique": "" if ok else "No placed chest is near the bot; place it with placeItem."})
        words_in_task = set(re.findall(r"[a-z]+", task.lower()))
        hit = [i for i in inventory if set(i.split("_")) <= words_in_task]
        return json.dumps({"reasoning": f"[{LABEL}] looked for the task's items in the inventory",
                           "success": bool(hit),
                           "critique": "" if hit else f"The inventory has nothing that '{task}' asks for."})

    def describe_reply(self, user: str) -> str:
        code = user.split("The main function is", 1)[0]
        header = re.search(r"for: (.+)", code)
        calls = [n for n in dict.fromkeys(re.findall(r"await (\w+)\(bot", code)) if n not in ("exploreUntil",)]
        task = header.group(1).strip() if header else "the task"
        steps = []
        if "findBlock({ matching: mcData.blocksByName.crafting_table" in code:
            steps.append("It places a crafting table nearby when none is within reach.")
        if "findBlock({ matching: mcData.blocksByName.furnace" in code:
            steps.append("It places a furnace nearby when none is within reach.")
        helpers = [c for c in calls if c not in PRIMITIVES]
        if helpers:
            steps.append(f"It first gets missing ingredients or tools by reusing {', '.join(helpers)}.")
        if "exploreUntil" in code:
            steps.append("It explores when the target is not within 32 blocks.")
        prims = [c for c in calls if c in PRIMITIVES]
        if prims:
            steps.append(f"It then uses {', '.join(prims)} to finish.")
        return f"The function is about: {task.rstrip('.')}. " + " ".join(steps) + f" (described by the {LABEL})"


# ---- the prompts the planner reads: an explicit contract ------------------------------------------


@dataclass(frozen=True)
class PromptPhrase:
    """A phrase the planner needs in one prompt file: ``line`` is the prompt's line that holds it
    (what a failing check shows), ``role`` the role it identifies (read by :func:`role_of` in the
    first ``ROLE_HEAD`` characters only), else None for a ``Label:`` line the planner reads the
    value of (:func:`fields`) from the message the prompt describes."""

    prompt: str
    phrase: str
    line: str
    role: str | None = None


ROLE_HEAD = 300
DECOMPOSITION_MARK = "generates a curriculum of subgoals"  # Voyager's decomposition system prompt
QUESTIONS_MARK = "asks questions"  # the curriculum's self-asked questions (sent as role qa)
PROMPT_CONTRACT: tuple[PromptPhrase, ...] = (
    # role_of, in the order it tries them ("asks questions" first: that prompt also mentions the next task)
    PromptPhrase("curriculum_questions.txt", QUESTIONS_MARK, "You are a helpful assistant that asks questions to "
                 "help me decide the next immediate task to do in Minecraft.", "questions"),
    PromptPhrase("curriculum.txt", "tells me the next immediate task", "You are a helpful assistant that tells me "
                 "the next immediate task to do in Minecraft.", "curriculum"),
    PromptPhrase("curriculum_task_decomposition.txt", DECOMPOSITION_MARK, "You are a helpful assistant that "
                 "generates a curriculum of subgoals to complete any Minecraft task specified by me.", "curriculum"),
    PromptPhrase("qa_answer.txt", "answer my question", "You are a helpful assistant that answer my question "
                 "about Minecraft.", "qa"),
    PromptPhrase("action.txt", "writes Mineflayer javascript code", "You are a helpful assistant that writes "
                 "Mineflayer javascript code to complete any Minecraft task specified by me.", "action"),
    PromptPhrase("critic.txt", "assesses my progress", "You are an assistant that assesses my progress of playing "
                 "Minecraft and provides useful guidance.", "critic"),
    PromptPhrase("describer.txt", "writes a description", "You are a helpful assistant that writes a description "
                 "of the given function written in Mineflayer javascript code.", "describer"),
    # the action prompt's system message carries the primitives and skills the program writer may call
    PromptPhrase("action.txt", "$programs", "$programs"),
    # fields(): the labelled lines each role's reply is computed from
    *(PromptPhrase("curriculum.txt", f"{label}:", f"{label}: ...") for label in (
        "Nearby blocks", "Other blocks that are recently seen", "Completed tasks so far",
        "Failed tasks that are too hard")),
    PromptPhrase("curriculum.txt", "Inventory (xx/36):", "Inventory (xx/36): ..."),
    *(PromptPhrase("curriculum_questions.txt", f"{label}:", f"{label}: ...") for label in (
        "Completed tasks so far", "Failed tasks that are too hard", "Inventory (xx/36)")),
    PromptPhrase("qa_answer.txt", "Question:", "Question: ..."),
    *(PromptPhrase("action.txt", f"{label}:", f"{label}: ...") for label in (
        "Code from the last round", "Execution error", "Task", "Critique")),
    *(PromptPhrase("critic.txt", f"{label}:", f"{label}: ...") for label in (
        "Position", "Equipment", "Inventory (xx/36)", "Chests", "Task")),
)


def contract_violations(prompts: Path = PROMPTS) -> list[str]:
    """One message per phrase of :data:`PROMPT_CONTRACT` missing from its prompt under ``prompts``,
    naming the file and the line expected (empty when the prompts keep the contract)."""
    problems = []
    for entry in PROMPT_CONTRACT:
        path = prompts / entry.prompt
        text = path.read_text() if path.exists() else ""
        where = text[:ROLE_HEAD] if entry.role else text
        if entry.phrase not in where:
            scope = f"in its first {ROLE_HEAD} characters (role_of reads only those)" if entry.role else "on a line"
            problems.append(f"{path}: the planner expects the line\n    {entry.line}\n  with {entry.phrase!r} {scope}; "
                            "restore it, or change PROMPT_CONTRACT and the planner in lifelong/minecraft/planner.py")
    return problems


def parse_skills(value: str) -> dict[str, str] | None:
    """'craftStick (Craft 4 stick); mineWoodLog (Mine 1 wood log)' -> {name: task}; 'None' -> {};
    'not used' (a run without a library) -> None."""
    value = value.strip()
    if value.lower().startswith("not used"):
        return None
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"([A-Za-z_$][\w$]*)\s*\(([^)]*)\)", value)}


def role_of(model: str, system: str) -> str:
    """planner-<role> model names say it; otherwise recognise the system prompt."""
    if model.startswith(PLANNER_MODEL + "-"):
        role = model.split("-", 1)[1]
        if role == "qa" and QUESTIONS_MARK in system:
            return "questions"
        return role
    head = system[:ROLE_HEAD]
    return next((e.role for e in PROMPT_CONTRACT if e.role and e.phrase in head), "unknown")


def planner_models() -> dict[str, str]:
    """The per-role model names a run uses with ``--llm planner``."""
    from lifelong.worlds import roles

    return {role: f"{PLANNER_MODEL}-{role}" for role in roles()}


def serve_planner(data: GameData | None = None) -> ChatServer:
    """Start the planner on 127.0.0.1:<free port>; use ``.base_url`` as the LLM endpoint, ``.close()`` after."""
    return ChatServer(Planner(data)).start()


__all__ = [
    "LABEL",
    "SMELTING",
    "Decomposer",
    "Knowledge",
    "Planner",
    "PlannerCurriculum",
    "ProgramWriter",
    "planner_models",
    "serve_planner",
]
