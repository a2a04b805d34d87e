"""Time scale K: the embedded world and the bot K times faster than real time.

Fast: the rules (K <= 0 and K on a server that is not ours are clear errors, the bot shares its
world's K), the tick-rate report and its warning. Slow (minecraft): a server at 4x reports the
rate it reaches, and run-program at 4x. Long: the tech tree as programs verified at 4x, then the
same programs on a fresh world at 1x. Elsewhere at 4x: the primitives' tests with Voyager's
released skills (test_minecraft_env_primitives.py), the tech tree from Python (test_techtree.py)
and the 40-iteration exploration (test_explore.py); bridges/test/time_scale.test.js on the JS side.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.config import ConfigError, load_settings
from lifelong.minecraft import metrics
from lifelong.minecraft.server import (
    EmbeddedServer,
    ServerAddress,
    ServerError,
    TickRate,
    note_tick_rate,
    time_scale_for,
)

runner = CliRunner()
PORT = 25581
CLEAR = "time scale must be a number above 0 (1 = real time, 4 = four times faster)"


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("bad", [0, -2, "zero"])
def test_a_time_scale_of_zero_or_less_is_a_clear_error(bad, tmp_path, monkeypatch) -> None:
    with pytest.raises(ServerError, match=CLEAR.replace("(", r"\(").replace(")", r"\)")):
        EmbeddedServer(world_dir=tmp_path, time_scale=bad)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lifelong.toml").write_text(f"[minecraft]\ntime_scale = {json.dumps(bad)}\n")
    with pytest.raises(ConfigError, match="time_scale") as err:
        load_settings()
    assert CLEAR in str(err.value) or "valid number" in str(err.value)


def test_cli_time_scale_errors_say_what_to_do(tmp_path) -> None:
    result = runner.invoke(app, ["server", "start", "--world", str(tmp_path / "w"), "--time-scale", "0"])
    assert result.exit_code == 2 and CLEAR in flat(result.output)
    program = tmp_path / "p.js"
    program.write_text("async function hello(bot) { bot.chat('hi') }\n")
    result = runner.invoke(app, ["run-program", str(program), "--server", "127.0.0.1:25999", "--time-scale", "4"])
    out = flat(result.output)
    assert result.exit_code == 2 and "needs the embedded server" in out and "--time-scale 1" in out
    result = runner.invoke(app, ["explore", "--llm", "planner", "--server", "127.0.0.1:25999", "--time-scale", "2",
                                 "--run-dir", str(tmp_path / "r"), "--library", str(tmp_path / "lib")])
    assert result.exit_code == 2 and "needs the embedded server" in flat(result.output)


def test_real_servers_stay_at_1_and_the_bot_shares_its_worlds_clock(tmp_path) -> None:
    address = ServerAddress("mc.example.org", 25565)
    assert time_scale_for(address) == 1.0 and time_scale_for(address, 1) == 1.0
    with pytest.raises(ServerError, match="mc.example.org:25565 is not one of ours"):
        time_scale_for(address, 4)
    with pytest.raises(ServerError, match="not one of ours"):
        time_scale_for("127.0.0.1:25565", 2)
    fast = EmbeddedServer(world_dir=tmp_path, time_scale=4)
    assert time_scale_for(fast) == 4.0  # the env takes the server's K: Python passes it once
    with pytest.raises(ServerError, match="runs at 4, not 2"):
        time_scale_for(fast, 2)
    from lifelong.minecraft.env import MinecraftEnv

    assert MinecraftEnv(fast).time_scale == 4.0
    with pytest.raises(ServerError, match="not one of ours"):
        MinecraftEnv(address, time_scale=4)


def test_a_shortfall_is_reported_with_the_rate_reached(caplog) -> None:
    assert TickRate(4, 80, 78.5).warning() is None
    text = TickRate(4, 80, 52.0).warning("the world")
    assert text is not None and "52.0 ticks/s of the 80" in text and "2.60x real time" in text
    assert "smaller --time-scale" in text

    class Slow:
        def ensure_running(self) -> None: ...

        def tick_rate(self) -> TickRate:
            return TickRate(8, 160, 90.0)

    with caplog.at_level(logging.WARNING, logger="lifelong.minecraft.server"):
        obs = note_tick_rate(Slow(), {"time_scale": 8, "ticks_per_s": 159.0}, every_s=0)
    assert obs["server_ticks_per_s"] == 90.0
    assert any("the world reached 90.0 ticks/s of the 160" in r.getMessage() for r in caplog.records)
    assert not any("the bot" in r.getMessage() for r in caplog.records)
    line = metrics.tick_rate_line({"tick_rate": metrics.tick_rate(
        [{"ticks_per_s": 150, "server_ticks_per_s": 100, "env_s": 3}], 8)})
    assert line is not None and "world 100.0, bot 150.0 of 160" in line and "did not hold it" in line
    assert metrics.tick_rate_line({"tick_rate": metrics.tick_rate([], 1)}) is None


# ---- on the embedded world -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory):
    srv = EmbeddedServer(world_dir=tmp_path_factory.mktemp("world4"), port=PORT, seed=42, time_scale=4,
                         mobs=False, daylight_cycle=True, view_distance=4)
    srv.start(detach=True)
    yield srv
    srv.stop()


@pytest.mark.slow
@pytest.mark.minecraft
def test_server_at_4x_reports_the_tick_rate_it_reaches(fast_server, tmp_path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (fast_server.tick_rate() is None or fast_server.tick_rate().ticks_per_s is None):
        time.sleep(0.5)
    result = runner.invoke(app, ["server", "status", "--world", str(fast_server.world_dir), "--json"])
    status = json.loads(result.stdout)
    assert status["time_scale"] == 4 and status["target_ticks_per_s"] == 80
    assert status["ticks_per_s"] > 0.6 * 80, status
    human = runner.invoke(app, ["server", "status", "--world", str(fast_server.world_dir)])
    assert "time scale 4:" in human.stdout and "of 80 ticks/s" in human.stdout
    # The bot must share the world's clock: asking the running world for another K is an error.
    other = EmbeddedServer(world_dir=fast_server.world_dir, port=PORT, time_scale=1)
    with pytest.raises(ServerError, match="already served at time scale 4"):
        other.ensure_running()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.minecraft
def test_run_program_at_4x_reports_the_tick_rate(tmp_path) -> None:
    import subprocess

    program = tmp_path / "wait.js"
    program.write_text("async function waitTen(bot) {\n  const t0 = Date.now();\n"
                       "  await bot.waitForTicks(200);\n  bot.chat('game ms ' + (Date.now() - t0));\n}\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "from lifelong.cli import main; main()", "run-program", str(program),
                           "--time-scale", "4", "--port", str(_free_port()), "--json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    game_ms = int(next(line for line in out["chat"] if line.startswith("game ms")).split()[-1])
    assert 9000 <= game_ms <= 14000  # 200 ticks are 10 s of game time ...
    assert time.monotonic() - started < 60  # ... and take 2.5 s of wall time
    assert out["tick_rate"]["time_scale"] == 4 and out["tick_rate"]["target_ticks_per_s"] == 80
    assert out["tick_rate"]["bot_ticks_per_s"] > 0.6 * 80


# ---- programs verified at K run at 1 -----------------------------------------------------------

TECH_TREE = ["Mine 1 wood log", "Craft 4 planks", "Craft 1 crafting table", "Craft 4 stick",
             "Craft 1 wooden pickaxe", "Mine 3 cobblestone", "Craft 1 stone pickaxe", "Craft 1 furnace",
             "Mine 3 iron ore", "Mine 1 coal ore", "Smelt 3 raw iron", "Craft 1 iron pickaxe"]


def _run_tech_tree(world: Path, port: int, scale: float, programs: dict[str, str] | None) -> dict[str, str]:
    """The tech tree as programs on a fresh world at ``scale``: the planner writes each task's
    program (calling the earlier ones) unless ``programs`` gives them; every one must succeed."""
    from lifelong.minecraft.env import MinecraftEnv
    from lifelong.minecraft.planner import Knowledge, ProgramWriter, camel

    written = dict(programs or {})
    server = EmbeddedServer(world_dir=world, port=port, seed=42, time_scale=scale, mobs=False,
                            daylight_cycle=False, difficulty="peaceful", view_distance=4)
    server.start(detach=True)
    try:
        with MinecraftEnv(server, username=f"tree{scale:g}", timeout_s=300) as env:
            obs = env.reset(inventory={}, mode="hard")
            for task in TECH_TREE:
                if programs is None:
                    written[task], _ = ProgramWriter(Knowledge(), [camel(t) for t in written]).write(task)
                skills = [{"name": camel(t), "code": c} for t, c in written.items() if t != task]
                obs = env.step(written[task], skills)
                assert obs["ok"], (scale, task, obs["error"], obs["chat"][-5:])
                assert f"{task}: done" in obs["chat"], (scale, task, obs["chat"][-5:], obs["inventory"])
            assert obs["inventory"].get("iron_pickaxe") == 1, obs["inventory"]
    finally:
        server.stop()
    return written


@pytest.mark.long
@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(1800)
def test_tech_tree_programs_verified_at_4x_run_at_1x(tmp_path) -> None:
    t0 = time.monotonic()
    programs = _run_tech_tree(tmp_path / "fast", PORT + 1, 4, None)
    fast_s = time.monotonic() - t0
    t1 = time.monotonic()
    _run_tech_tree(tmp_path / "real", PORT + 2, 1, programs)
    print(f"tech tree programs: {fast_s:.0f} s at 4x, {time.monotonic() - t1:.0f} s at 1x")
