"""`lifelong run-program`: a Voyager-style skill file that calls primitives and library skills
runs on a fresh embedded world, end to end through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from js_snippets import FREE_SPOT

from lifelong.library import SkillLibrary

pytestmark = [pytest.mark.minecraft, pytest.mark.slow]

PORT = 25594
LIFELONG = [sys.executable, "-c", "from lifelong.cli import main; main()"]

CRAFT_PLANKS = """// Voyager style: one async function taking bot, composed from primitives.
async function craftOakPlanks(bot) {
  const logs = bot.inventory.items().filter((it) => it.name === "oak_log");
  if (logs.length === 0) {
    bot.chat("no oak_log to make planks from");
    return;
  }
  await craftItem(bot, "oak_planks", 3);
}
"""

CRAFT_STICKS = """async function craftSticks(bot) {
  await craftOakPlanks(bot);
  await craftItem(bot, "stick", 1);
}
"""

PROGRAM = "// Calls a library skill (craftSticks, which calls craftOakPlanks) and primitives.\n" + FREE_SPOT + """
async function craftWoodenPickaxe(bot) {
  await craftSticks(bot);
  await craftItem(bot, "crafting_table", 1);
  const spot = freeSpot(bot);
  await placeItem(bot, "crafting_table", spot);
  await craftItem(bot, "wooden_pickaxe", 1);
  await craftItem(bot, "iron_pickaxe", 1);
}
"""


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    # No colours: JSPyBridge sets FORCE_COLOR in this process, and rich would obey it.
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | {"NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([*LIFELONG, "run-program", *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def test_voyager_style_skill_file_with_library_skills(tmp_path: Path) -> None:
    lib = SkillLibrary(tmp_path / "library")
    lib.add("craftOakPlanks", CRAFT_PLANKS, kind="minecraft-program", description="Craft 12 oak planks from 3 oak logs.")
    lib.add("craftSticks", CRAFT_STICKS, kind="minecraft-program", description="Craft planks, then 4 sticks.", calls=["craftOakPlanks"])
    lib.add("unrelatedSkill", "async function unrelatedSkill(bot) { throw new Error('loaded'); }",
            kind="minecraft-program", description="Never needed: must not be loaded.")
    program = tmp_path / "craftWoodenPickaxe.js"
    program.write_text(PROGRAM)

    proc = run_cli(str(program), "--library", str(tmp_path / "library"), "--give", "oak_log=4",
                   "--seed", "42", "--port", str(PORT), "--world", str(tmp_path / "world"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"], out["error"]
    assert out["chat"][:4] == [f"I did the recipe for {x} times" for x in ("oak_planks 3", "stick 1", "crafting_table 1", "wooden_pickaxe 1")], out["chat"]
    assert sorted(out["skills"]) == ["craftOakPlanks", "craftSticks"]
    # 4 logs -> 12 planks (1 log left) -> 4 sticks (10 planks) -> table (6) -> pickaxe (3 planks, 2 sticks)
    assert out["inventory"] == {"oak_log": 1, "oak_planks": 3, "stick": 2, "wooden_pickaxe": 1}
    assert "cannot craft iron_pickaxe: need 3 more iron_ingot" in out["chat"]
    assert "crafting_table" in out["observation"]["voxels"]


def test_errors_exit_nonzero_with_the_line(tmp_path: Path) -> None:
    program = tmp_path / "broken.js"
    program.write_text("async function broken(bot) {\n  bot.chat('hi');\n  await notAFunction(bot);\n}\n")
    proc = run_cli(str(program), "--port", str(PORT + 1), "--world", str(tmp_path / "world"))
    assert proc.returncode == 1
    assert "notAFunction is not defined" in proc.stdout
    assert "at line 3 of the program: await notAFunction(bot);" in proc.stdout
    bad = run_cli(str(program), "--give", "oak log=2", "--server", "127.0.0.1:1")
    assert bad.returncode == 2 and "write ITEM=N" in bad.stderr


def test_viewer_flag_prints_the_local_url(tmp_path: Path) -> None:
    program = tmp_path / "hello.js"
    program.write_text("async function hello(bot) { bot.chat('hello'); }\n")
    proc = run_cli(str(program), "--viewer", "--viewer-port", "25598", "--linger", "0",
                   "--port", "25590", "--world", str(tmp_path / "world"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "viewer: http://localhost:25598" in proc.stdout
    assert "chat: hello" in proc.stdout
