"""Wall time of one Eureka iteration (K reward candidates written, sandboxed, trained, reflected).

The LLM is the local scripted chat server (real HTTP) answering with K sound reward variants, so
the figure is the cost of everything but the language model: parsing, the sandbox, K PPO trainings
at the card's budget in parallel worker processes, evaluation and reflection.

Peer, measured in the same run: one of the same candidates trained in this process with no pool;
``sequential_estimate_s`` = K x that time is what a one-by-one loop would take, and ``speedup`` is
that estimate over the measured iteration. The machine's load average is printed with the result,
because the 2 cores are often shared.

    python benchmarks/eureka_bench.py --task InvertedPendulum --samples 8 --json

Measured here (2 cores shared with other agents' jobs, 2026-11-23), K=8, InvertedPendulum:
  card budget 100k steps/candidate, load avg 6.8-8.7: iteration 249 s, peer 30.8 s (speedup 0.99)
  card budget 30k steps/candidate,  load avg 3.9-5.1: iteration 126 s, peer 17.5 s (speedup 1.12)
  card budget 30k steps/candidate,  idle (load 0.9-1.4): iteration 51.3 s, peer 10.3 s (speedup 1.61)
On an idle machine a 30k-step PPO run takes ~5 s (~6k env-steps/s on one thread), so the
iteration is CPU-bound: K x 5 s / 2 workers + ~3 s of worker start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

TEMPLATE = '''
import numpy as np

def compute_reward(state):
    angle_temp = {temp}
    upright = np.exp(-angle_temp * np.abs(state["pole_angle"]))
    still = -{still} * state["pole_angular_velocity"] ** 2
    centre = -{centre} * state["cart_position"] ** 2
    alive = {alive} * state["upright"]
    return upright + still + centre + alive, {{"upright": upright, "still": still,
                                              "centre": centre, "alive": alive}}
'''


def variants(k: int) -> list[str]:
    """K distinct, sound InvertedPendulum-class rewards (what a good LLM sample looks like)."""
    out = []
    for i in range(k):
        code = TEMPLATE.format(temp=5.0 + 2.5 * i, still=0.01 * (1 + i % 3), centre=0.05 * (i % 2),
                               alive=0.5 + 0.25 * (i % 4))
        out.append(f"Variant {i}: balance the pole.\n```python\n{code.strip()}\n```\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="InvertedPendulum")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--steps", type=int, default=None, help="env steps per candidate (card budget)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--no-peer", action="store_true", help="skip the in-process peer training")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from lifelong.config import LLMSettings
    from lifelong.llm import LLM
    from lifelong.openai_server import ChatServer
    from lifelong.robotics.eureka import EurekaConfig, EurekaWorld
    from lifelong.robotics.pool import default_workers
    from lifelong.robotics.ppo import train
    from lifelong.robotics.reward import load_reward
    from lifelong.robotics.tasks import load_card
    from lifelong.runs import RunDir

    card = load_card(args.task)
    steps = args.steps or card.budget
    replies = variants(args.samples)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, ChatServer.scripted([replies]) as server:
        run = RunDir(Path(tmp) / "run")
        llm = LLM(LLMSettings(base_url=server.base_url), run_dir=run.path, cache_dir=None)
        config = EurekaConfig(samples=args.samples, steps=steps, workers=args.workers)
        world = EurekaWorld(args.task, llm, run, config)
        task = world.propose()
        start = time.perf_counter()
        attempts = world.verify(task, world.write(task, []), 0)
        iteration_s = time.perf_counter() - start
    ok = [a for a in attempts if a.verified]
    peer_s = None
    if not args.no_peer:
        t0 = time.perf_counter()
        train(card, load_reward(replies[0]), steps=steps, seed=0, threads=1)
        peer_s = time.perf_counter() - t0
    result = {
        "task": args.task, "samples": args.samples, "steps_per_candidate": steps,
        "workers": args.workers or default_workers(), "iteration_wall_s": round(iteration_s, 1),
        "candidates_ok": len(ok),
        "candidate_train_s": [a.evidence.get("wall_s") for a in attempts],
        "best_fitness": max((a.score for a in ok), default=None),
        "env_steps_per_s": round(sum(a.evidence.get("env_steps", 0) for a in ok) / iteration_s),
        "peer_single_train_s": None if peer_s is None else round(peer_s, 1),
        "sequential_estimate_s": None if peer_s is None else round(peer_s * args.samples, 1),
        "speedup": None if peer_s is None else round(peer_s * args.samples / iteration_s, 2),
        "target_s": 120, "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24s} {value}")


if __name__ == "__main__":
    main()
