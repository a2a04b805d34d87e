"""The benchmark runner (lifelong/bench.py) on Minecraft's curriculum grid (lifelong/minecraft/bench.py)
whose runs are a tiny real command.

The command is a Python script that writes what ``lifelong explore`` writes (step and
skill_stored events, a checkpoint), can burn CPU, and fails on request, so parallelism, resume,
failure reporting and the tidy outputs are checked in seconds without Minecraft. The explore
command line itself is checked against explore's real flags.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import time
from pathlib import Path

import pytest
from scipy import stats
from typer.testing import CliRunner

from lifelong.bench import BenchError, fmt_ci, mean_ci
from lifelong.minecraft import bench
from lifelong.minecraft.ablations import AblationError
from lifelong.minecraft.bench import Grid, RunSpec, run_grid

FAKE = r'''
import json, os, sys, time
run_dir, iterations, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
resume, burn = "--resume" in sys.argv, float(os.environ.get("FAKE_BURN_S", "0"))
os.makedirs(run_dir, exist_ok=True)
with open(os.path.join(run_dir, "argv.jsonl"), "a") as f:
    f.write(json.dumps({"argv": sys.argv, "start": time.time(), "pid": os.getpid()}) + "\n")
items = ["oak_log", "oak_planks", "stick", "crafting_table", "wooden_pickaxe", "cobblestone",
         "stone_pickaxe", "iron_ore"]
start = 0
events = os.path.join(run_dir, "events.jsonl")
if resume:
    start = sum(1 for line in open(events) if '"step"' in line)
time.sleep(float(os.environ.get("FAKE_SLEEP_S", "0")))
end = time.process_time() + burn
while time.process_time() < end:  # the CPU a real run would use
    pass
for i in range(start + 1, iterations + 1):
    if os.environ.get("FAKE_FAIL") == os.path.basename(run_dir) and not resume and i == 3:
        sys.stderr.write("Traceback (most recent call last):\nEnvError: the bot lost its server\n")
        sys.exit(3)
    inv = {it: 1 for it in items[: min(len(items), i * seed)]}
    with open(events, "a") as f:
        f.write(json.dumps({"event": "step", "iteration": i, "inventory": inv, "success": True,
                            "calls": ["mineWood"] if i > 2 else []}) + "\n")
        if i % 2 == 0:
            f.write(json.dumps({"event": "skill_stored", "name": f"skill{i}", "version": 1, "calls": []}) + "\n")
    with open(os.path.join(run_dir, "checkpoint.json"), "w") as f:
        json.dump({"iteration": i}, f)
'''


@pytest.fixture
def fake(tmp_path: Path):
    script = tmp_path / "fake_explore.py"
    script.write_text(FAKE)

    def command(spec: RunSpec, grid: Grid, run_dir: Path, resume: bool) -> list[str]:
        return [sys.executable, str(script), str(run_dir), str(grid.iterations), str(spec.seed),
                *(["--resume"] if resume else [])]

    return command


def test_runs_in_parallel_resumes_failures_and_keeps_the_others(tmp_path, fake):
    grid = Grid(curricula=["auto", "tech-tree"], seeds=[1, 2], iterations=4)
    out = tmp_path / "grid"
    failing = "tech-tree_none_planner_s2"
    first = run_grid(grid, out, workers=2, command=fake, env={"FAKE_FAIL": failing, "FAKE_BURN_S": "1.0"})

    assert [o.run for o in first.failures] == [failing]
    assert "exit 3" in first.failures[0].reason and "lost its server" in first.failures[0].reason
    assert {o.status for o in first.outcomes if o.run != failing} == {"done"}
    # two at a time: the first two start together, the third only when one of them has ended
    starts = sorted(json.loads(line)["start"] for p in (out / "runs").glob("*/argv.jsonl")
                    for line in p.read_text().splitlines())
    assert starts[1] - starts[0] < 0.9 and starts[2] - starts[0] > 0.9
    assert first.wall_s < 0.8 * sum(o.wall_s for o in first.outcomes)  # overlapped, not one by one
    # the 4 CPU seconds the runs burnt are counted in the grid's utilisation
    assert first.utilisation["grid_cores"] * first.wall_s >= 3.8
    rows = bench.read_table(out)
    assert {r["run"] for r in rows} == {s.name for s in grid.runs()}  # the failed one's 2 rounds too
    assert len([r for r in rows if r["run"] == failing]) == 2

    second = run_grid(grid, out, workers=2, command=fake)
    status = {o.run: o.status for o in second.outcomes}
    assert status.pop(failing) == "done" and set(status.values()) == {"skipped"}
    # each run's own wall time holds across calls: the skipped keep theirs, the resumed one adds its first call's
    before = {o.run: o.wall_s for o in first.outcomes}
    after = {o.run: o.wall_s for o in second.outcomes}
    assert {r: w for r, w in after.items() if r != failing} == {r: w for r, w in before.items() if r != failing}
    assert after[failing] > before[failing] > 0
    assert second.runs_wall_s == round(sum(after.values()), 1) and second.runs_wall_s > second.wall_s
    argv = [json.loads(line)["argv"] for line in (out / "runs" / failing / "argv.jsonl").read_text().splitlines()]
    assert "--resume" not in argv[0] and "--resume" in argv[1]
    rows = [r for r in bench.read_table(out) if r["run"] == failing]
    assert [r["iteration"] for r in rows] == [1, 2, 3, 4]
    assert [r["skills"] for r in rows] == [0, 1, 1, 2]
    assert [r["unique_items"] for r in rows] == [2, 4, 6, 8]
    assert [r["wooden_tool"] for r in rows] == [False, False, True, True]
    assert json.loads((out / "grid.json").read_text())["outcomes"][0]["status"] in ("done", "skipped")


def test_runner_takes_any_world_s_specs(tmp_path):
    """The generic runner knows nothing of Minecraft: a spec is any dataclass with a name, and the
    world's function turns it into a command; done runs are skipped, started ones resumed."""
    from dataclasses import dataclass

    from lifelong.bench import run_specs

    @dataclass(frozen=True)
    class Card:
        name: str

    def command(spec: Card, run_dir: Path, resume: bool) -> list[str]:
        return [sys.executable, "-c", f"open({str(run_dir / 'checkpoint.json')!r}, 'a').write('{spec.name}')",
                *(["--resume"] if resume else [])]

    specs = [Card("Hopper"), Card("Ant")]
    first = run_specs(specs, tmp_path, command, iterations=1, workers=2)
    assert {o.run: o.status for o in first.outcomes} == {"Hopper": "done", "Ant": "done"}
    assert json.loads((tmp_path / "Ant" / "bench_run.json").read_text())["name"] == "Ant"
    (tmp_path / "Ant" / "bench_run.json").unlink()  # started, not finished: resumed
    second = run_specs(specs, tmp_path, command, iterations=1, workers=2)
    assert {o.run: (o.status, o.resumed) for o in second.outcomes} == {"Hopper": ("skipped", False),
                                                                      "Ant": ("done", True)}


def test_summary_is_mean_and_t_interval_across_seeds(tmp_path, fake):
    grid = Grid(curricula=["auto"], seeds=[1, 2, 3], iterations=3)
    run_grid(grid, tmp_path / "g", workers=2, command=fake)
    with (tmp_path / "g" / "summary.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    finals = [min(8, 3 * s) for s in (1, 2, 3)]  # seed s sees s items per iteration, 8 at most
    half = stats.t.ppf(0.975, 2) * statistics.stdev(finals) / 3 ** 0.5
    assert float(row["unique_items_mean"]) == pytest.approx(statistics.fmean(finals))
    assert float(row["unique_items_ci95"]) == pytest.approx(half)
    # wooden_pickaxe is item 5: seed 2 sees it at iteration 3, seed 3 at 2, seed 1 not within 3
    assert row["wooden_tool_reached"] == "2" and row["wooden_tool"].endswith("(2/3)")
    assert float(row["wooden_tool_mean"]) == pytest.approx(2.5)
    assert row["backend_label"] == "planner (not an LLM)"


def test_mean_ci_matches_scipy_and_says_when_it_cannot():
    values = [12, 15, 9, 20, 11]
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=statistics.fmean(values), scale=stats.sem(values))
    mean, half = mean_ci(values)
    assert (mean - half, mean + half) == pytest.approx((lo, hi))
    assert mean_ci([7]) == (7, None) and mean_ci([]) == (None, None)
    assert fmt_ci(7, None) == "7.0"


def test_unknown_names_are_refused_with_the_valid_ones():
    with pytest.raises(BenchError, match="valid ones are none, no-library, no-critic, no-feedback"):
        Grid(ablations=["no-skills"])
    with pytest.raises(AblationError, match="valid ones are auto, random"):
        Grid(curricula=["voyager"])


def test_explore_command_uses_explores_flags():
    """The runner's command line parses as `lifelong explore` flags (unknown ones would fail it)."""
    from lifelong.cli import app

    grid = Grid(curricula=["tech-tree"], seeds=[3], iterations=5, time_scale=4)
    spec = grid.runs()[0]
    cmd = bench.explore_command(spec, grid, Path("r"), resume=False)
    assert cmd[cmd.index("--port") + 1].isdigit() and "--resume" not in cmd
    args = cmd[cmd.index("explore"):]
    command = typer_command(app, "explore")
    ctx = command.make_context("explore", args[1:])
    assert ctx.params["seed"] == 3 and ctx.params["curriculum"] == "tech-tree" and ctx.params["llm"] == "planner"
    resumed = bench.explore_command(spec, grid, Path("r"), resume=True)
    assert "--resume" in resumed and "--port" not in resumed
    for ablation in ("no-library", "no-critic", "no-feedback"):  # every ablation is an explore flag
        grid = Grid(curricula=["random"], ablations=[ablation], seeds=[1], world_style="natural")
        cmd = bench.explore_command(grid.runs()[0], grid, Path("r"), resume=False)
        params = command.make_context("explore", cmd[cmd.index("explore") + 1:]).params
        assert params[ablation.replace("-", "_")] is True and params["world_style"] == "natural"
        assert params["curriculum"] == "random"


def typer_command(app, name):
    import typer.main

    group = typer.main.get_command(app)
    return group.get_command(None, name)  # type: ignore[attr-defined]


def test_bench_cli_lists_valid_names_and_runs_a_grid(tmp_path, fake, monkeypatch):
    from lifelong.cli import app

    result = CliRunner().invoke(app, ["bench", "--ablation", "no-skills"])
    assert result.exit_code == 2 and "valid ones are none, no-library" in result.output
    monkeypatch.setattr(bench, "explore_command", fake)
    result = CliRunner().invoke(app, ["bench", "--out", str(tmp_path / "g"), "--seeds", "1,2",
                                      "--iterations", "2", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "planner (not an LLM)" in result.output and "cores" in result.output
    assert (tmp_path / "g" / "table.csv").exists()


def test_call_depths_follow_library_calls_and_cut_cycles():
    from lifelong.library_stats import call_depths

    calls = {"mineLog": [], "planks": ["mineLog", "craftItem"], "table": ["planks"], "pick": ["table", "planks"],
             "a": ["b"], "b": ["a"]}
    depths = call_depths(calls)
    assert (depths["mineLog"], depths["planks"], depths["table"], depths["pick"]) == (0, 1, 2, 3)
    assert sorted([depths["a"], depths["b"]]) == [0, 1]  # the cycle is cut where it closes


def test_retrieval_hit_rate_counts_rounds_that_began_with_skills():
    from lifelong.library_stats import retrieval_hit_rate

    rows = [{"iteration": i, "skills": s, "library_calls": c}
            for i, s, c in [(1, 0, 0), (2, 1, 0), (3, 1, 1), (4, 2, 0), (5, 3, 2)]]
    assert retrieval_hit_rate(rows) == (2, 3)  # rounds 3-5 began with a skill; 3 and 5 called one


@pytest.mark.parametrize("task", ["InvertedDoublePendulum", "Hopper"])
def test_scripted_rewards_pass_the_sandbox_checks_and_say_they_are_not_an_llm(task):
    from lifelong.robotics import bench as eureka_bench
    from lifelong.robotics.reward import check_source, extract_code

    replies = eureka_bench.scripted_replies(task, iterations=2, samples=3)
    assert [len(r) for r in replies] == [3, 3] and replies[0][1] != replies[0][2]
    for reply in replies[0]:
        assert "not an LLM" in reply
        check_source(extract_code(reply))
    assert "not an LLM" in eureka_bench.backend_label(eureka_bench.SCRIPTED)


RUNNER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_bench import FAKE
from lifelong.minecraft.bench import Grid, run_grid
script = Path(sys.argv[1]) / "fake_explore.py"
script.write_text(FAKE)
command = lambda spec, grid, run_dir, resume: [sys.executable, str(script), str(run_dir), "2", str(spec.seed)]
run_grid(Grid(seeds=[1, 2], iterations=2), Path(sys.argv[1]) / "grid", workers=2, command=command)
"""


def test_runs_end_when_the_runner_is_killed(tmp_path):
    """A kill -9 of the runner (a notebook kernel killed) ends its runs too: none goes on unowned."""
    import os
    import signal
    import subprocess

    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path), str(Path(__file__).parent)],
                              env={**os.environ, "FAKE_SLEEP_S": "60"})
    logs = [tmp_path / "grid" / "runs" / f"auto_none_planner_s{s}" / "argv.jsonl" for s in (1, 2)]
    deadline = time.monotonic() + 60
    while not all(p.exists() and p.read_text().strip() for p in logs):
        assert time.monotonic() < deadline and runner.poll() is None, "the runs never started"
        time.sleep(0.1)
    pids = [json.loads(p.read_text())["pid"] for p in logs]
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in pids):
        assert time.monotonic() < deadline, f"runs {pids} outlived their runner"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_two_grids_share_runs_and_keep_their_own_tables(tmp_path, fake):
    big = Grid(curricula=["auto", "tech-tree"], seeds=[1, 2], iterations=2)
    run_grid(big, tmp_path / "a", workers=2, command=fake)
    small = Grid(curricula=["auto"], seeds=[1, 2], iterations=2)
    result = run_grid(small, tmp_path / "b", workers=2, command=fake, runs=tmp_path / "a" / "runs")
    assert {o.status for o in result.outcomes} == {"skipped"}
    assert not (tmp_path / "b" / "runs").exists()
    assert {r["curriculum"] for r in bench.read_table(tmp_path / "a")} == {"auto", "tech-tree"}
    assert {r["curriculum"] for r in bench.read_table(tmp_path / "b")} == {"auto"}
