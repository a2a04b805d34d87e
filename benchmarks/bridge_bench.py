"""Bridge and program-launch speed of the Minecraft body, against peers measured in the same run.

1. Round trip: one call Python -> Node -> Python through JSPyBridge (``env.ping()``), against
   the floor of any Python<->Node bridge: a JSON line echoed by a bare Node child over a pipe.
   Target < 2 ms.
2. Launching a program with a 1,000-skill library, not counting its actions: a program that
   calls 3 skills (each calling 2 more) whose bodies do nothing, so a step is all overhead:
   resolving the callees from the library records, one bridge call, parse/compile/context
   set-up, the run itself, and the observation. Target < 50 ms. The peer is Voyager's way:
   every skill of the library sent and evaluated on every step.

Both sides of each comparison get the same warm-up (``--warmup`` uncounted calls) and the same
number of samples (benchmarks/common.py's ``repeat``).

Usage: python benchmarks/bridge_bench.py [--n 1000] [--skills 1000] [--steps 30] [--warmup 5] [--port 25595]
Prints one JSON object. Figures: the README's Benchmarks table (``make bench-report``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import repeat, stats_ms

from lifelong.library import SkillLibrary
from lifelong.minecraft.env import MinecraftEnv, SkillIndex
from lifelong.minecraft.server import EmbeddedServer

ECHO_JS = "const rl=require('readline').createInterface({input:process.stdin});rl.on('line',l=>process.stdout.write(l+'\\n'))"


def pipe_round_trip(n: int, warmup: int) -> list[float]:
    """The floor: a JSON line to a Node child and back over stdin/stdout."""
    proc = subprocess.Popen(["node", "-e", ECHO_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert proc.stdin is not None and proc.stdout is not None

    def ping() -> float:
        t = time.perf_counter()
        proc.stdin.write(json.dumps({"r": 0, "action": "ping"}).encode() + b"\n")
        proc.stdout.readline()
        return time.perf_counter() - t

    try:
        return repeat(ping, n, warmup)
    finally:
        proc.kill()
        proc.wait()


def build_library(root: Path, n: int) -> SkillLibrary:
    """n skills; skill i calls skills 2i+1 and 2i+2 (a call tree), bodies do no game actions."""
    lib = SkillLibrary(root)
    for i in reversed(range(n)):
        callees = [f"skill{j}" for j in (2 * i + 1, 2 * i + 2) if j < n and i < 40]
        calls = "".join(f"  await {c}(bot);\n" for c in callees)
        code = f"// skill {i}\nasync function skill{i}(bot) {{\n  let x = {i};\n{calls}  return x;\n}}\n"
        lib.add(f"skill{i}", code, kind="minecraft-program", description=f"benchmark skill {i}", calls=callees)
    return lib


PROGRAM = """async function main(bot) {
  await skill3(bot);
  await skill4(bot);
  await skill5(bot);
}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="round trips")
    ap.add_argument("--skills", type=int, default=1000, help="library size")
    ap.add_argument("--steps", type=int, default=30, help="program launches per variant")
    ap.add_argument("--warmup", type=int, default=5, help="uncounted calls per side before measuring")
    ap.add_argument("--port", type=int, default=25595)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(world_dir=Path(tmp) / "world", port=args.port, seed=1, mobs=False)
        server.start(detach=True)
        try:
            env = MinecraftEnv(server, username="bench")
            env.reset(mode="hard")
            bridge = repeat(env.ping, args.n, args.warmup)
            pipe = pipe_round_trip(args.n, args.warmup)

            lib = build_library(Path(tmp) / "lib", args.skills)
            names = lib.names()

            index = SkillIndex(lib)

            def ours() -> tuple[float, float, int]:
                t = time.perf_counter()
                skills = index.for_program(PROGRAM)
                t_resolve = time.perf_counter() - t
                obs = env.step(PROGRAM, skills)
                assert obs["ok"], obs["error"]
                return time.perf_counter() - t, t_resolve, len(skills)

            all_skills = [{"name": n, "code": lib.code(n)} for n in names]

            def voyager() -> float:
                t = time.perf_counter()
                obs = env.step(PROGRAM, all_skills)
                assert obs["ok"], obs["error"]
                return time.perf_counter() - t

            def observe() -> float:
                t = time.perf_counter()
                env.observe()
                return time.perf_counter() - t

            # the same warm-up (new code compiles once: the steady state) and samples for each side
            launches = repeat(ours, args.steps, args.warmup)
            voy = repeat(voyager, args.steps, args.warmup)
            obs_only = repeat(observe, args.steps, args.warmup)
            env.close()
        finally:
            server.stop()

    rt, floor = stats_ms(bridge), stats_ms(pipe)
    launch = stats_ms([x[0] for x in launches])
    result = {
        "round_trip": {**rt, "target_ms": 2.0, "meets_target": rt["median_ms"] < 2.0},
        "round_trip_peer_raw_pipe": floor,
        "round_trip_ratio_vs_raw_pipe": round(rt["median_ms"] / max(floor["median_ms"], 1e-9), 2),
        "launch_1000_skill_library": {
            **launch,
            "resolve_callees_median_ms": round(statistics.median(x[1] for x in launches) * 1000, 3),
            "skills_loaded": launches[0][2],
            "library_size": args.skills,
            "target_ms": 50.0,
            "meets_target": launch["median_ms"] < 50.0,
        },
        "observation_alone": stats_ms(obs_only),
        "launch_peer_voyager_all_skills_every_step": stats_ms(voy),
        "launch_speedup_vs_voyager": round(statistics.median(voy) / statistics.median(x[0] for x in launches), 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
