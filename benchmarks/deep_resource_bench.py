"""What stops a sound plan from reaching a deep resource, measured on the bot.

Each trial is a fresh world (one seed), the bot at spawn with an iron pickaxe, one program within the
180 s (game time) step limit, and the task "Mine 1 diamond ore". Programs compared:

* ``explore-down``: the planner's earlier program: look within 32 blocks, else
  ``exploreUntil(down, 120 s)`` (the pathfinder plans a dug path to y-64), then ``mineBlock``;
* ``explore-side``: its other round: the same, walking sideways on the surface;
* ``shaft``: the planner's program now: dig a shaft straight down to y=-8, then look within 32 blocks.

Every program first reports where it starts: its y, and the nearest diamond ore within 128 blocks
(distance and depth), which is what the 32-block search radius misses from the surface.

    .venv/bin/python benchmarks/deep_resource_bench.py --seeds 7 8 9 [--time-scale 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

LIFELONG = str(Path(sys.executable).with_name("lifelong"))
IDS = '["diamond_ore", "deepslate_diamond_ore"].map((n) => mcData.blocksByName[n].id)'
PROBE = f"""
  const p0 = bot.entity.position.floored();
  const near = bot.findBlocks({{ matching: {IDS}, maxDistance: 128, count: 1 }})[0];
  bot.chat(`probe: start y=${{p0.y}}, nearest diamond ore ${{near ? Math.round(near.distanceTo(p0)) + " blocks away at y=" + near.y : "none within 128"}}`);
"""


def explore_program(direction: str) -> str:
    return f"""async function mineDiamondOreBefore(bot) {{{PROBE}
  const found0 = () => bot.findBlock({{ matching: {IDS}, maxDistance: 32 }});
  if (!found0()) await exploreUntil(bot, new Vec3({direction}), 120, found0);
  bot.chat(`probe: after exploring y=${{Math.floor(bot.entity.position.y)}}`);
  if (!found0()) throw new Error("no diamond ore within 32 blocks, even after exploring");
  await mineBlock(bot, found0().name, 1);
}}
"""


def shaft_program() -> str:
    from lifelong.minecraft.planner import Knowledge, ProgramWriter

    code, _ = ProgramWriter(Knowledge(), []).write("Mine 1 diamond ore")
    return code.replace("{\n", "{" + PROBE, 1)


PROGRAMS = {"explore-down": lambda: explore_program("0, -1, 0"), "explore-side": lambda: explore_program("1, 0, 1"),
            "shaft": shaft_program}


def trial(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.js"
        path.write_text(PROGRAMS[name]())
        cmd = [LIFELONG, "run-program", str(path), "--give", "iron_pickaxe=1", "--seed", str(seed),
               "--timeout", "180", "--json", "--library", str(Path(tmp) / "lib")]
        (Path(tmp) / "lib" / "skills").mkdir(parents=True)
        if args.time_scale:
            cmd += ["--time-scale", str(args.time_scale)]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    try:
        obs = json.loads(out.stdout[out.stdout.index("{"):])
    except ValueError:
        return {"program": name, "seed": seed, "error": out.stderr.strip()[-300:]}
    obs = {**obs.get("observation", {}), **{k: v for k, v in obs.items() if k != "observation"}}
    chat = " | ".join(c for c in obs.get("chat") or [] if c.startswith("probe:"))
    start = re.search(r"start y=(-?\d+), nearest diamond ore (.*?)(?: \||$)", chat)
    error = obs.get("error") or {}
    return {"program": name, "seed": seed, "diamonds": (obs.get("inventory") or {}).get("diamond", 0),
            "end_y": round((obs.get("position") or {}).get("y", 0)), "game_s": round((obs.get("elapsed_ms") or 0) / 1000
                                                                                       * float(args.time_scale or 1)),
            "start_y": int(start.group(1)) if start else None, "nearest": start.group(2) if start else "",
            "stopped": obs.get("stopped") or "", "error": (error.get("message") or "")[:160] if isinstance(error, dict) else str(error)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[7, 8, 9])
    p.add_argument("--programs", nargs="+", default=list(PROGRAMS))
    p.add_argument("--time-scale", type=float, default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rows = [trial(name, seed, args) for seed in args.seeds for name in args.programs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(f"seed {r['seed']} {r['program']:<13} diamonds={r.get('diamonds')} y {r.get('start_y')} -> {r.get('end_y')} "
              f"in {r.get('game_s')} s; nearest from spawn: {r.get('nearest')}; {r.get('stopped') or r.get('error') or 'ok'}")


if __name__ == "__main__":
    main()
