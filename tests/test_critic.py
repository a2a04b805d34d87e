"""The critic: deterministic inventory checks, and the LLM critic over a real local HTTP server."""

import pytest

from lifelong.config import LLMSettings
from lifelong.llm import LLM
from lifelong.minecraft.critic import Critic, parse_count_task, parse_critic_reply
from lifelong.openai_server import ChatServer, Fault


def llm_for(server, tmp_path):
    return LLM(LLMSettings(base_url=server.base_url, max_retries=3), run_dir=tmp_path, cache_dir=None)


@pytest.mark.parametrize("task,verb,count,item", [
    ("Mine 1 wood log", "mine", 1, "oak_log"),
    ("Mine 3 iron ore", "mine", 3, "raw_iron"),
    ("Craft 4 planks", "craft", 4, "birch_planks"),
    ("Craft 1 wooden pickaxe", "craft", 1, "wooden_pickaxe"),
    ("Craft 4 torches", "craft", 4, "torch"),
    ("Smelt 3 raw iron", "smelt", 3, "iron_ingot"),
    ("Cook 1 beef", "cook", 1, "cooked_beef"),
    ("Kill 1 cow", "kill", 1, "beef"),
    ("Mine 3 cobblestone", "mine", 3, "cobblestone"),
    ("Obtain a wood log", "obtain", 1, "spruce_log"),
])
def test_countable_tasks_name_the_items_that_count(task, verb, count, item):
    spec = parse_count_task(task)
    assert spec is not None and spec.verb == verb and spec.count == count
    assert item in spec.items


@pytest.mark.parametrize("task", ["Equip iron pickaxe", "Deposit useless items into the chest at (1, 2, 3)",
                                  "Mine 2 unobtainium", "Explore the desert"])
def test_uncountable_tasks_are_left_to_the_llm(task):
    assert parse_count_task(task) is None


def test_inventory_difference_decides_without_an_llm():
    critic = Critic(llm=None)
    before = {"inventory": {"oak_log": 2}}
    ok = critic.judge("Mine 3 wood log", "", before, {"inventory": {"oak_log": 3, "birch_log": 2}}, None)
    assert ok.success and ok.method == "inventory" and ok.detail["gained"] == 3
    short = critic.judge("Mine 3 wood log", "", before, {"inventory": {"oak_log": 4}}, None)
    assert not short.success and "needs 3 more wood log" in short.critique and "gained 2" in short.critique
    # Losing items never counts as progress; consumed ingredients do not offset gains.
    crafted = critic.judge("Craft 1 crafting table", "", {"inventory": {"oak_planks": 4}},
                           {"inventory": {"crafting_table": 1}}, None)
    assert crafted.success


def test_an_error_is_failure_without_asking_anyone():
    critic = Critic(llm=None)
    verdict = critic.judge("Mine 1 wood log", "", {"inventory": {}}, {"inventory": {"oak_log": 1}},
                           "Error: boom\n  at line 3 of the program")
    assert not verdict.success and verdict.method == "error" and "boom" in verdict.critique


@pytest.mark.parametrize("reply,success,critique", [
    ('{"reasoning": "has it", "success": true, "critique": ""}', True, ""),
    ('Sure!\n```json\n{"reasoning": "no", "success": false, "critique": "get 2 more"}\n```', False, "get 2 more"),
    ("{'reasoning': 'py style', 'success': True, 'critique': 'ok'}", True, "ok"),
    ('{"reasoning": "x", "success": "false", "critique": "nope",}', False, "nope"),  # trailing comma
])
def test_critic_replies_are_parsed_robustly(reply, success, critique):
    got, text, _ = parse_critic_reply(reply)
    assert got is success and text == critique


def test_unparseable_critic_reply_raises():
    with pytest.raises(ValueError):
        parse_critic_reply("I think it went well")


def test_equip_is_checked_from_the_equipment():
    critic = Critic(llm=None)
    worn = critic.judge("Equip iron pickaxe", "", {}, {"equipment": {"mainhand": "iron_pickaxe"}}, None)
    assert worn.success and worn.method == "inventory"
    bare = critic.judge("Equip an iron helmet", "", {}, {"equipment": {"mainhand": "iron_pickaxe", "head": None}}, None)
    assert not bare.success and "iron_helmet is not equipped (equipment: iron_pickaxe)" in bare.critique


def test_llm_critic_for_uncountable_task_retries_and_reprompts(tmp_path):
    replies = [Fault.rate_limit(), "I cannot decide.",
               '{"reasoning": "the chest holds the dirt", "success": true, "critique": ""}']
    task = "Deposit useless items into the chest at (1, 64, 2)"
    with ChatServer.scripted(replies) as server:
        critic = Critic(llm_for(server, tmp_path))
        verdict = critic.judge(task, "", {"inventory": {"dirt": 30}},
                               {"inventory": {"iron_pickaxe": 1}, "chests": {"1,64,2": {"dirt": 30}}}, None)
        assert verdict.success and verdict.method == "llm"
        bodies = [r for r in server.requests]
        assert len(bodies) == 3  # the 429 was retried by the client, then one reprompt
        last = bodies[-1]["messages"]
        assert last[-1]["role"] == "user" and "JSON" in last[-1]["content"]
        assert f"Task: {task}" in last[1]["content"] and '"dirt": 30' in last[1]["content"]
