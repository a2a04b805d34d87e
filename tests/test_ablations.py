"""Voyager's ablations as `explore` flags: each one's effect on the prompt, the critic and the library
(a scripted LLM on a real local HTTP server and the body double), the random curriculum, the
vocabulary's errors, what run.json and the report record, and the natural world's plumbing."""

import json
from pathlib import Path

import pytest
from test_explore_support import FakeMinecraftEnv, reply
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.config import LLMSettings
from lifelong.library import SkillLibrary
from lifelong.llm import LLM
from lifelong.loop import Loop
from lifelong.minecraft import ablations
from lifelong.minecraft.critic import parse_count_task
from lifelong.minecraft.curriculum import StaticCurriculum
from lifelong.minecraft.metrics import compute
from lifelong.minecraft.random_curriculum import RandomCurriculum, task_pool
from lifelong.minecraft.run import ExploreConfig, curriculum_for, minecraft_world
from lifelong.minecraft.server import EmbeddedServer, ServerError
from lifelong.openai_server import ChatServer
from lifelong.runs import RunDir

runner = CliRunner()
E2E_PORT = 25617
DOCS = "// mineBlock(bot, name, count): mine blocks"
HELPER = 'async function mineWoodLog(bot) {\n  await mineBlock(bot, "oak_log", 2);\n}\n'
CRITIC_MARK = "assistant that assesses my progress"  # the critic's system prompt (prompts/critic.txt)


def play(tmp_path: Path, name: str, task: str, script: list, rounds: int, ablation: tuple[str, ...] = (),
         helper: bool = False):
    """One static task through the world as `explore` wires it; returns what the LLM was sent,
    the body, the library and the run folder."""
    (tmp_path / f"{name}.yaml").write_text(json.dumps({"tasks": [task]}))
    library = SkillLibrary(tmp_path / f"{name}-library")
    if helper:
        library.add("mineWoodLog", HELPER, kind="minecraft-program", description="Mines two oak logs.",
                    task="Mine 2 wood logs", world="minecraft")
    run = RunDir(tmp_path / name)
    env = FakeMinecraftEnv()
    with ChatServer.scripted(script) as server:
        llm = LLM(LLMSettings(base_url=server.base_url, max_retries=1), run_dir=run.path, cache_dir=None)
        world = minecraft_world(llm, library, run, env, curriculum=StaticCurriculum(tmp_path / f"{name}.yaml"),
                                docs=DOCS, ablations=ablation)
        run.log("run_started", llm="scripted", curriculum=name, seed=0, ablations=list(ablation))
        Loop(world, run, rounds=rounds).run(iterations=rounds)
        requests = list(server.requests)
    return requests, env, library, run.path


# ---- the vocabulary ------------------------------------------------------------------------------


def test_unknown_names_list_the_valid_ones(tmp_path):
    with pytest.raises(ablations.AblationError, match="valid ones are no-library, no-critic, no-feedback"):
        ablations.check_ablations(["no-curriculum"])
    with pytest.raises(ablations.AblationError, match=r"valid ones are auto, random, starter, tech-tree"):
        ablations.check_curriculum("bogus")
    with pytest.raises(ablations.AblationError, match="does not exist"):
        ablations.check_curriculum(str(tmp_path / "missing.yaml"))
    with pytest.raises(ablations.AblationError, match="valid ones are grove, natural"):
        ablations.check_world_style("flat")
    (tmp_path / "mine.yaml").write_text("tasks: [Craft 1 furnace]")
    assert ablations.validate(ablations=["no-feedback", "no-library", "no-library"],
                              curriculum=str(tmp_path / "mine.yaml"), world_style="natural") == (
        ("no-library", "no-feedback"), str(tmp_path / "mine.yaml"), "natural")
    result = runner.invoke(app, ["explore", "--curriculum", "bogus", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code != 0 and "valid ones are auto, random, starter, tech-tree" in result.output
    assert not (tmp_path / "run").exists(), "nothing starts before the names are checked"
    with pytest.raises(ServerError, match="valid ones are grove, natural"):
        EmbeddedServer(world_dir=tmp_path / "w", world_style="flat")
    result = runner.invoke(app, ["server", "start", "--world", str(tmp_path / "w"), "--world-style", "flat"])
    assert result.exit_code != 0 and "valid ones are grove, natural" in " ".join(result.output.split())
    assert not (tmp_path / "w").exists()


# ---- each ablation's effect ----------------------------------------------------------------------


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_no_library_retrieves_loads_and_stores_no_skill(tmp_path):
    code = 'async function mineThreeLogs(bot) {\n  await mineBlock(bot, "oak_log", 1);\n  await mineWoodLog(bot);\n}'
    full, full_env, full_lib, full_run = play(tmp_path, "full", "Mine 1 wood log",
                                              [reply(code), "Mines logs."], rounds=1, helper=True)
    assert "async function mineWoodLog" in full[0]["messages"][0]["content"]  # retrieved into the prompt
    assert [s["name"] for s in full_env.steps[0][1]] == ["mineWoodLog"] and full_env.inventory == {"oak_log": 3}
    assert full_lib.names() == ["mineThreeLogs", "mineWoodLog"] and compute(full_run)["skills_learned"] == 1

    bare, env, library, run = play(tmp_path, "bare", "Mine 1 wood log", [reply(code)], rounds=1,
                                   ablation=("no-library",), helper=True)
    assert len(bare) == 1, "no description is asked for: nothing is stored"
    assert "mineWoodLog" not in bare[0]["messages"][0]["content"]
    assert env.steps[0][1] == [] and env.inventory == {"oak_log": 1}  # the helper was not loaded
    assert library.names() == ["mineWoodLog"]
    report = compute(run)
    assert report["skills_learned"] == 0 and report["skills"] == [] and report["ablations"] == ["no-library"]
    assert report["tasks_completed"] == ["Mine 1 wood log"]  # the task itself still counts


@pytest.mark.node
def test_no_critic_never_asks_the_critic_and_counts_a_clean_run_as_success(tmp_path):
    task = "Make the bot look happy"  # no inventory check: the LLM critic judges it
    failing = reply('async function lookHappy(bot) {\n  throw new Error("no face");\n}')
    clean = reply('async function lookHappy(bot) {\n  await mineBlock(bot, "dirt", 1);\n}')
    verdict = '{"reasoning": "nothing changed", "success": false, "critique": "Smile."}'
    full, _, full_lib, full_run = play(tmp_path, "full", task, [failing, clean, verdict], rounds=2)
    assert sum(CRITIC_MARK in r["messages"][0]["content"] for r in full) == 1
    assert compute(full_run)["tasks_failed"] == [task] and full_lib.names() == []

    bare, _, library, run = play(tmp_path, "bare", task, [failing, clean, "Digs dirt."], rounds=2,
                                 ablation=("no-critic",))
    assert not any(CRITIC_MARK in r["messages"][0]["content"] for r in bare)
    steps = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    steps = [e for e in steps if e["event"] == "step"]
    assert [(e["success"], e["method"]) for e in steps] == [(False, "no-critic"), (True, "no-critic")]
    assert "no face" in steps[0]["error"] and steps[0]["critique"] == ""
    assert library.names() == ["lookHappy"] and compute(run)["tasks_completed"] == [task]


@pytest.mark.node
def test_no_feedback_shows_the_last_code_but_no_error_chat_or_critique(tmp_path):
    first = reply('async function craftPickaxe(bot) {\n  await craftItem(bot, "wooden_pickaxe", 1);\n'
                  '  throw new Error("no table nearby");\n}')
    second = reply('async function craftPickaxe(bot) {\n  await craftItem(bot, "wooden_pickaxe", 1);\n}')
    prompts = {}
    for name, ablation in (("full", ()), ("bare", ("no-feedback",))):
        sent, *_ = play(tmp_path, name, "Craft 1 wooden pickaxe", [first, second], rounds=2, ablation=ablation)
        prompts[name] = sent[1]["messages"][1]["content"]
    full, bare = prompts["full"], prompts["bare"]
    assert "no table nearby" in full and "cannot craft wooden_pickaxe" in full and "Critique: The program failed" in full
    assert 'throw new Error("no table nearby")' in bare  # the code of the last round is still shown
    for line in ("Execution error:\nNo error", "Chat log: None", "Critique: None"):
        assert line in bare
    assert "no table nearby\n" not in bare.split("Execution error:")[1]


# ---- the random curriculum -----------------------------------------------------------------------


def test_random_pool_holds_what_our_world_gives_phrased_for_the_critic():
    pool = task_pool()
    assert 150 < len(pool) < 250 and len(set(pool)) == len(pool)
    for task in ("Mine 1 wood log", "Craft 1 crafting table", "Craft 1 iron pickaxe", "Smelt 1 raw iron",
                 "Kill 1 cow", "Craft 1 diamond pickaxe"):
        assert task in pool
    for absent in ("Kill 1 blaze", "Craft 1 acacia boat", "Craft 9 netherite ingot", "Craft 1 white bed"):
        assert absent not in pool  # the Nether, acacia trees and spiders' string are not in our world
    assert all(parse_count_task(t) is not None for t in pool)


def test_random_curriculum_is_seeded_resumable_and_skips_completed_items(tmp_path):
    first = RandomCurriculum(seed=5)
    drawn = [first.propose({}).name for _ in range(3)]
    again, other = RandomCurriculum(seed=5), RandomCurriculum(seed=6)
    assert drawn == [again.propose({}).name for _ in range(3)]
    assert drawn != [other.propose({}).name for _ in range(3)]
    first.record(drawn[-1], True)
    state = json.loads(json.dumps(first.state_dict()))
    resumed = RandomCurriculum(seed=5)
    resumed.load_state_dict(state)
    assert [resumed.propose({}).name for _ in range(4)] == [first.propose({}).name for _ in range(4)]
    small = RandomCurriculum(seed=1, pool=("Mine 1 dirt", "Mine 1 sand"))
    task = small.propose({}).name
    small.record(task, True)
    assert {small.propose({}).name for _ in range(10)} == {"Mine 1 dirt", "Mine 1 sand"} - {task}
    small.record("Mine 1 dirt" if task == "Mine 1 sand" else "Mine 1 sand", True)
    assert small.propose({}) is None
    task = RandomCurriculum(seed=0, context=lambda t: f"how to {t}").propose({})
    assert task.context == f"how to {task.name}" and task.meta["source"] == "random"
    run = RunDir(tmp_path / "run")
    picked = curriculum_for("random", LLM(LLMSettings(base_url="http://127.0.0.1:9"), run_dir=run.path),
                            SkillLibrary(tmp_path / "lib"), run, seed=3)
    assert isinstance(picked, RandomCurriculum) and picked.seed == 3


# ---- records -------------------------------------------------------------------------------------


def test_run_json_and_report_record_the_set_up_and_a_resume_keeps_it(tmp_path):
    from lifelong.config import Settings
    from lifelong.minecraft.run import Backend, _explore_meta

    settings = Settings(library_dir=tmp_path / "lib")
    backend = Backend("planner (not an LLM)", planner=True)
    config = ExploreConfig(run_dir=tmp_path / "run", ablations=("no-critic", "no-library"),
                           world_style="natural", curriculum="random")
    run = RunDir(tmp_path / "run")
    meta = _explore_meta(run, config, settings, backend)
    assert meta["ablations"] == ["no-library", "no-critic"] and meta["world_style"] == "natural"
    run.log("run_started", llm=backend.label, curriculum="random", seed=0, ablations=meta["ablations"],
            world_style="natural")
    resumed = _explore_meta(RunDir(tmp_path / "run", resume=True), ExploreConfig(resume=True), settings, backend)
    assert resumed["ablations"] == ["no-library", "no-critic"] and resumed["world_style"] == "natural"
    assert resumed["curriculum"] == "random"
    with pytest.raises(ablations.AblationError, match="started with ablations no-library, no-critic"):
        _explore_meta(RunDir(tmp_path / "run", resume=True), ExploreConfig(resume=True, ablations=("no-feedback",)),
                      settings, backend)
    with pytest.raises(ablations.AblationError, match="started with world style natural"):
        _explore_meta(RunDir(tmp_path / "run", resume=True), ExploreConfig(resume=True, world_style="grove"),
                      settings, backend)
    with pytest.raises(ablations.AblationError, match="needs the embedded server"):
        _explore_meta(RunDir(tmp_path / "other"), ExploreConfig(world_style="natural", server="h:1"), settings, backend)

    result = runner.invoke(app, ["report", str(run.path), "--no-plot"])
    assert result.exit_code == 0, result.output
    for text in ("no-library, no-critic", "natural", "random", "not an LLM"):
        assert text in result.stdout
    old = RunDir(tmp_path / "old")
    old.log("run_started", llm="scripted", curriculum="auto", seed=0)  # a run from before the ablations
    assert (compute(old.path)["ablations"], compute(old.path)["world_style"]) == ([], "grove")


def test_embedded_server_passes_the_world_style_only_when_not_the_default(tmp_path):
    """The launcher's own test (bridges/test/launcher.test.js) follows the flag to the generator."""
    default = EmbeddedServer(world_dir=tmp_path / "w", seed=1)
    natural = EmbeddedServer(world_dir=tmp_path / "w", seed=1, world_style="natural")
    assert "--world-style" not in default.command()
    assert natural.command()[-2:] == ["--world-style", "natural"]


def test_a_world_keeps_the_style_it_was_generated_in(tmp_path):
    assert EmbeddedServer(world_dir=tmp_path / "new").world_style == "grove"
    made = tmp_path / "made"
    made.mkdir()
    (made / "lifelong-world.json").write_text('{"world_style": "natural"}')  # written by start()
    assert EmbeddedServer(world_dir=made).world_style == "natural"  # no style asked: the world's own
    with pytest.raises(ServerError, match="generated with world style natural, not grove"):
        EmbeddedServer(world_dir=made, world_style="grove")
    old = tmp_path / "old"
    (old / "region").mkdir(parents=True)  # chunks from before world styles: the default's
    with pytest.raises(ServerError, match="generated with world style grove, not natural"):
        EmbeddedServer(world_dir=old, world_style="natural")


# ---- end to end ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(900)
def test_explore_with_the_planner_ablated_in_a_natural_world(tmp_path):
    """`lifelong explore` with three of the four switches at once, on the embedded server: what is
    recorded, and that no critic was asked and nothing stored."""
    from lifelong.minecraft.server import EmbeddedServer

    run, lib = tmp_path / "run", tmp_path / "library"
    args = ["explore", "--llm", "planner", "--iterations", "2", "--rounds", "1", "--seed", "3",
            "--time-scale", "8", "--program-timeout", "60", "--port", str(E2E_PORT), "--run-dir", str(run),
            "--library", str(lib), "--curriculum", "random", "--world-style", "natural",
            "--no-library", "--no-critic"]
    try:
        result = runner.invoke(app, args)
    finally:
        EmbeddedServer(world_dir=run / "world", port=E2E_PORT).stop()
    assert result.exit_code == 0, result.output
    meta = json.loads((run / "run.json").read_text())
    assert json.loads((run / "world" / "lifelong-world.json").read_text()) == {"world_style": "natural"}
    assert (meta["ablations"], meta["world_style"], meta["curriculum"]) == (["no-library", "no-critic"],
                                                                          "natural", "random")
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    started = next(e for e in events if e["event"] == "run_started")
    assert started["ablations"] == ["no-library", "no-critic"] and started["world_style"] == "natural"
    steps = [e for e in events if e["event"] == "step"]
    assert len(steps) == 2 and {e["method"] for e in steps} == {"no-critic"}
    assert all(e["task"] in task_pool() for e in steps)
    assert not any(e["event"] == "skill_stored" for e in events) and SkillLibrary(lib).names() == []
    report = compute(run)
    assert report["skills_learned"] == 0 and "critic" not in report["calls_by_role"]
    assert report["llm"].startswith("planner") and "not an LLM" in report["llm"]
    assert (report["ablations"], report["world_style"], report["curriculum"]) == (
        ["no-library", "no-critic"], "natural", "random")
