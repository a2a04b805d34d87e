"""The planner back end (deterministic, not a language model): curriculum, programs, roles over HTTP."""

import json

import pytest

from lifelong.config import LLMSettings
from lifelong.llm import LLM
from lifelong.minecraft.action import parse_action_reply
from lifelong.minecraft.planner import (
    LABEL,
    Knowledge,
    PlannerCurriculum,
    ProgramWriter,
    camel,
    planner_models,
    serve_planner,
)
from lifelong.minecraft.program import program_info

TECH_TREE = ["Mine 1 wood log", "Craft 4 planks", "Craft 1 crafting table", "Craft 4 stick",
             "Craft 1 wooden pickaxe", "Mine 3 cobblestone", "Craft 1 stone pickaxe", "Craft 1 furnace",
             "Mine 3 iron ore", "Mine 1 coal ore", "Smelt 3 raw iron", "Craft 1 iron pickaxe"]


@pytest.fixture(scope="module")
def knowledge():
    return Knowledge()


def test_curriculum_walks_the_tech_tree_from_recipes(knowledge):
    cur = PlannerCurriculum(knowledge)
    done = ["Mine 1 wood log"]
    for _ in range(len(TECH_TREE) - 1):
        task, why = cur.next_task(done, [], {})
        assert why
        done.append(task)
    assert done == TECH_TREE


def test_failed_prerequisite_blocks_its_goal_but_not_others(knowledge):
    cur = PlannerCurriculum(knowledge)
    done = TECH_TREE[:8]
    task, _ = cur.next_task(done, ["Mine 3 iron ore"], {})
    assert task != "Mine 3 iron ore" and "iron" not in task  # iron gear waits; stone gear does not
    assert task in ("Mine 1 coal ore", "Craft 1 stone sword", "Craft 1 stone axe")


def test_discovery_after_the_goals(knowledge):
    cur = PlannerCurriculum(knowledge)
    done = list(TECH_TREE)
    seen = set()
    for _ in range(40):
        task, _ = cur.next_task(done, [], {}, nearby=["sand", "gravel"])
        assert task not in seen
        seen.add(task)
        done.append(task)
    assert "Mine 1 sand" in seen or "Mine 3 sand" in seen
    assert {"Craft 1 iron sword", "Craft 1 bucket", "Kill 1 cow"} <= seen


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_programs_parse_as_js_and_later_skills_call_earlier_ones(knowledge):
    skills: list[str] = []
    programs = {}
    for task in TECH_TREE:
        writer = ProgramWriter(knowledge, skills)
        code, plan = writer.write(task)
        assert plan and code.startswith("// Written by the lifelong planner (deterministic, not a language model)")
        programs[task] = (code, writer.calls)
        skills.append(camel(task))
    assert not (parsed := program_info("\n".join(code for code, _ in programs.values()))).error, parsed.error
    code, calls = programs["Craft 1 iron pickaxe"]
    assert "smeltRawIron" in calls and "await craftItem(bot, \"iron_pickaxe\", 1)" in code
    assert set(programs["Smelt 3 raw iron"][1]) == {"craftFurnace", "mineIronOre", "mineCoalOre"}
    assert programs["Mine 3 iron ore"][1] == ["craftStonePickaxe"]
    # without library skills the writer inlines the primitives instead
    bare, _ = ProgramWriter(knowledge, []).write("Craft 1 wooden pickaxe")
    assert "mineBlock(" in bare and "placeItem(bot, \"crafting_table\"" in bare
    deep = [ProgramWriter(knowledge, []).write(t)[0] for t in ("Craft 1 iron pickaxe", "Smelt 1 beef")]
    assert all("smeltItem(" in c and "exploreUntil(" in c for c in deep)
    assert not (parsed := program_info("\n".join([bare, *deep]))).error, parsed.error  # nested inline steps declare nothing twice


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_every_role_answers_over_http_through_the_real_client(tmp_path):
    server = serve_planner()
    try:
        llm = LLM(LLMSettings(base_url=server.base_url, models=planner_models()), run_dir=tmp_path, cache_dir=None)
        action = llm.chat("action", [
            {"role": "system", "content": "You are a helpful assistant that writes Mineflayer javascript code..."
             "\nasync function mineWoodLog(bot) {}\nasync function craftPlanks(bot) {}"},
            {"role": "user", "content": "Code from the last round:\nNo code in the first round\n"
             "Execution error:\nNo error\nInventory (0/36): Empty\nTask: Craft 1 crafting table\nCritique: None"}])[0]
        parsed = parse_action_reply(action)
        assert parsed.main == "craftCraftingTable" and "await craftPlanks(bot)" in parsed.code
        assert LABEL in action
        cur = llm.chat("curriculum", [{"role": "system", "content": "x"}, {"role": "user", "content":
                       "Inventory (1/36): {\"oak_log\": 1}\nCompleted tasks so far: Mine 1 wood log\n"
                       "Failed tasks that are too hard: None"}])[0]
        assert cur.endswith("Task: Craft 4 planks") and "not an LLM" in cur
        qa = llm.chat("qa", [{"role": "system", "content": "You are a helpful assistant that answer my question"},
                             {"role": "user", "content": "Question: How to craft 1 furnace in Minecraft?"}])[0]
        assert qa.startswith("Answer: Craft 1 furnace from 8 cobblestone on a crafting table")
        critic = json.loads(llm.chat("critic", [{"role": "system", "content": "x"}, {"role": "user", "content":
                            "Equipment: {\"mainhand\": \"iron_pickaxe\"}\nInventory (1/36): {\"iron_pickaxe\": 1}\n"
                            "Task: Equip iron pickaxe"}])[0])
        assert critic["success"] is True
        described = llm.chat("describer", [{"role": "system", "content": "x"}, {"role": "user", "content":
                             parsed.code + "\n\nThe main function is `craftCraftingTable`."}])[0]
        assert "craftPlanks" in described and "planner" in described
        assert llm.ledger.tokens > 0 and llm.ledger.cost_usd == 0.0  # local back end: tokens, no dollars
    finally:
        server.close()


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_inventory_full_tasks_get_chest_programs(knowledge):
    place, _ = ProgramWriter(knowledge, ["craftChest"]).write("Place a chest")
    assert "await craftChest(bot)" in place and 'placeItem(bot, "chest", spot)' in place
    deposit, _ = ProgramWriter(knowledge, []).write("Deposit useless items into the chest at (3,64,5)")
    assert "depositItemIntoChest(bot, new Vec3(3, 64, 5), items)" in deposit
    assert not (parsed := program_info(place + deposit)).error, parsed.error
