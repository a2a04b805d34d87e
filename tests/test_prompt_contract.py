"""The planner's contract with the prompt files (planner.py's PROMPT_CONTRACT).

The planner answers the agents' prompts by recognising them: a role by a phrase near the top of
each system prompt, the values it needs by the ``Label:`` lines the prompt describes. Editing a
prompt could silently break it (and most Minecraft tests); these tests say which line broke.
"""

import shutil

import pytest

from lifelong.minecraft.action import PROMPTS
from lifelong.minecraft.planner import PROMPT_CONTRACT, ROLE_HEAD, contract_violations, role_of


def test_every_prompt_keeps_the_phrases_the_planner_reads():
    problems = contract_violations()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("entry", [e for e in PROMPT_CONTRACT if e.role], ids=lambda e: e.prompt)
def test_each_prompt_is_recognised_as_its_role(entry):
    system = (PROMPTS / entry.prompt).read_text()
    assert role_of("gpt-4o", system) == entry.role, f"{PROMPTS / entry.prompt}: expected the line\n    {entry.line}"


def test_a_broken_phrase_names_the_prompt_and_the_line(tmp_path):
    shutil.copytree(PROMPTS, tmp_path, dirs_exist_ok=True)
    critic = tmp_path / "critic.txt"
    critic.write_text(critic.read_text().replace("assesses my progress", "judges my progress"))
    action = tmp_path / "action.txt"
    text = action.read_text()
    action.write_text("\n" * ROLE_HEAD + text)  # the phrase is still there, but out of role_of's sight
    problems = contract_violations(tmp_path)
    assert len(problems) == 2
    assert str(critic) in problems[1] and "You are an assistant that assesses my progress" in problems[1]
    assert str(action) in problems[0] and "writes Mineflayer javascript code" in problems[0]
    assert f"first {ROLE_HEAD} characters" in problems[0]
