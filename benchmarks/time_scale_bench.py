"""Exploration at time scale K: the same seed and planner at K = 1, 2, 4 and 8.

    .venv/bin/python benchmarks/time_scale_bench.py [--iterations 40] [--scales 1,2,4,8] [--seed 1] [--json]

What is measured, per K: ``lifelong explore --llm planner --time-scale K`` on a fresh world and
library (same seed): wall time, the milestone iterations and unique items it reached, the tick
rates reached (the world's and the bot's, medians over rounds, from the run report) and the CPU
time of the run's process tree (explore, the server, the bot's Node; /proc sampled every second),
as seconds and as cores in use. The peer is the same run at K = 1, measured in the same invocation.

Goals: a K of 4 to 8 finishes the 40-iteration run in at most 1/4 of the 1x wall time
with the same milestones. The planner is deterministic, but the world is not quite (mob spawns,
timing of a physics step), so milestones can move by an iteration or two between any two runs,
at 1x too; ``same_milestones`` says whether they match exactly, ``same_milestones_reached``
whether the same tools were reached at all.

Runs are sequential (each takes the whole machine; 1x takes 20-35 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifelong.minecraft import metrics

BASE_PORT = 25660


TICK = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds) of every process /proc shows."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return out


class TreeCPU:
    """CPU seconds of a process and all its descendants, sampled: the bot's Node is not waited
    for by its parent, so rusage of children would miss it."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: dict[int, float] = {}

    def sample(self) -> None:
        stats = _proc_stats()
        tree = {self.root}
        for _ in range(6):  # a few levels: explore -> launcher/node, server
            tree |= {pid for pid, (ppid, _) in stats.items() if ppid in tree}
        for pid in tree & stats.keys():
            self.seen[pid] = max(self.seen.get(pid, 0.0), stats[pid][1])

    @property
    def total(self) -> float:
        return sum(self.seen.values())


def explore(scale: float, iterations: int, seed: int, folder: Path, port: int) -> dict[str, Any]:
    """One exploration run at time scale ``scale``; its wall time, CPU and report."""
    run, log = folder / "run", folder / "explore.log"
    cmd = [sys.executable, "-c", "from lifelong.cli import main; main()", "explore", "--llm", "planner",
           "--iterations", str(iterations), "--seed", str(seed), "--time-scale", str(scale),
           "--run-dir", str(run), "--library", str(folder / "library"), "--world", str(folder / "world"),
           "--port", str(port)]
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        cpu_meter = TreeCPU(proc.pid)
        while proc.poll() is None:
            cpu_meter.sample()
            time.sleep(1.0)
        code = proc.returncode
    wall, cpu = time.perf_counter() - t0, cpu_meter.total
    if code != 0:
        raise RuntimeError(f"explore at time scale {scale} exited {code}; see {log}:\n"
                           + log.read_text(errors="replace")[-2000:])
    report = metrics.compute(run)
    return {
        "time_scale": scale,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_cores": round(cpu / wall, 2),
        "milestones": report["milestones"],
        "unique_items": report["unique_items_count"],
        "skills_learned": report["skills_learned"],
        "iterations": report["iterations"],
        "tick_rate": report["tick_rate"],
        "env_s": report["tick_rate"]["env_s"],
    }


def compare(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Speed-up and milestones of each K against the 1x run, and whether the goal holds."""
    base = next((r for r in results if r["time_scale"] == 1), None)
    if base is None:
        return {}
    reached = {k for k, v in base["milestones"].items() if v is not None}
    for r in results:
        r["speedup"] = round(base["wall_s"] / r["wall_s"], 2)
        r["same_milestones"] = r["milestones"] == base["milestones"]
        r["same_milestones_reached"] = {k for k, v in r["milestones"].items() if v is not None} == reached
    fast = [r for r in results if 4 <= r["time_scale"] <= 8]
    goal = any(r["wall_s"] <= base["wall_s"] / 4 and r["same_milestones_reached"] for r in fast)
    return {"goal_quarter_wall_time_same_milestones": goal, "base_wall_s": base["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--scales", default="1,2,4,8", help="comma-separated time scales")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=BASE_PORT)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="lifelong-timescale-") as tmp:
        for i, scale in enumerate(scales):
            folder = Path(tmp) / f"k{scale:g}"
            folder.mkdir()
            results.append(explore(scale, args.iterations, args.seed, folder, args.port + i))
            if not args.json:
                r = results[-1]
                print(f"K={scale:g}: {r['wall_s']} s wall, {r['cpu_cores']} cores, milestones {r['milestones']}, "
                      f"{r['unique_items']} items, ticks/s world {r['tick_rate']['server_ticks_per_s']} "
                      f"bot {r['tick_rate']['bot_ticks_per_s']} of {r['tick_rate']['target_ticks_per_s']:g}",
                      flush=True)
    summary = {"iterations": args.iterations, "seed": args.seed, "runs": results, **compare(results)}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for r in results:
            if "speedup" in r:
                print(f"K={r['time_scale']:g}: {r['speedup']}x faster than 1x, same milestones: {r['same_milestones']}")
        if "goal_quarter_wall_time_same_milestones" in summary:
            print(f"goal (K=4..8 within 1/4 of 1x wall time, same milestones reached): "
                  f"{summary['goal_quarter_wall_time_same_milestones']}")


if __name__ == "__main__":
    main()
