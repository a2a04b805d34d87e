"""`lifelong explore` and `lifelong report`: metrics from a run folder, CLI errors, and the
end-to-end planner run on the embedded world (slow, minecraft) with a kill -9 and --resume."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_explore_support import make_world, reply
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.loop import Loop
from lifelong.minecraft.metrics import Tracker, compute
from lifelong.openai_server import ChatServer

runner = CliRunner()
E2E_PORT = 25602


def small_run(tmp_path: Path) -> Path:
    """Two tasks through the scripted LLM and the body double: wood, then a failed pickaxe."""
    script = [
        reply('async function mineWoodLog(bot) {\n  await mineBlock(bot, "oak_log", 2);\n}'),
        "Collects two oak logs.",
        "Reasoning: tools next\nTask: Craft 1 wooden pickaxe",
        "Answer: 3 planks and 2 sticks on a crafting table.",
        reply('async function craftWoodenPickaxe(bot) {\n  await craftItem(bot, "wooden_pickaxe", 1);\n}'),
    ]
    with ChatServer.scripted(script) as server:
        world, _, _, run, _ = make_world(server.base_url, tmp_path)
        run.log("run_started", llm="scripted", curriculum="auto", seed=0)
        Loop(world, run, rounds=1).run(iterations=2)
    return run.path


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_report_json_has_the_promised_keys_and_writes_a_png(tmp_path):
    run = small_run(tmp_path)
    result = runner.invoke(app, ["report", str(run), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("iterations", "unique_items", "milestones", "skills_learned", "tokens", "cost_usd"):
        assert key in data
    assert data["iterations"] == 2 and data["unique_items"] == ["oak_log"]
    assert data["milestones"] == {"wooden_tool": None, "stone_tool": None, "iron_tool": None, "diamond_tool": None}
    assert data["skills_learned"] == 1 and data["skills"] == ["mineWoodLog"]
    assert data["tasks_failed"] == ["Craft 1 wooden pickaxe"] and data["tokens"] > 0
    assert data["distance"] == 10.0 and data["llm"] == "scripted"
    png = Path(data["plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = runner.invoke(app, ["report", str(run), "--no-plot"])
    assert text.exit_code == 0 and "mineWoodLog" in text.stdout and "not reached" in text.stdout


@pytest.mark.node  # programs are read by the runner's parser (lifelong/minecraft/program.py)
def test_resume_restores_the_body_curriculum_and_metrics(tmp_path):
    run = small_run(tmp_path)
    script = ["Reasoning: wood\nTask: Craft 4 planks", "Answer: one log gives 4 planks.",
              reply('async function craftPlanks(bot) {\n  await craftItem(bot, "oak_planks", 1);\n}'),
              "Turns a log into planks."]
    with ChatServer.scripted(script) as server:
        world, env, library, run_dir, llm = make_world(server.base_url, tmp_path, resume=True)
        state = Loop(world, run_dir, rounds=1).run(iterations=3)
        prompt = server.requests[0]["messages"][1]["content"]
    assert env.resets[0]["inventory"] == {"oak_log": 2}  # the body is put back as checkpointed
    assert "Completed tasks so far: Mine 1 wood log" in prompt
    assert "Failed tasks that are too hard: Craft 1 wooden pickaxe" in prompt
    assert state.iteration == 3 and [h["task"] for h in state.history][-1] == "Craft 4 planks"
    assert library.names() == ["craftPlanks", "mineWoodLog"]
    assert llm.ledger.roles["action"].calls == 3  # the ledger kept counting across the resume (2 + 1)
    assert compute(run)["iterations"] == 3 and compute(run)["skills_learned"] == 2


def test_tracker_milestones_items_and_distance():
    t = Tracker()
    t.update(1, {"oak_log": 1}, {"x": 0, "y": 64, "z": 0})
    assert t.update(3, {"oak_log": 1, "wooden_pickaxe": 1}, {"x": 3, "y": 64, "z": 4}) == ["wooden_pickaxe"]
    t.update(5, {"iron_sword": 1}, {"x": 3, "y": 64, "z": 4})
    assert t.milestones == {"wooden_tool": 3, "stone_tool": None, "iron_tool": 5, "diamond_tool": None}
    assert t.distance == 5.0 and t.first_seen == {"oak_log": 1, "wooden_pickaxe": 3, "iron_sword": 5}


def test_report_of_a_non_run_says_so(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a run folder" in " ".join(result.output.split())


def test_explore_errors_are_actionable(tmp_path):
    result = runner.invoke(app, ["explore", "--llm", "planner", "--resume", "--run-dir", str(tmp_path / "none")])
    assert result.exit_code == 2 and "nothing to resume" in " ".join(result.output.split())
    result = runner.invoke(app, ["explore", "--llm", "planner", "--curriculum", "nope",
                                 "--run-dir", str(tmp_path / "r"), "--library", str(tmp_path / "lib")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "tech-tree" in out
    assert "NOT a language model" in out  # the planner is labelled as such


def test_explore_says_when_the_server_port_is_taken(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 25604))
        taken.listen()
        result = runner.invoke(app, ["explore", "--llm", "planner", "--iterations", "1", "--port", "25604",
                                     "--run-dir", str(tmp_path / "r"), "--library", str(tmp_path / "lib")])
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "port 25604 is already in use" in out and "another --port" in out


# ---- end to end on the embedded world ------------------------------------------------------------


def _lifelong(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "lifelong"
    return subprocess.Popen([str(exe), *args], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _steps(run: Path) -> list[dict]:
    path = run / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()
            if line.strip().startswith("{") and '"step"' in line]


@pytest.mark.long
@pytest.mark.slow
@pytest.mark.minecraft
@pytest.mark.timeout(3600)  # 20-35 min at time scale 1 on a 2-core machine, ~7 at 4; .ci/run has 90 min in all
def test_planner_run_reaches_iron_tools_and_survives_kill_9(tmp_path):
    # At time scale 4: the rounds wait on game time, which runs 4x; the resumed part
    # keeps the run's time scale. benchmarks/time_scale_bench.py compares the milestones with 1x.
    from lifelong.library import SkillLibrary
    from lifelong.minecraft.server import EmbeddedServer

    run, lib, log = tmp_path / "run", tmp_path / "library", tmp_path / "explore.log"
    args = ["explore", "--llm", "planner", "--iterations", "40", "--run-dir", str(run),
            "--library", str(lib), "--port", str(E2E_PORT), "--seed", "1", "--time-scale", "4"]
    first = _lifelong(*args, log=log)
    try:
        # kill -9 in the middle of a task: after a few rounds, while a program is running
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and len(_steps(run)) < 7 and first.poll() is None:
            time.sleep(0.5)
        assert first.poll() is None, log.read_text()[-3000:]
        time.sleep(2.0)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        killed_at = len(_steps(run))
        second = _lifelong(*args[:1], *args[1:], "--resume", log=log)
        assert second.wait(3300) == 0, log.read_text()[-3000:]
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.kill()
        EmbeddedServer(world_dir=run / "world", port=E2E_PORT).stop()
    assert killed_at >= 7
    report = json.loads(runner.invoke(app, ["report", str(run), "--json", "--no-plot"]).stdout)
    assert report["iterations"] == 40
    assert report["tick_rate"]["time_scale"] == 4 and report["tick_rate"]["server_ticks_per_s"] > 0.6 * 80, report
    assert report["milestones"]["wooden_tool"] is not None and report["milestones"]["stone_tool"] is not None
    assert report["milestones"]["iron_tool"] is not None, report
    assert report["skills_learned"] >= 10
    assert any(e["event"] == "resumed" for e in map(json.loads, (run / "events.jsonl").read_text().splitlines()))
    library = SkillLibrary(lib)
    names = library.names()
    assert sorted(report["skills"]) == names  # nothing lost
    # Nothing duplicated: a task redone after --resume re-adds the same code as the same version.
    # A skill can still have several versions, when the curriculum proposes its task again (a chest
    # each time the inventory fills) and the new program differs; each such version has its event,
    # except at most one stored in the instant between the write and the kill.
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    logged = {(e["name"], e["version"]) for e in events if e["event"] == "skill_stored"}
    on_disk = {(name, s.version) for name in names for s in library.versions(name)}
    assert len(on_disk - logged) <= 1, sorted(on_disk - logged)
    for name in names:
        shas = [s.code_sha256 for s in library.versions(name)]
        assert all(a != b for a, b in itertools.pairwise(shas)), name
    skills = {s.name: s for s in library.list()}
    composed = [s for s in skills.values() if s.calls]
    assert len(composed) >= 5
    # Later skills call earlier ones: a callee's first version predates its caller (a callee can gain
    # a newer version afterwards, when its task is proposed again).
    first_stored = {name: library.versions(name)[0].created for name in names}
    for s in composed:
        assert all(first_stored[c] < s.created for c in s.calls if c in skills), s.name
    assert "smeltRawIron" in skills["craftIronPickaxe"].calls
