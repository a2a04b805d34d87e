"""The curriculum: Voyager's automatic one over a real local HTTP server, and static YAML ones."""


import pytest

from lifelong.config import LLMSettings
from lifelong.llm import LLM
from lifelong.minecraft.curriculum import (
    CHEST_SLOTS,
    FIRST_TASK,
    Curriculum,
    CurriculumError,
    Memory,
    QACache,
    StaticCurriculum,
    curriculum_path,
    parse_curriculum_reply,
)
from lifelong.openai_server import ChatServer, Fault

OBS = {"inventory": {"oak_log": 2, "dirt": 5, "wheat_seeds": 1}, "inventory_slots_used": 3,
       "voxels": ["stone", "oak_log"], "blocks_seen": ["sand", "stone"], "biome": "plains",
       "time_of_day": "day", "health": 18, "food": 17, "entities": {"cow": 12.0, "pig": 3.0},
       "position": {"x": 1, "y": 64, "z": 2}, "equipment": {}, "chests": {}}


def llm_for(server, tmp_path):
    return LLM(LLMSettings(base_url=server.base_url, max_retries=3), run_dir=tmp_path, cache_dir=None)


def test_first_task_is_always_wood_without_asking():
    cur = Curriculum(llm=None)
    task = cur.propose(OBS)
    assert task.name == FIRST_TASK == "Mine 1 wood log" and "oak" in task.context


def test_chest_task_when_inventory_is_nearly_full():
    cur = Curriculum(llm=None)
    cur.record("Mine 1 wood log", True)
    full = {**OBS, "inventory_slots_used": CHEST_SLOTS}
    assert cur.propose(full).name == "Craft 1 chest"
    assert cur.propose({**full, "inventory": {"chest": 1}}).name == "Place a chest"
    with_chest = {**full, "chests": {"3,64,5": {"dirt": 3}}}
    assert cur.propose(with_chest).name == "Deposit useless items into the chest at (3,64,5)"


def test_llm_curriculum_reprompts_on_forbidden_and_retries_429(tmp_path):
    script = [Fault.rate_limit(), "Reasoning: shelter\nTask: Build a house",
              "Reasoning: wood is there\nTask: Craft 4 planks.",
              "Answer: Put one log in the crafting grid."]
    with ChatServer.scripted(script) as server:
        cur = Curriculum(llm_for(server, tmp_path), qa=None, seed=1)
        cur.record("Mine 1 wood log", True)
        task = cur.propose(OBS)
        reqs = list(server.requests)
    assert task.name == "Craft 4 planks" and task.meta["reasoning"] == "wood is there"
    assert task.context.startswith("Question: How to craft 4 planks in Minecraft?\nAnswer: Put one log")
    user = reqs[0]["messages"][1]["content"]
    assert "Completed tasks so far: Mine 1 wood log" in user and "Failed tasks that are too hard: None" in user
    assert "building" in reqs[2]["messages"][-1]["content"]  # the reprompt says why


def test_warm_up_hides_fields_until_enough_tasks_are_done():
    cur = Curriculum(llm=None, seed=3)
    early = cur.user_message(OBS)
    assert "Biome" not in early and "Health" not in early and "Nearby entities" not in early
    assert "wheat_seeds" not in early and "oak_log" in early  # only tool-tree items before 7 tasks
    assert "Nearby blocks: stone, oak_log" in early
    # after 16 tasks each optional field shows with probability 0.8: across seeds most do
    hits = 0
    for seed in range(20):
        c = Curriculum(llm=None, seed=seed)
        c.memory.completed = [f"t{i}" for i in range(16)]
        hits += "Biome: plains" in c.user_message(OBS)
    assert 10 <= hits <= 20


def test_failed_tasks_are_retried_later_not_at_once():
    mem = Memory()
    mem.record("Mine 3 iron ore", False)
    assert mem.due_retry(retry_after=2, max_attempts=3) is None
    mem.record("Craft 1 stone sword", True)
    assert mem.due_retry(2, 3) is None
    mem.record("Craft 4 torch", True)
    assert mem.due_retry(2, 3) == "Mine 3 iron ore"
    mem.record("Mine 3 iron ore", True)
    assert "Mine 3 iron ore" in mem.completed and mem.failed == []


def test_curriculum_state_round_trips():
    cur = Curriculum(llm=None)
    cur.record("Mine 1 wood log", True)
    cur.record("Craft 1 chest", False)
    other = Curriculum(llm=None)
    other.load_state_dict(cur.state_dict())
    assert other.memory == cur.memory


@pytest.mark.parametrize("text,task", [
    ("Reasoning: r\nTask: Mine 3 cobblestone", "Mine 3 cobblestone"),
    ("Task: **Craft 1 furnace**", "Craft 1 furnace"),
])
def test_parse_curriculum_reply(text, task):
    assert parse_curriculum_reply(text)[0] == task


@pytest.mark.parametrize("text", ["Reasoning: only", "Task: Place 4 torches", "Task: Mine 1 log and craft planks"])
def test_bad_curriculum_replies_are_rejected(text):
    with pytest.raises(ValueError):
        parse_curriculum_reply(text)


def test_static_tech_tree_and_retry_order(tmp_path):
    path = curriculum_path("tech-tree")
    cur = StaticCurriculum(path, retry_after=2)
    assert cur.name == "tech-tree" and cur.tasks[0].task == FIRST_TASK
    order = []
    for success in (True, False, True, True, True):
        t = cur.propose({})
        order.append(t.name)
        cur.record(t.name, success)
    assert order[:2] == ["Mine 1 wood log", "Craft 4 planks"]
    assert order[2:] == ["Craft 1 crafting table", "Craft 4 stick", "Craft 4 planks"]  # retried after 2 others


def test_static_curriculum_exhausts(tmp_path):
    f = tmp_path / "two.yaml"
    f.write_text("tasks:\n  - Mine 1 wood log\n  - task: Craft 4 planks\n    context: logs\n")
    cur = StaticCurriculum(f, max_attempts=1)
    for _ in range(2):
        t = cur.propose({})
        cur.record(t.name, t.name == "Mine 1 wood log")
    assert cur.propose({}) is None


def test_bad_curricula_say_what_is_wrong(tmp_path):
    with pytest.raises(CurriculumError, match="tech-tree"):
        curriculum_path("no-such-curriculum")
    f = tmp_path / "bad.yaml"
    f.write_text("tasks: []\n")
    with pytest.raises(CurriculumError, match="non-empty 'tasks'"):
        StaticCurriculum(f)


def test_qa_cache_reuses_near_identical_questions(tmp_path, embedder):
    script = ["Reasoning: r\nQuestion 1: How to craft a furnace in Minecraft?\nConcept 1: furnace",
              "Answer: 8 cobblestone on a crafting table."]
    with ChatServer.scripted(script) as server:
        qa = QACache(tmp_path / "qa", embedder)
        cur = Curriculum(llm_for(server, tmp_path), qa=qa)
        lines = cur.questions_and_answers(OBS)
        assert lines == ["Question 1: How to craft a furnace in Minecraft?",
                         "Answer: 8 cobblestone on a crafting table."]
        # same question again, and a near-identical one: answered from the cache, no request
        assert cur.answer("How to craft a furnace in Minecraft?") == "8 cobblestone on a crafting table."
        assert cur.answer("How to craft a furnace in Minecraft ?") == "8 cobblestone on a crafting table."
        assert len(server.requests) == 2
    reopened = QACache(tmp_path / "qa", embedder)
    assert reopened.lookup("How to craft a furnace in Minecraft?") == "8 cobblestone on a crafting table."
    assert reopened.lookup("How to tame a wolf in Minecraft?") is None
