"""Closed-loop env-steps/s: our BatchSim (mujoco.batch) vs gymnasium's SyncVectorEnv, same run.

Closed loop means an action is chosen after every control step (as PPO does), so mujoco.rollout's
open-loop multi-step mode does not apply; it is timed here one control step per call.

    python benchmarks/sim_bench.py --env HalfCheetah-v5 --envs 32 --seconds 3 --json
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import gymnasium as gym
import mujoco
import numpy as np
from common import emit
from mujoco import rollout

from lifelong.robotics.sim import BatchSim


def _timed(step, n_envs: int, seconds: float) -> float:
    step()  # warm-up
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        steps += n_envs
    return steps / (time.perf_counter() - t0)


def bench_batch(env_id: str, n: int, seconds: float, threads: int) -> float:
    sim = BatchSim(env_id, n, nthread=threads)
    rng = np.random.default_rng(0)
    return _timed(lambda: sim.step(rng.uniform(-1, 1, (n, sim.action_dim))), n, seconds)


def bench_sync_vector(env_id: str, n: int, seconds: float) -> float:
    envs = gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(n)])
    envs.reset(seed=0)
    try:
        return _timed(lambda: envs.step(envs.action_space.sample()), n, seconds)
    finally:
        envs.close()


def bench_rollout(env_id: str, n: int, seconds: float, threads: int) -> float:
    """mujoco.rollout, one control step (frame_skip substeps) per call: physics only."""
    u = gym.make(env_id).unwrapped
    model, skip = u.model, u.frame_skip
    datas = [mujoco.MjData(model) for _ in range(threads)]
    state = np.zeros((n, mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)))
    for i in range(n):
        mujoco.mj_getState(model, datas[0], state[i], mujoco.mjtState.mjSTATE_FULLPHYSICS)
    rng = np.random.default_rng(0)
    with rollout.Rollout(nthread=threads) as r:
        def step() -> None:
            ctrl = np.repeat(rng.uniform(-1, 1, (n, 1, model.nu)), skip, axis=1)
            st, _ = r.rollout(model, datas, state, ctrl, nstep=skip)
            state[:] = st[:, -1]

        return _timed(step, n, seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--env", default="HalfCheetah-v5")
    ap.add_argument("--envs", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = {"env": args.env, "envs": args.envs, "threads": args.threads,
           "batch_sim_steps_per_s": bench_batch(args.env, args.envs, args.seconds, args.threads),
           "rollout_steps_per_s": bench_rollout(args.env, args.envs, args.seconds, args.threads),
           "sync_vector_steps_per_s": bench_sync_vector(args.env, args.envs, args.seconds),
           "load_avg_1m": os.getloadavg()[0]}
    out["ratio_vs_sync_vector"] = out["batch_sim_steps_per_s"] / out["sync_vector_steps_per_s"]
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
