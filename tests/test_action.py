"""The action agent: strict reply parsing, and the full LLM path over a real local HTTP server.

prompt -> parse -> run -> critique -> reprompt, with malformed replies, a program that throws and
429s, through the real ``openai`` client (the body is a test double of MinecraftEnv). Reading a
program is the runner's parser (lifelong/minecraft/program.py): these tests need Node.
"""

import pytest
from test_explore_support import make_world, reply

from lifelong.loop import Loop
from lifelong.minecraft.action import (
    ParseError,
    parse_action_reply,
    primitive_docs,
    primitive_names,
)
from lifelong.minecraft.program import program_info
from lifelong.openai_server import ChatServer, Fault

pytestmark = pytest.mark.node

GOOD = reply('async function helper(x) { return x }\nasync function mineWoodLog(bot) {\n'
             '  await mineBlock(bot, "oak_log", 1);\n}')


def test_parse_good_reply():
    parsed = parse_action_reply("Explain: none\n" + GOOD.split("\n", 1)[1])
    assert parsed.main == "mineWoodLog" and "mineBlock" in parsed.code and parsed.plan == "1) do it"


@pytest.mark.parametrize("text,needle", [
    ("Explain: x\nPlan: y\nCode: none", "no ```javascript code block"),
    ("Plan: y\nCode:\n```js\nasync function a(bot) {}\n```\n```js\nasync function b(bot) {}\n```", "2 code blocks"),
    ("Plan: y\nCode:\n```javascript\nfunction a(bot) {}\n```", "no top-level `async function"),
    ("Plan: y\nCode:\n```javascript\nasync function a(bot, n) {}\n```", "exactly one argument named `bot`"),
    ("Plan: y\nCode:\n```javascript\nasync function mineBlock(bot) {}\n```", "is a primitive"),
    ("Code:\n```javascript\nasync function a(bot) {}\n```", "no 'Plan:' section"),
    ("Plan: y\n```javascript\nasync function a(bot) {}\n```", "no 'Code:' section"),
    ("Plan: y\nCode:\n```javascript\nasync function a(bot) { await mineBlock(bot, \n}\n```", "SyntaxError"),
    ("Plan: y\nCode:\n```javascript\nimport fs from 'fs'\nasync function a(bot) {}\n```", "cannot load modules"),
])
def test_malformed_replies_say_what_to_fix(text, needle):
    with pytest.raises(ParseError, match=None) as info:
        parse_action_reply(text)
    assert needle in str(info.value)


def test_only_top_level_async_functions_count():
    code = ('// async function fake(bot) {}\nconst s = "async function alsoFake(bot)";\n'
            'async function outer(bot, n = 2) {\n  async function inner(bot, x) {}\n  await inner(bot, 1);\n}\n')
    info = program_info(code)
    assert info.functions == (("outer", ("bot", "n")),) and info.main == "outer" and not info.error


def test_calls_are_the_names_called_and_not_declared():
    """What the runner's parser reports: calls outside comments and strings, methods excluded,
    and nothing the program declares itself (its helpers, variables, parameters)."""
    code = ("// craftTable(bot)\nasync function helper(bot) { await mineWoodLog(bot); }\n"
            "async function main(bot) {\n  const have = (n) => n; have(1); bot.craftSticks(1);\n"
            "  const s = 'smeltOre(bot)'; await helper(bot); await mineBlock(bot, 'stone', 1);\n"
            "  await mineWoodLog(bot);\n}\n")
    info = program_info(code)
    assert info.main == "main" and info.calls == ("mineWoodLog", "mineBlock")
    assert info.skills({"mineBlock", "helper", "craftTable", "smeltOre", "craftSticks"}) == ["mineBlock"]


def test_primitives_are_read_from_their_files():
    names = primitive_names()
    assert {"mineBlock", "craftItem", "exploreUntil", "depositItemIntoChest", "waitForMobRemoved"} <= names
    assert not any(n.startswith("_") for n in names)


def test_primitive_docs_come_from_the_primitives():
    docs = primitive_docs()
    for name in ("mineBlock", "craftItem", "smeltItem", "placeItem", "killMob", "exploreUntil"):
        assert name in docs


def test_full_llm_path_malformed_then_throw_then_429_then_success(tmp_path):
    throws = reply('async function mineWoodLog(bot) {\n  bot.chat("looking");\n'
                   '  throw new Error("no tree here");\n}')
    works = reply('async function mineWoodLog(bot) {\n  await mineBlock(bot, "oak_log", 1);\n}')
    script = [
        "I would chop a tree.",            # round 0: malformed (no code) -> reprompt
        throws,                            # round 0: parses, but the program throws
        Fault.rate_limit(), works,         # round 1: a 429 retried by the client, then good code
        "Mines one oak log with the mineBlock primitive.",  # describer
    ]
    with ChatServer.scripted(script) as server:
        world, env, library, run, _ = make_world(server.base_url, tmp_path)
        state = Loop(world, run, rounds=4).run(iterations=2)
        requests = list(server.requests)
    assert state.iteration == 2 and state.history[0]["success"] and state.history[0]["skill"] == "mineWoodLog"
    # the reprompt carried the parse error back to the model
    reprompt = requests[1]["messages"]
    assert reprompt[-2] == {"role": "assistant", "content": "I would chop a tree."}
    assert "no ```javascript code block" in reprompt[-1]["content"]
    # round 1's prompt holds round 0's code, error, chat and critique
    second = requests[3]["messages"][1]["content"]
    assert 'throw new Error("no tree here")' in second
    assert "Execution error:\nError: no tree here" in second and "at line 3" in second
    assert "Critique: The program failed with an error" in second
    assert requests[2] == requests[3]  # the 429'd request was retried unchanged
    # the stored skill: code, LLM description, evidence
    skill = library.get("mineWoodLog")
    assert skill.description.startswith("Mines one oak log") and skill.evidence["round"] == 1
    assert skill.evidence["inventory_after"] == {"oak_log": 1}
    steps = run.events("step")
    assert [s["success"] for s in steps] == [False, True] and steps[1]["new_items"] == ["oak_log"]
    assert env.inventory == {"oak_log": 1}


def test_unusable_replies_fail_the_round_without_crashing(tmp_path):
    bad = "Plan: none\nCode:\n```javascript\nconsole.log(1)\n```"
    with ChatServer.scripted([bad, bad, bad]) as server:  # parse_retries=2: three tries in all
        world, env, library, run, _ = make_world(server.base_url, tmp_path)
        state = Loop(world, run, rounds=1).run(iterations=1)
    assert state.history[0]["success"] is False and env.steps == []
    step = run.events("step")[0]
    assert step["method"] == "parse" and "could not be used" in step["critique"]
    assert len(library) == 0
