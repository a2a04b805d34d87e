"""Each control primitive does its job on a seeded embedded world (seed 42: a forest at spawn),
and says why in chat when it cannot. Plus: every primitive has a prompt doc."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from js_snippets import FREE_SPOT
from server_support import running_server

from lifelong.minecraft.env import PRIMITIVES_DIR, MinecraftEnv
from lifelong.minecraft.server import EmbeddedServer

PORT = 25593
VOYAGER_PRIMITIVES = ["mineBlock", "craftItem", "smeltItem", "placeItem", "killMob", "exploreUntil",
                      "getItemFromChest", "depositItemIntoChest", "checkItemInsideChest"]


def test_every_voyager_primitive_is_defined_with_its_signature_and_documented() -> None:
    code = "\n".join(p.read_text() for p in PRIMITIVES_DIR.glob("*.js"))
    docs = "\n".join(p.read_text() for p in (PRIMITIVES_DIR / "docs").glob("*.txt"))
    for name in VOYAGER_PRIMITIVES:
        m = re.search(rf"^async function {name}\((.*)\) {{$", code, re.MULTILINE)
        assert m, f"{name} is not defined as a top-level async function"
        assert f"async function {name}({m.group(1)})" in docs, f"{name}: prompt doc missing or out of date"
    assert "function failedCraftFeedback(bot, name, item, craftingTable" in code
    assert "function waitForMobRemoved(bot, entity, timeout = 300)" in code


# Primitives wait on game time (walking, digging, smelting): at time scale 4 they behave as at 1,
# only sooner (README, "Faster than real time"), and Voyager's released skills below are checked at 4. Programs verified at
# 4 are run again at 1 by tests/test_time_scale.py.
TIME_SCALE = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    yield from running_server(tmp_path_factory, PORT, daylight_cycle=False, difficulty="peaceful", time_scale=TIME_SCALE)


@pytest.fixture(scope="module")
def env(server: EmbeddedServer) -> Iterator[MinecraftEnv]:
    e = MinecraftEnv(server, username="primtest", timeout_s=90, allow_commands=True)  # for /spawnmob
    yield e
    e.close()


@pytest.fixture()
def home(env: MinecraftEnv) -> dict[str, float]:
    """Where the bot spawned: each test starts there with the inventory it asks for."""
    if not hasattr(env, "_home"):
        env._home = env.reset(mode="soft")["position"]  # type: ignore[attr-defined]
    return env._home  # type: ignore[attr-defined]


pytestmark = [pytest.mark.minecraft]


def _step(env: MinecraftEnv, body: str, **kw) -> dict:
    obs = env.step(FREE_SPOT + f"async function task(bot) {{\n{body}\n}}\n", **kw)
    assert obs["ok"], obs["error"]
    return obs


@pytest.mark.slow
def test_mineBlock_collects_logs_from_a_tree(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={}, position=home, mode="hard")
    obs = _step(env, 'await mineBlock(bot, "oak_log", 2);')
    assert obs["inventory"].get("oak_log", 0) >= 2
    assert "oak_log_mined" in obs["saves"]


@pytest.mark.slow
def test_craft_place_and_mine_stone_with_feedback(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={"oak_log": 3}, position=home, mode="hard")
    obs = _step(env, """
  await craftItem(bot, "oak_planks", 3);
  await craftItem(bot, "stick", 1);
  await craftItem(bot, "wooden_pickaxe", 1);   // no table yet: says so
  await craftItem(bot, "crafting_table", 1);
  const spot = freeSpot(bot);
  await placeItem(bot, "crafting_table", spot);
  bot.chat("placed " + bot.blockAt(spot).name);
  await craftItem(bot, "wooden_pickaxe", 1);
  await craftItem(bot, "furnace", 1);          // no cobblestone: says what is missing
""")
    assert obs["inventory"] == {"oak_planks": 3, "stick": 2, "wooden_pickaxe": 1}
    assert obs["chat"][2].startswith("cannot craft wooden_pickaxe: it needs a crafting table")
    assert "placed crafting_table" in obs["chat"]
    assert "cannot craft furnace: need 8 more cobblestone" in obs["chat"], obs["chat"]
    obs = _step(env, 'await mineBlock(bot, "stone", 2);')
    assert obs["inventory"].get("cobblestone", 0) >= 2, obs["chat"]


def test_primitives_explain_what_they_cannot_do(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={"oak_planks": 1}, position=home, mode="hard")
    obs = _step(env, """
  await craftItem(bot, "stick", 2);
  await craftItem(bot, "oak_log", 1);
  await placeItem(bot, "furnace", bot.entity.position.offset(1, 0, 0));
  await smeltItem(bot, "raw_iron", "coal", 1);
  await mineBlock(bot, "stone", 1);
  await killMob(bot, "zombie", 5);
""")
    assert obs["chat"] == [
        "cannot craft stick: need 3 more oak_planks",
        "cannot craft oak_log: it has no crafting recipe; mine it, smelt it or find it instead",
        "cannot place furnace: there is no furnace in the inventory",
        'cannot smelt raw_iron: no furnace within 32 blocks; craft one and place it with placeItem(bot, "furnace", position)',
        "cannot mine stone: it drops nothing without one of wooden_pickaxe, stone_pickaxe, golden_pickaxe, ...",
        "No zombie nearby, please explore first",
    ]
    bad = env.step('async function t(bot) { await craftItem(bot, "iron_pickaxes", 1); }')
    assert "No item named 'iron_pickaxes'. Did you mean iron_pickaxe" in bad["error"]["message"]
    bad = env.step('async function t(bot) { await killMob(bot, "cows"); }')
    assert "No mob named 'cows'. Did you mean cow" in bad["error"]["message"]


@pytest.mark.slow
def test_exploreUntil_walks_until_the_callback_answers(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={}, position=home, mode="hard")
    obs = _step(env, """
  const start = bot.entity.position.clone();
  const across = () => Math.hypot(bot.entity.position.x - start.x, bot.entity.position.z - start.z);
  const found = await exploreUntil(bot, new Vec3(1, 0, 0), 30, () => across() > 8 ? "far enough" : null);
  bot.chat("result: " + found);
  const nothing = await exploreUntil(bot, new Vec3(0, 0, 1), 2, () => null);
  bot.chat("then: " + nothing);
""")
    # The callback answers only once the bot is 8 blocks across from where it started, so this
    # line proves the walk. (A distance checked after the step undercounts it: the bot can settle
    # back a few blocks once the pathfinder lets go, seen at 5-6 blocks on loaded cores.)
    assert "result: far enough" in obs["chat"]
    assert "then: null" in obs["chat"]
    bad = env.step("async function t(bot) { await exploreUntil(bot, new Vec3(2, 0, 0), 5, () => true); }")
    assert "each component of direction must be -1, 0 or 1" in bad["error"]["message"]


@pytest.mark.slow
def test_smeltItem_turns_raw_iron_into_ingots(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={"furnace": 1, "raw_iron": 2, "coal": 1}, position=home, mode="hard")
    obs = _step(env, """
  await placeItem(bot, "furnace", freeSpot(bot));
  await smeltItem(bot, "raw_iron", "coal", 2);
""", timeout_s=120)
    assert obs["inventory"].get("iron_ingot") == 2, obs["chat"]
    assert "Smelted 2 raw_iron." in obs["chat"]


@pytest.mark.slow
def test_chest_helpers_deposit_check_and_withdraw(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={"chest": 1, "dirt": 10}, position=home, mode="hard")
    obs = _step(env, """
  const spot = freeSpot(bot);
  await placeItem(bot, "chest", spot);
  await depositItemIntoChest(bot, spot, { dirt: 4 });
  const inside = await checkItemInsideChest(bot, spot);
  bot.chat("inside: " + JSON.stringify(inside));
  await getItemFromChest(bot, spot, { dirt: 1, stick: 1 });
""")
    assert obs["inventory"] == {"dirt": 7}
    assert 'inside: [{"name":"dirt","count":4}]' in obs["chat"]
    assert "cannot get stick from the chest: it has none" in obs["chat"]
    assert {"dirt": 3} in obs["chests"].values()


@pytest.mark.slow
def test_killMob_kills_a_cow_and_picks_up_drops(env: MinecraftEnv, home: dict) -> None:
    env.reset(inventory={"wooden_sword": 1}, position=home, mode="hard")
    obs = _step(env, """
  bot.chat("/spawnmob cow");
  await bot.waitForTicks(20);
  await killMob(bot, "cow", 60);
""", timeout_s=90)
    assert "cow_killed" in obs["saves"], obs["chat"]
    assert obs["inventory"].get("beef", 0) >= 1, obs["chat"]


@pytest.mark.long  # 2-3 min of digging down and climbing back: outside `make test`'s budget
def test_planner_wood_program_climbs_out_of_a_mine_first(env: MinecraftEnv, home: dict) -> None:
    """After mining ores the bot is deep underground, where no tree is within 32 blocks and a
    sideways search finds none: the planner's log program goes up to open sky first."""
    from lifelong.minecraft.planner import Knowledge, ProgramWriter

    env.reset(inventory={"iron_pickaxe": 1, "cobblestone": 64}, position=home, mode="hard")
    down = _step(env, f"""
  const target = {home["y"]} - 36;
  await exploreUntil(bot, new Vec3(0, -1, 0), 120, () => bot.entity.position.y <= target);
""", timeout_s=150)
    assert down["position"]["y"] <= home["y"] - 30, down["chat"]
    code, _ = ProgramWriter(Knowledge(), []).write("Mine 1 wood log")
    obs = env.step(code, timeout_s=300)
    assert obs["ok"], (obs["error"], obs["chat"])
    context = (obs["chat"][-8:], down["position"], obs["position"], obs["inventory"], obs["saves"])
    assert obs["position"]["y"] >= down["position"]["y"] + 20, context  # up at the surface
    # A log was cut there. Its drop is usually picked up, but collectblock can lose one (it fell
    # into a hole, out of reach; seen once in CI): the critic's business, not the climb's.
    logs = sum(n for item, n in obs["inventory"].items() if item.endswith("_log"))
    assert logs >= 1 or any(s.endswith("_log_mined") for s in obs["saves"]), context


# Skills as Voyager's action agent writes them (its published examples), unchanged.
VOYAGER_MINE_WOOD_LOG = """async function mineWoodLog(bot) {
  const woodLogNames = ["oak_log", "birch_log", "spruce_log", "jungle_log", "acacia_log", "dark_oak_log", "mangrove_log"];

  // Find a wood log block
  const woodLogBlock = await exploreUntil(bot, new Vec3(1, 0, 1), 60, () => {
    return bot.findBlock({
      matching: block => woodLogNames.includes(block.name),
      maxDistance: 32
    });
  });
  if (!woodLogBlock) {
    bot.chat("Could not find a wood log.");
    return;
  }

  // Mine the wood log block
  await mineBlock(bot, woodLogBlock.name, 1);
  bot.chat("Wood log mined.");
}
"""

VOYAGER_CRAFT_CRAFTING_TABLE = """async function craftCraftingTable(bot) {
  const planksCount = bot.inventory.count(mcData.itemsByName.oak_planks.id);
  if (planksCount < 4) {
    await craftItem(bot, "oak_planks", 1);
    bot.chat("Crafted oak planks.");
  }
  await craftItem(bot, "crafting_table", 1);
  bot.chat("Crafted a crafting table.");
}
"""


@pytest.mark.slow
def test_voyager_skills_run_unchanged_from_the_library(server: EmbeddedServer, home: dict, tmp_path: Path) -> None:
    from lifelong.library import SkillLibrary

    lib = SkillLibrary(tmp_path / "lib")
    lib.add("mineWoodLog", VOYAGER_MINE_WOOD_LOG, kind="minecraft-program", description="Mine one wood log.")
    lib.add("craftCraftingTable", VOYAGER_CRAFT_CRAFTING_TABLE, kind="minecraft-program", description="Craft a crafting table.")
    with MinecraftEnv(server, username="voyager", library=lib, timeout_s=90) as env:
        env.reset(inventory={"oak_log": 1}, position=home, mode="hard")
        obs = env.step("async function getStarted(bot) {\n  await mineWoodLog(bot);\n  await craftCraftingTable(bot);\n}\n")
    assert obs["ok"], obs["error"]
    assert "Wood log mined." in obs["chat"] and "Crafted a crafting table." in obs["chat"]
    assert obs["inventory"].get("crafting_table") == 1
    assert sum(n for item, n in obs["inventory"].items() if item.endswith("_log")) >= 1
