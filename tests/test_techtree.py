"""Acceptance from Python: the survival tech tree through the `javascript` bridge.

Python starts the embedded server (lifelong.minecraft.server), creates the mineflayer bot and
loads pathfinder, collectblock, tool and pvp through JSPyBridge, then runs the same scenario
as bridges/test/techtree.test.js (bridges/test/techtree.js) on that bot, at time scale 4 (the
server ticks 4x, and the bot's patched mineflayer takes ``timeScale``; the node suite runs the
same scenario at 1 and at 4).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lifelong.minecraft.server import EmbeddedServer, bridges_dir

pytestmark = [pytest.mark.slow, pytest.mark.minecraft]
PORT = 25566
TIME_SCALE = 4
STEPS = ["5 logs", "planks", "sticks", "crafting table placed", "wooden pickaxe", "3 cobblestone",
         "stone pickaxe", "furnace", "coal and raw iron", "3 iron ingots smelted", "iron pickaxe",
         "cow killed, beef picked up", "chest deposit + withdraw"]


def js_require(path: Path):
    """Node's require by absolute path (javascript.require would npm-install unknown names)."""
    os.environ.setdefault("NODE_NO_WARNINGS", "1")
    import javascript  # noqa: F401 - starts the bridge
    from javascript import config

    return config.global_jsi._require(str(path), timeout=60)


def test_tech_tree_from_python(tmp_path: Path) -> None:
    from javascript import once

    server = EmbeddedServer(world_dir=tmp_path / "world", port=PORT, seed=42, mobs=True,
                            daylight_cycle=False, difficulty="easy", view_distance=4, time_scale=TIME_SCALE)
    server.start(detach=True)
    modules = bridges_dir() / "node_modules"
    bot = None
    try:
        mineflayer = js_require(modules / "mineflayer")
        bot = mineflayer.createBot(server.address.bot_options("PyBot") | {"hideErrors": True, "timeScale": TIME_SCALE})
        bot.loadPlugin(js_require(modules / "mineflayer-pathfinder").pathfinder)
        bot.loadPlugin(js_require(modules / "mineflayer-collectblock").plugin)
        bot.loadPlugin(js_require(modules / "mineflayer-tool").plugin)
        bot.loadPlugin(js_require(modules / "mineflayer-pvp").plugin)
        once(bot, "spawn")
        bot.pathfinder.stuckTimeout = 3500 / TIME_SCALE  # game time without reaching the next node (our patch)
        bot.waitForChunksToLoad(timeout=60)
        assert bot.game.gameMode == "survival"
        techtree = js_require(bridges_dir() / "test" / "techtree.js")
        result = json.loads(techtree.playJson(bot, timeout=600))
        steps = [m["step"] for m in result["milestones"]]
        assert steps == STEPS
        assert result["inventory"]["iron_pickaxe"] == 1
        assert result["inventory"]["beef"] >= 1
        assert "/give" not in server.log_path.read_text()
    finally:
        if bot is not None:
            bot.quit()
        server.stop()
