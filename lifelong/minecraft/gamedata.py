"""Minecraft facts the agents reason with: recipes, block drops, mob drops, item names.

Read from the minecraft-data JSON that ships in ``bridges/node_modules`` (the same files mineflayer
uses), resolved through ``dataPaths.json`` so a version whose files live in an older folder (drops of
1.21.1 are in ``pc/1.20``) still loads. Shared by the deterministic critic (which task words mean
which inventory items), the curriculum and the planner back end.

minecraft-data has no smelting recipes, so :data:`SMELTING` lists the vanilla ones the tech tree and
the food chain use (input -> output, from the vanilla data pack).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA_ROOT = REPO / "bridges" / "node_modules" / "minecraft-data" / "minecraft-data" / "data"
DEFAULT_VERSION = "1.21.1"

SMELTING: dict[str, str] = {
    "raw_iron": "iron_ingot", "iron_ore": "iron_ingot", "deepslate_iron_ore": "iron_ingot",
    "raw_gold": "gold_ingot", "gold_ore": "gold_ingot", "raw_copper": "copper_ingot",
    "copper_ore": "copper_ingot", "sand": "glass", "cobblestone": "stone", "stone": "smooth_stone",
    "clay_ball": "brick", "netherrack": "nether_brick", "cactus": "green_dye",
    "beef": "cooked_beef", "porkchop": "cooked_porkchop", "chicken": "cooked_chicken",
    "mutton": "cooked_mutton", "rabbit": "cooked_rabbit", "cod": "cooked_cod",
    "salmon": "cooked_salmon", "potato": "baked_potato", "kelp": "dried_kelp",
    "oak_log": "charcoal", "birch_log": "charcoal", "spruce_log": "charcoal",
    "wet_sponge": "sponge", "diamond_ore": "diamond", "coal_ore": "coal",
}
# Fuels a furnace accepts, best first (items smelted per unit: coal 8, planks 1.5, log 1.5).
FUELS: tuple[str, ...] = ("coal", "charcoal", "oak_planks", "birch_planks", "spruce_planks",
                          "oak_log", "birch_log", "spruce_log")
WOOD_KINDS = ("oak", "birch", "spruce", "jungle", "acacia", "dark_oak", "mangrove", "cherry")
# Words people (and LLMs) use for a group of items; each maps to a name pattern.
GROUPS: dict[str, str] = {
    "wood log": r"^(?!stripped_)\w+_log$", "log": r"^(?!stripped_)\w+_log$",
    "wood": r"^(?!stripped_)\w+_log$", "planks": r"^\w+_planks$", "wood planks": r"^\w+_planks$",
    "wooden planks": r"^\w+_planks$", "wool": r"^\w+_wool$", "sapling": r"^\w+_sapling$",
    "leaves": r"^\w+_leaves$", "meat": r"^(beef|porkchop|chicken|mutton|rabbit)$",
}
TOOL_TIERS = ("wooden", "stone", "iron", "golden", "diamond", "netherite")


@dataclass(frozen=True)
class Recipe:
    """One way to craft ``result``: ingredient counts, output count, and whether it needs a table."""

    result: str
    count: int
    ingredients: tuple[tuple[str, int], ...]
    needs_table: bool


def data_path(kind: str, version: str = DEFAULT_VERSION) -> Path:
    paths = json.loads((DATA_ROOT / "dataPaths.json").read_text())["pc"]
    if version not in paths:
        raise ValueError(f"minecraft-data has no version {version}; run `make setup` or pick another")
    return DATA_ROOT / paths[version][kind] / f"{kind}.json"


class GameData:
    """Indexed minecraft-data for one version (build with :func:`game_data`, which caches)."""

    def __init__(self, version: str = DEFAULT_VERSION) -> None:
        self.version = version
        load = lambda kind: json.loads(data_path(kind, version).read_text())
        items = load("items")
        self.items: dict[str, dict] = {i["name"]: i for i in items}
        self.item_by_id: dict[int, str] = {i["id"]: i["name"] for i in items}
        self.blocks: dict[str, dict] = {b["name"]: b for b in load("blocks")}
        self.entities: dict[str, dict] = {e["name"]: e for e in load("entities")}
        self.foods: set[str] = {f["name"] for f in load("foods")}
        self.block_drops: dict[str, list[dict]] = {b["block"]: b["drops"] for b in load("blockLoot")}
        self.mob_drops: dict[str, list[dict]] = {e["entity"]: e["drops"] for e in load("entityLoot")}
        self.recipes: dict[str, list[Recipe]] = self._index_recipes(load("recipes"))

    def _index_recipes(self, raw: dict[str, list[dict]]) -> dict[str, list[Recipe]]:
        out: dict[str, list[Recipe]] = {}
        for result_id, variants in raw.items():
            name = self.item_by_id.get(int(result_id))
            if name is None:
                continue
            for v in variants:
                if "inShape" in v:
                    rows = v["inShape"]
                    cells = [c for row in rows for c in row if c is not None]
                    table = len(rows) > 2 or any(len(row) > 2 for row in rows)
                else:
                    cells = list(v.get("ingredients", []))
                    table = len(cells) > 4
                ids = [c if isinstance(c, int) else c.get("id") for c in cells]
                counts = Counter(self.item_by_id[i] for i in ids if i in self.item_by_id)
                out.setdefault(name, []).append(Recipe(
                    name, v["result"]["count"], tuple(sorted(counts.items())), table))
        return out

    # ---- names -------------------------------------------------------------------------

    def normalise(self, words: str) -> str:
        """'Wooden Pickaxes' -> 'wooden_pickaxe' (lower case, singular where that is a name)."""
        name = re.sub(r"[\s\-]+", "_", words.strip().lower())
        if name in self.items or name in self.blocks or name in self.entities:
            return name
        for cut in ("es", "s"):
            if name.endswith(cut) and (stem := name[: -len(cut)]) and (
                stem in self.items or stem in self.blocks or stem in self.entities):
                return stem
        return name

    def group(self, words: str) -> list[str] | None:
        """Items a group word stands for ('wood log' -> every log), or None."""
        key = re.sub(r"\s+", " ", words.strip().lower())
        pattern = GROUPS.get(key) or (GROUPS.get(key[:-1]) if key.endswith("s") else None)
        if pattern is None:
            return None
        return sorted(n for n in self.items if re.match(pattern, n))

    def items_for(self, words: str) -> list[str]:
        """Inventory items that count as ``words``: the item itself, a group, or a block's drops."""
        if (members := self.group(words)) is not None:
            return members
        name = self.normalise(words)
        found: list[str] = []
        if name in self.items:
            found.append(name)
        if name in self.blocks:
            found += [d for d in self.drops_of_block(name) if d not in found]
        return found

    def drops_of_block(self, block: str) -> list[str]:
        """Items a block drops when mined without silk touch."""
        drops = self.block_drops.get(block, [])
        return [d["item"] for d in drops if not d.get("silkTouch")] or [block] * (block in self.items)

    # ---- sources -----------------------------------------------------------------------

    def blocks_dropping(self, item: str) -> list[str]:
        """Blocks that drop ``item`` for sure (or nearly) when mined: where to mine it."""
        out = []
        for block, drops in self.block_drops.items():
            for d in drops:
                if d["item"] == item and not d.get("silkTouch") and d.get("dropChance", 1) >= 0.5:
                    out.append(block)
        return sorted(out, key=lambda b: (b.startswith("deepslate_"), b.startswith("infested"), b))

    def harvest_tools(self, block: str) -> list[str]:
        """Tools that can harvest ``block`` (empty: the hand is enough)."""
        tools = self.blocks.get(block, {}).get("harvestTools") or {}
        return [self.item_by_id[int(i)] for i in tools if int(i) in self.item_by_id]

    def mobs_dropping(self, item: str) -> list[str]:
        return sorted(m for m, drops in self.mob_drops.items() if any(
            d["item"] == item and d.get("dropChance", 1) >= 0.5 for d in drops))

    def guaranteed_mob_drops(self, mob: str) -> list[str]:
        return [d["item"] for d in self.mob_drops.get(mob, []) if d.get("dropChance", 1) >= 0.5]

    def smelt_inputs(self, item: str) -> list[str]:
        return [src for src, out in SMELTING.items() if out == item]


@cache
def game_data(version: str = DEFAULT_VERSION) -> GameData:
    """Loading takes ~0.2 s, so every agent shares one instance per version."""
    return GameData(version)


def tool_tier(item: str) -> str | None:
    """'stone_pickaxe' -> 'stone'; None for anything that is not a tiered tool or weapon."""
    m = re.match(r"^(wooden|stone|iron|golden|diamond|netherite)_(pickaxe|axe|shovel|hoe|sword)$", item)
    return m.group(1) if m else None
