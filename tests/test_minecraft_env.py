"""MinecraftEnv and the program runner on the embedded world: sandbox, timeouts, error lines,
crash recovery. One server and one bot per module keep this file to well under a minute."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
from server_support import running_server

from lifelong.minecraft.env import MinecraftEnv, resolve_skills
from lifelong.minecraft.server import EmbeddedServer

pytestmark = pytest.mark.minecraft

PORT = 25592


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    yield from running_server(tmp_path_factory, PORT, mobs=False, daylight_cycle=False)


@pytest.fixture(scope="module")
def env(server: EmbeddedServer) -> Iterator[MinecraftEnv]:
    e = MinecraftEnv(server, username="envtest", timeout_s=20, stuck_s=3, allow_commands=True)
    e.reset(inventory={"dirt": 5, "stick": 2}, mode="hard")
    yield e
    e.close()


def test_step_runs_the_last_async_function_and_reports_chat(env: MinecraftEnv) -> None:
    code = (
        "async function helper(bot) { bot.chat('helper ran'); }\n"
        "async function main(bot) {\n"
        "  await helper(bot);\n"
        "  bot.chat('main ran ' + mcData.itemsByName.stick.name + ' ' + new Vec3(1, 2, 3));\n"
        "}\n"
        "await main(bot);\n"  # Voyager-style trailing call: ignored, main runs once
    )
    obs = env.step(code)
    assert obs["ok"], obs["error"]
    assert obs["chat"] == ["helper ran", "main ran stick (1, 2, 3)"]
    assert obs["inventory"] == {"dirt": 5, "stick": 2}
    assert obs["inventory_slots_used"] == 2
    for key in ("health", "food", "position", "velocity", "yaw", "pitch", "equipment", "biome",
                "entities", "time_of_day", "voxels", "blocks_seen", "chests"):
        assert key in obs, key


@pytest.mark.parametrize("line,needle", [
    ("const fs = require('fs');", 'require("fs") is not available'),
    ("process.exit(1);", "process is not available"),
    ("await fetch('http://example.com');", "fetch is not available"),
    ("const f = new Function('return 1');", "Code generation from strings disallowed"),
])
def test_sandbox_refuses_require_process_network(env: MinecraftEnv, line: str, needle: str) -> None:
    pid = env.node_pid
    before = env.observe()
    code = f"async function main(bot) {{\n  {line}\n  bot.chat('should not run');\n}}\n"
    obs = env.step(code)
    assert not obs["ok"]
    assert needle in obs["error"]["message"]
    assert obs["error"]["line"] == 2
    assert "should not run" not in obs["chat"]
    assert obs["inventory"] == before["inventory"]
    assert env.node_pid == pid and not obs.get("restarted")  # Node lived on, nothing restarted
    assert env.step("async function ok(bot) { bot.chat('still fine'); }")["chat"] == ["still fine"]


@pytest.mark.parametrize("body", [
    "while (true) {}",  # synchronous: blocks Node's only thread unless guarded
    "for (;;) { await bot.waitForTicks(1); }",
    "await new Promise(() => {});",  # never settles
])
def test_infinite_loop_is_stopped_within_the_timeout(env: MinecraftEnv, body: str) -> None:
    t0 = time.monotonic()
    obs = env.step(f"async function spin(bot) {{\n  {body}\n}}\n", timeout_s=2)
    elapsed = time.monotonic() - t0
    assert elapsed < 2 + 2.5, elapsed
    assert not obs["ok"]
    assert obs["error"]["type"] == "ProgramStopped"
    assert "timed out after 2 s" in obs["error"]["message"]
    assert obs["velocity"]["x"] == 0 and obs["velocity"]["z"] == 0
    nxt = env.step("async function after(bot) { bot.chat('next step works'); }")
    assert nxt["ok"] and nxt["chat"] == ["next step works"]


def test_a_stopped_program_cannot_act_after_its_step(env: MinecraftEnv) -> None:
    env.step("async function leave(bot) {\n"
              "  setTimeout(() => bot.chat('late'), 300);\n"
              "  bot.on('chat', () => bot.chat('listener'));\n"
              "}\n")
    time.sleep(0.6)
    obs = env.step("async function quiet(bot) { await bot.waitForTicks(2); }")
    assert "late" not in obs["chat"] and "listener" not in obs["chat"]


def test_stuck_detector_stops_a_bot_walking_into_a_wall(env: MinecraftEnv) -> None:
    code = """async function walkIntoWall(bot) {
  const p = bot.entity.position.floored();
  for (const [dx, dz] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
    for (const dy of [0, 1, 2]) bot.chat(`/setblock ${p.x + dx} ${p.y + dy} ${p.z + dz} stone`);
  }
  await bot.waitForTicks(10);
  bot.setControlState('forward', true);
  await new Promise(() => {});
}
"""
    t0 = time.monotonic()
    obs = env.step(code, timeout_s=15)
    assert time.monotonic() - t0 < 10
    assert obs["error"]["type"] == "ProgramStopped"
    assert "stuck" in obs["error"]["message"]
    assert obs["stopped"].startswith("stuck")
    # clean up the wall so later tests can move
    env.step("""async function clear(bot) {
  const p = bot.entity.position.floored();
  for (const [dx, dz] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
    for (const dy of [0, 1, 2]) bot.chat(`/setblock ${p.x + dx} ${p.y + dy} ${p.z + dz} air`);
  }
  await bot.waitForTicks(5);
}""")


def test_error_lines_point_at_the_program(env: MinecraftEnv) -> None:
    code = ("async function main(bot) {\n"          # 1
            "  const items = bot.inventory.items();\n"  # 2
            "  bot.chat('before the error');\n"     # 3
            "  const n = items[99].count;\n"        # 4
            "}\n")
    obs = env.step(code)
    assert obs["error"]["line"] == 4
    assert obs["error"]["code"] == "const n = items[99].count;"
    assert "at line 4 of the program" in obs["error"]["message"]
    assert obs["chat"] == ["before the error"]


def test_error_inside_a_skill_names_the_skill_and_the_calling_line(env: MinecraftEnv) -> None:
    skill = "async function brokenSkill(bot) {\n  await bot.waitForTicks(1);\n  null.boom();\n}\n"
    code = ("async function main(bot) {\n"
            "  bot.chat('start');\n"
            "  await brokenSkill(bot);\n"
            "}\n")
    obs = env.step(code, skills=[{"name": "brokenSkill", "code": skill}])
    err = obs["error"]
    assert err["line"] == 3 and err["code"] == "await brokenSkill(bot);"
    assert err["source"] == "skill brokenSkill"
    assert "in skill brokenSkill (brokenSkill) at line 3: null.boom();" in err["message"]


def test_primitive_failure_names_the_line_that_called_it(env: MinecraftEnv) -> None:
    obs = env.step("async function main(bot) {\n\n  await mineBlock(bot, 'oak_logs', 1);\n}\n")
    assert obs["error"]["line"] == 3
    assert "No block named 'oak_logs'" in obs["error"]["message"]
    assert "oak_log" in obs["error"]["message"].split("Did you mean")[1]


def test_syntax_errors_are_reported_before_anything_runs(env: MinecraftEnv) -> None:
    obs = env.step("async function main(bot) {\n  bot.chat('must not run');\n  const x = (;\n}\n")
    assert obs["error"]["type"] == "SyntaxError"
    assert obs["error"]["line"] == 3
    assert obs["chat"] == []
    obs = env.step("function notAsync(bot) { return 1 }")
    assert "no async function found" in obs["error"]["message"]


def test_programs_cannot_use_commands_or_drop_the_connection(server: EmbeddedServer) -> None:
    with MinecraftEnv(server, username="agent") as agent:
        agent.reset(inventory={}, mode="hard")
        obs = agent.step("async function cheat(bot) {\n  bot.chat('/give agent diamond 64');\n}")
        assert "server commands such as \"/give\" are not available" in obs["error"]["message"]
        assert obs["error"]["line"] == 2
        obs = agent.step("async function leave(bot) {\n  bot.quit();\n}")
        assert "bot.quit() is not available" in obs["error"]["message"]
        assert agent.observe()["inventory"] == {}


def test_hard_and_soft_reset(env: MinecraftEnv) -> None:
    obs = env.reset(inventory={"oak_log": 70, "iron_ingot": 3}, mode="hard")
    assert obs["inventory"] == {"oak_log": 70, "iron_ingot": 3}
    assert obs["inventory_slots_used"] == 3  # 70 logs take two stacks
    assert obs["game_mode"] == "survival"
    pos = obs["position"]
    target = {"x": pos["x"] + 3, "y": pos["y"] + 5, "z": pos["z"]}
    obs = env.reset(inventory={}, position=target, mode="hard")
    assert obs["inventory"] == {}
    assert abs(obs["position"]["x"] - target["x"]) < 1.5 and abs(obs["position"]["z"] - target["z"]) < 1.5
    env.step("async function give(bot) { bot.chat('/give envtest dirt 4'); await bot.waitForTicks(10); }")
    assert env.reset(mode="soft")["inventory"] == {"dirt": 4}
    with pytest.raises(Exception, match="unknown item 'oak_logs'"):
        env.reset(inventory={"oak_logs": 1}, mode="hard")


def test_skills_by_name_bring_their_callees_only(tmp_path) -> None:
    from lifelong.library import SkillLibrary

    lib = SkillLibrary(tmp_path / "lib")
    lib.add("a", "async function a(bot) { await b(bot); }", kind="minecraft-program", description="calls b", calls=["b"])
    lib.add("b", "async function b(bot) { }", kind="minecraft-program", description="leaf")
    lib.add("c", "async function c(bot) { }", kind="minecraft-program", description="unrelated")
    assert [s["name"] for s in resolve_skills(["a"], lib)] == ["a", "b"]
    given = [{"name": "x", "code": "async function x(bot) {}"}]
    assert resolve_skills(given, lib) == given


@pytest.mark.slow
def test_kill_9_of_node_mid_step_then_the_next_step_works(env: MinecraftEnv) -> None:
    env.reset(inventory={"cobblestone": 7}, mode="hard")
    pid = env.node_pid
    threading.Timer(1.5, lambda: os.kill(pid, signal.SIGKILL)).start()
    obs = env.step("async function forever(bot) { while (true) { await bot.waitForTicks(5); } }", timeout_s=60)
    assert obs["error"]["type"] == "Crash"
    assert obs["restarted"] is True
    assert "died" in obs["error"]["message"]
    assert env.node_pid != pid
    assert obs["inventory"] == {"cobblestone": 7}
    nxt = env.step("async function after(bot) { bot.chat('alive again'); }")
    assert nxt["ok"] and nxt["chat"] == ["alive again"]
    assert nxt["inventory"] == {"cobblestone": 7}


@pytest.mark.slow
def test_server_death_mid_step_restarts_it_in_the_same_world(env: MinecraftEnv, server: EmbeddedServer) -> None:
    env.reset(inventory={"stick": 3}, mode="hard")
    pid = server.status(probe=False).pid
    threading.Timer(1.5, lambda: os.kill(pid, signal.SIGKILL)).start()
    obs = env.step("async function forever(bot) { while (true) { await bot.waitForTicks(5); } }", timeout_s=60)
    assert obs["error"]["type"] == "Crash" and obs["restarted"]
    assert server.status(probe=False).running and server.status(probe=False).pid != pid
    assert obs["inventory"] == {"stick": 3}
    assert env.step("async function after(bot) { bot.chat('back'); }")["chat"] == ["back"]


def test_viewer_serves_the_page_and_the_world_stream(env: MinecraftEnv) -> None:
    import urllib.request

    url = env.start_viewer(25597)
    assert url == "http://localhost:25597"
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "Prismarine Viewer" in page
    poll = urllib.request.urlopen(url + "/socket.io/?EIO=4&transport=polling", timeout=10).read().decode()
    assert '"sid"' in poll  # socket.io handshake: the world stream is up
    assert env.step("async function t(bot) { bot.chat('watched'); }")["chat"] == ["watched"]


def test_no_server_gives_an_actionable_error() -> None:
    from lifelong.minecraft.env import EnvError

    env = MinecraftEnv("127.0.0.1:25599", username="nobody", connect_timeout_s=3)
    obs = env.step("async function a(bot) {}")
    assert obs["ok"] is False and obs["connected"] is False
    assert "connection refused (is the server running on that port?)" in obs["error"]["message"]
    with pytest.raises(EnvError, match="cannot connect bot to 127.0.0.1:25599"):
        env.reset()


@pytest.mark.slow
def test_envs_sharing_the_bridge_survive_a_node_restart(env: MinecraftEnv, server: EmbeddedServer) -> None:
    with MinecraftEnv(server, username="second") as other:
        other.reset(mode="soft")
        pid = env.node_pid
        os.kill(pid, signal.SIGKILL)  # between steps this time
        time.sleep(0.5)
        assert env.step("async function a(bot) { bot.chat('first'); }")["chat"] == ["first"]
        assert other.step("async function b(bot) { bot.chat('second'); }")["chat"] == ["second"]
        assert env.node_pid == other.node_pid != pid
