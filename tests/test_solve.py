"""`lifelong solve`: task decomposition, its parsing, bad input, and one end-to-end solve.

Every LLM call goes through the real client to a real local HTTP server: the planner back end
(serve_planner) or scripted replies (ChatServer.scripted); nothing is mocked.
"""

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.config import LLMSettings
from lifelong.library import LibraryError
from lifelong.llm import LLM
from lifelong.minecraft.curriculum import (
    DecompositionError,
    SolveCurriculum,
    parse_subgoals,
    same_task,
)
from lifelong.minecraft.planner import (
    Decomposer,
    Knowledge,
    ProgramWriter,
    planner_models,
    serve_planner,
)
from lifelong.minecraft.program import program_info
from lifelong.minecraft.solve import UnknownItem, check_library, check_task
from lifelong.openai_server import ChatServer

EMPTY = {"inventory": {}, "position": {"x": 0.5, "y": 70.0, "z": 0.5}}
# What a 40-iteration planner exploration learns first (name -> the task it was learned for).
LIBRARY = {"mineWoodLog": "Mine 1 wood log", "craftPlanks": "Craft 4 planks",
           "craftCraftingTable": "Craft 1 crafting table", "craftStick": "Craft 4 stick",
           "craftWoodenPickaxe": "Craft 1 wooden pickaxe", "mineCobblestone": "Mine 3 cobblestone",
           "craftStonePickaxe": "Craft 1 stone pickaxe", "craftFurnace": "Craft 1 furnace",
           "mineIronOre": "Mine 3 iron ore", "mineCoalOre": "Mine 1 coal ore", "smeltRawIron": "Smelt 3 raw iron",
           "craftIronPickaxe": "Craft 1 iron pickaxe"}


@pytest.fixture(scope="module")
def planner():
    server = serve_planner()
    yield server
    server.close()


def llm_at(base_url: str, tmp_path: Path) -> LLM:
    return LLM(LLMSettings(base_url=base_url, models=planner_models(), max_retries=2), run_dir=tmp_path, cache_dir=None)


# ---- the planner answers Voyager's decomposition prompt -----------------------------------------


def test_planner_decomposes_over_http_with_each_tool_level_and_a_dig_before_diamonds(planner, tmp_path):
    cur = SolveCurriculum(llm_at(planner.base_url, tmp_path), "Craft 1 diamond axe", skills=lambda task: None)
    task = cur.propose(EMPTY)
    plan = cur.plan
    assert task.name == plan[0] and task.meta["final_task"] == "Craft 1 diamond axe"
    assert plan[-1] == "Craft 1 diamond axe" and plan[0] == "Mine 5 wood log"
    tools = [plan.index(f"Craft 1 {t} pickaxe") for t in ("wooden", "stone", "iron")]
    assert tools == sorted(tools)  # each level of tools, in order
    dig = plan.index("Dig down to y=-8")
    assert tools[-1] < dig < plan.index("Mine 3 diamond ore") < len(plan) - 1
    # what the underground part needs is made before digging: a crafting table to take along, sticks
    assert plan[dig - 2:dig] == ["Craft 1 crafting table", "Craft 4 stick"] and plan.count("Craft 1 crafting table") == 2
    system, observation, final = cur.messages(EMPTY)
    assert "generates a curriculum of subgoals" in system["content"]
    assert "Skills in the library: not used" in observation["content"] and final["content"] == "Final task: Craft 1 diamond axe"


def test_the_library_shortens_the_plan_but_keeps_tool_levels(planner, tmp_path):
    bare = SolveCurriculum(llm_at(planner.base_url, tmp_path), "Craft 1 compass", skills=lambda task: None)
    with_lib = SolveCurriculum(llm_at(planner.base_url, tmp_path), "Craft 1 compass", skills=lambda task: LIBRARY)
    bare.propose(EMPTY), with_lib.propose(EMPTY)
    assert len(with_lib.plan) < len(bare.plan)
    assert "Mine 4 wood log" in bare.plan and not any("wood log" in t for t in with_lib.plan)
    for plan in (bare.plan, with_lib.plan):
        assert "Craft 1 iron pickaxe" in plan and "Dig down to y=-4" in plan and plan[-1] == "Craft 1 compass"
        assert plan.index("Smelt 4 raw iron") < plan.index("Dig down to y=-4")  # the compass's iron goes down too
    # a skill that makes fewer than a subgoal needs at once does not hide it
    chestplate = Decomposer(Knowledge()).decompose("Craft 1 iron chestplate", {}, LIBRARY)
    assert chestplate[-3:] == ["Mine 8 iron ore", "Smelt 8 raw iron", "Craft 1 iron chestplate"]


def test_decomposition_takes_the_inventory_and_depth_into_account():
    d = Decomposer(Knowledge())
    plan = d.decompose("Craft 1 diamond pickaxe", {"iron_pickaxe": 1, "stick": 2, "crafting_table": 1}, LIBRARY, y=-7)
    assert plan == ["Mine 3 diamond ore", "Craft 1 diamond pickaxe"]  # deep already: no digging
    assert d.decompose("Build a nether portal", {}, None) == ["Build a nether portal"]  # no recipe: as asked
    assert d.decompose("Craft 1 stick", {"oak_planks": 2}) == ["Craft 1 stick"]


def test_subgoals_advance_replan_after_failure_and_stop_at_the_final_task(planner, tmp_path):
    cur = SolveCurriculum(llm_at(planner.base_url, tmp_path), "Craft 1 wooden pickaxe")
    first = cur.propose(EMPTY)
    assert cur.plan[-1] == "Craft 1 wooden pickaxe"
    cur.record(first.name, True)
    second = cur.propose({"inventory": {"oak_log": 3}})
    assert second.meta["index"] == 1
    cur.record(second.name, False)  # a failure: the next proposal decomposes again from here
    again = cur.propose({"inventory": {"oak_log": 3}})
    assert len(cur.plans) == 2 and again.meta["plan"] == 2 and cur.plan[0] != first.name
    state = json.loads(json.dumps(cur.state_dict()))
    twin = SolveCurriculum(None, "Craft 1 wooden pickaxe")
    twin.load_state_dict(state)
    assert twin.plan == cur.plan and twin.next == cur.next and twin.memory.failed == [second.name]
    while not cur.done:
        cur.record(cur.plan[cur.next], True)
    assert cur.propose({}) is None


# ---- parsing the reply, and replies that cannot be used -----------------------------------------


@pytest.mark.parametrize("text", [
    '["Mine 3 wood log", "Craft 1 crafting table"]',
    "Here is the plan:\n```json\n['Mine 3 wood log', 'Craft 1 crafting table',]\n```\nGood luck.",
    '["Mine 3 wood log.", "  Craft 1   crafting table "]',
])
def test_parse_subgoals_repairs_like_voyager(text):
    assert parse_subgoals(text) == ["Mine 3 wood log", "Craft 1 crafting table"]


@pytest.mark.parametrize("text", ["Mine some wood first.", "[]", '["Mine 1 wood log", 3]', "[not, json"])
def test_unusable_subgoal_lists_are_rejected(text):
    with pytest.raises(ValueError):
        parse_subgoals(text)


def test_bad_replies_are_answered_with_the_problem_then_the_task_is_appended(tmp_path):
    replies = ["I would start by punching a tree.", '["Mine 2 wood log", "Craft a crafting table"]']
    with ChatServer.scripted(replies) as server:
        cur = SolveCurriculum(llm_at(server.base_url, tmp_path), "Craft 1 crafting table")
        cur.propose(EMPTY)
        assert cur.plan == ["Mine 2 wood log", "Craft 1 crafting table"]  # its wording was the same task
        assert "no list of subgoals" in server.requests[-1]["messages"][-1]["content"]
    with ChatServer.scripted(["nope"] * 3) as server, pytest.raises(DecompositionError, match="3 tries"):
        SolveCurriculum(llm_at(server.base_url, tmp_path), "Craft 1 stick").propose(EMPTY)
    assert same_task("Craft a compass", "craft 1 compass") and not same_task("Craft 2 stick", "Craft 1 stick")


# ---- bad input ----------------------------------------------------------------------------------


def test_an_item_that_does_not_exist_names_the_closest_real_ones():
    with pytest.raises(UnknownItem, match="diamond_pickaxe"):
        check_task("Craft 1 diamond pickax")
    with pytest.raises(UnknownItem, match="zombie"):
        check_task("Kill 1 zombee")
    assert check_task("Craft 1 compass").method == "inventory"
    assert check_task("Equip iron chestplate").method == "equipment"
    llm = check_task("Build a house next to the lake")
    assert llm.method == "llm" and "LLM critic judges it" in llm.note


def test_a_library_for_another_world_or_no_library_is_a_clear_error(tmp_path):
    robots = tmp_path / "robots" / "skills" / "hopperReward" / "v1"
    robots.mkdir(parents=True)
    (robots / "skill.json").write_text(json.dumps({"name": "hopperReward", "kind": "reward-function", "world": "robotics"}))
    with pytest.raises(LibraryError, match="another world"):
        check_library(tmp_path / "robots")
    with pytest.raises(LibraryError, match="not a skill library"):
        check_library(tmp_path / "nowhere")
    (tmp_path / "empty" / "skills").mkdir(parents=True)
    check_library(tmp_path / "empty")  # an empty library is a library


def test_cli_bad_input_fails_before_any_server_starts(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["solve", "Craft 1 diamond pickax", "--no-library", "--run-dir", str(tmp_path / "a")])
    assert out.exit_code == 2 and "diamond_pickaxe" in out.output
    robots = tmp_path / "robots" / "skills" / "x" / "v1"
    robots.mkdir(parents=True)
    (robots / "skill.json").write_text('{"world": "robotics"}')
    out = runner.invoke(app, ["solve", "Craft 1 compass", "--library", str(tmp_path / "robots"),
                              "--run-dir", str(tmp_path / "b")])
    assert out.exit_code == 2 and "another world" in out.output


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_the_report_names_reused_and_new_skills_and_says_when_the_llm_critic_judged(tmp_path):
    from lifelong.minecraft.solve import report
    from lifelong.runs import RunDir

    run = RunDir(tmp_path / "run")
    run.log("step", iteration=1, task="Build a house", success=False, calls=["mineWoodLog"],
            code="async function buildAHouse(bot) { await mineWoodLog(bot); }")
    run.log("step", iteration=2, task="Build a house", success=True, calls=["mineWoodLog", "craftPlanks"],
            code="async function buildAHouse(bot) { await craftPlanks(bot); }")
    run.log("task_done", task="Build a house", success=True)
    cur = SolveCurriculum(None, "Build a house")
    cur.plan, cur.plans, cur.done = ["Build a house"], [["Build a house"]], True
    result = report(run, cur, {"mineWoodLog", "craftPlanks", "craftStick"}, check_task("Build a house"), stored=True)
    assert result["success"] is True and result["iterations"] == 2 and result["replans"] == 0
    assert result["reused_skills"] == ["craftPlanks", "mineWoodLog"] and result["new_skills"] == ["buildAHouse"]
    assert result["subgoals"] == [{"task": "Build a house", "done": True}]
    assert result["critic"] == "llm" and "LLM critic judges it" in result["critic_note"]


# ---- deep resources: digging down, judged from the position ------------------------------------


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_dig_down_programs_parse_and_the_critic_reads_the_position(planner, tmp_path):
    k = Knowledge()
    dig, plan = ProgramWriter(k, []).write("Dig down to y=-8")
    assert "async function digDownToYMinus8(bot)" in dig and "bot.dig(" in dig and plan
    mine, _ = ProgramWriter(k, ["craftIronPickaxe"]).write("Mine 3 diamond ore")
    assert "bot.entity.position.y > -4" in mine and "await craftIronPickaxe(bot)" in mine
    assert 'setControlState("forward", true)' in mine  # the tunnel to the ore
    assert not (parsed := program_info(dig + mine)).error, parsed.error
    llm = llm_at(planner.base_url, tmp_path)
    for y, ok in ((-8.0, True), (40.0, False)):
        reply = llm.chat("critic", [{"role": "system", "content": "x"}, {"role": "user", "content":
                         f"Position: {{'x': 1.5, 'y': {y}, 'z': 2.5}}\nTask: Dig down to y=-8"}])[0]
        assert json.loads(reply)["success"] is ok


# ---- end to end on the embedded server ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.minecraft
def test_solve_a_small_task_in_a_new_world_end_to_end(tmp_path):
    """The real command: the planner, a new world, an empty inventory; killed (kill -9) after its
    second round, then --resume finishes it without redoing or repeating a round."""
    import os
    import sys

    run = tmp_path / "run"
    args = ["solve", "Craft 1 crafting table", "--no-library", "--llm", "planner", "--seed", "3",
            "--iterations", "8", "--run-dir", str(run), "--json"]
    lifelong = str(Path(sys.executable).with_name("lifelong"))
    killed = subprocess.run([lifelong, *args], env={**os.environ, "LIFELONG_FAULT": "round@2"},
                            capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -9, killed.stderr
    out = CliRunner().invoke(app, [*args, "--resume"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert result["success"] is True and result["critic"] == "inventory"
    assert [s["task"] for s in result["subgoals"]] == ["Mine 1 wood log", "Craft 4 planks", "Craft 1 crafting table"]
    assert all(s["done"] for s in result["subgoals"]) and result["iterations"] == 3
    assert [e["iteration"] for e in map(json.loads, (run / "events.jsonl").read_text().splitlines())
            if e["event"] == "step"] == [1, 2, 3]
    assert "craftCraftingTable" in result["new_skills"] and result["new_skills_stored"] is False
    assert not list((run / "library").glob("skills/*"))  # --no-library: exploration's ablation, nothing stored
    assert result["reused_skills"] == [] and json.loads((run / "result.json").read_text())["success"] is True


@pytest.mark.slow
@pytest.mark.minecraft
def test_sigterm_stops_the_embedded_server_the_run_started(tmp_path):
    """`kill` (SIGTERM) mid-run ends the command through its `finally` blocks: the world's server
    stops with it instead of running on without an owner, and the run folder stays on disk
    (resuming it is test_solve_a_small_task_in_a_new_world_end_to_end's business)."""
    import signal
    import sys
    import time

    from lifelong.minecraft.server import EmbeddedServer

    run = tmp_path / "run"
    args = ["solve", "Craft 1 crafting table", "--no-library", "--llm", "planner", "--seed", "3",
            "--iterations", "8", "--run-dir", str(run), "--time-scale", "4"]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("lifelong")), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = EmbeddedServer(world_dir=run / "world")
    try:
        deadline = time.monotonic() + 120
        while not (run / "world").exists() or not server.status(probe=False).running:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
        time.sleep(2.0)  # into the first round
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        left_running = server.status(probe=False).running
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()  # only if the command left it
    assert proc.returncode == 128 + signal.SIGTERM
    assert not left_running
    assert (run / "checkpoint.json").exists() or (run / "run.json").exists()
