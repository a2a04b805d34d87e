"""Our PPO (lifelong.robotics.ppo on mujoco.batch) vs stable-baselines3 PPO, same env, same steps.

Both are trained in this run for the same number of env steps with the env's own (gymnasium)
reward, then evaluated by the same code: deterministic actions, one episode per seed from the same
seeded start states (lifelong.robotics.ppo.evaluate; its simulator reproduces gymnasium v5 exactly,
see tests/test_robot_tasks.py). SB3 uses its default PPO hyper-parameters ("MlpPolicy", one env,
n_steps=2048, batch 64, 10 epochs) and a logger with no outputs, so it writes no /tmp/SB3-* folder.

By default the two trainings run at the same time in two processes, one torch thread each: on a
shared machine whose load changes by the minute, both then see the same load, so the ratio of
their speeds means something (SB3 runs alone once ours is done, which only favours SB3).
``--sequential`` runs ours first, then SB3, each with the whole machine: use it with
``--threads 2`` on Hopper, whose contact physics alone caps one thread at ~9-10k env-steps/s.

    python benchmarks/ppo_bench.py --env HalfCheetah-v5 --steps 1000000 --json
    python benchmarks/ppo_bench.py --env Hopper-v5 --steps 1000000 --threads 2 --sequential --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _card_for(env_id: str):
    from lifelong.robotics.tasks import list_tasks, load_card

    for name in list_tasks():
        card = load_card(name)
        if card.base_env == env_id and card.name == env_id.split("-v")[0]:
            return card
    raise SystemExit(f"no task card whose base_env is {env_id}")


class _SB3Actor:
    """Adapts an SB3 model to the ``act(obs, deterministic)`` interface evaluate() uses."""

    def __init__(self, model):
        self.model = model

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.model.predict(obs, deterministic=deterministic)[0]


def run_ours(card, steps: int, seed: int, threads: int, eval_seeds: list[int]) -> dict:
    from lifelong.robotics.ppo import evaluate, train

    t0 = time.perf_counter()
    result = train(card, card.reward_fn("human"), steps=steps, seed=seed, threads=threads)
    wall = time.perf_counter() - t0
    ev = evaluate(card, result.policy, seeds=eval_seeds)
    return {"steps": result.env_steps, "wall_s": wall, "steps_per_s": result.env_steps / wall,
            "return": ev.return_mean, "return_std": ev.return_std, "success": ev.success_mean}


def run_sb3(card, steps: int, seed: int, threads: int, eval_seeds: list[int]) -> dict:
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import Logger

    from lifelong.robotics.ppo import evaluate

    torch.set_num_threads(threads)
    env = gym.make(card.base_env, **card.env_kwargs)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0)
    model.set_logger(Logger(folder=None, output_formats=[]))
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - t0
    ev = evaluate(card, _SB3Actor(model), seeds=eval_seeds)
    env.close()
    return {"steps": int(model.num_timesteps), "wall_s": wall,
            "steps_per_s": model.num_timesteps / wall, "return": ev.return_mean,
            "return_std": ev.return_std, "success": ev.success_mean}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--env", default="HalfCheetah-v5")
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch (and mujoco.batch) threads, each")
    ap.add_argument("--eval-seeds", type=int, default=5)
    ap.add_argument("--skip-sb3", action="store_true", help="only time our trainer")
    ap.add_argument("--sequential", action="store_true", help="run SB3 after ours, not beside it")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    card = _card_for(args.env)
    seeds = list(range(args.eval_seeds))
    sb3_future = None
    if not args.skip_sb3 and not args.sequential:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
        sb3_future = pool.submit(run_sb3, card, args.steps, args.seed, args.threads, seeds)
    ours = run_ours(card, args.steps, args.seed, args.threads, seeds)
    print(f"ours: {ours}", file=sys.stderr, flush=True)  # progress: SB3 takes ~10x longer
    out = {"env": args.env, "steps": args.steps, "seed": args.seed, "threads": args.threads,
           "mode": "sequential" if args.sequential else "concurrent",
           "ours_steps_per_s": ours["steps_per_s"], "ours_return": ours["return"],
           "ours_return_std": ours["return_std"], "ours_wall_s": ours["wall_s"]}
    if not args.skip_sb3:
        if sb3_future is not None:
            sb3 = sb3_future.result()
            pool.shutdown()
        else:
            sb3 = run_sb3(card, args.steps, args.seed, args.threads, seeds)
        out.update(sb3_steps_per_s=sb3["steps_per_s"], sb3_return=sb3["return"],
                   sb3_return_std=sb3["return_std"], sb3_wall_s=sb3["wall_s"],
                   ratio=ours["steps_per_s"] / sb3["steps_per_s"],
                   return_diff=ours["return"] - sb3["return"])
    try:
        import os

        out["load_avg_1m"] = os.getloadavg()[0]  # the machine is shared: context for the figures
    except OSError:
        pass
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>18}: {v:.3f}" if isinstance(v, float) else f"{k:>18}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
