"""Our PPO against each peer at its best: wall time to the same return, over several seeds.

Trainers (``--peers`` picks the peers; ours always runs):

* ``ours``: lifelong.robotics.ppo on the batched simulator (lifelong.robotics.sim), with the task
  card's hyper-parameters.
* ``sb3-zoo``: stable-baselines3 PPO with rl-zoo3's tuned hyper-parameters for the env
  (``rl_zoo3/hyperparams/ppo.yml``; the zoo tunes the ``-v4`` MuJoCo tasks, whose dynamics the
  ``-v5`` ones share, so a ``-v5`` env without its own entry takes its ``-v4`` one) and the zoo's
  normalisation (``VecNormalize`` with the zoo's kwargs and the algorithm's gamma), on gymnasium.
* ``rsl-rl``: rsl-rl-lib's PPO (``OnPolicyRunner``) on *our* simulator with *our* hyper-parameters
  and our reward normalisation, so what differs from ours is the implementation alone.

The metric is the wall time of training (evaluations excluded) until a deterministic evaluation
reaches the target return; by default the target is tuned SB3's median final return. Every
trainer is evaluated by the same code every ``--eval-every`` env steps and at the end:
deterministic actions, one episode per evaluation seed from the same seeded start states
(lifelong.robotics.ppo.evaluate; the simulator reproduces gymnasium v5, tests/test_robot_tasks.py).
Reported per trainer: the median time to target and its range over seeds, the return at equal
steps (the last evaluation at or before ``--steps``) and env-steps/s of training.

A trainer that learns less per env step but runs many more of them per second needs more than
``--steps`` to reach the target: ``--race-steps`` lets every trainer but the one that sets the
target go on (evaluated the same way) until it reaches the target or that many steps. With
``--target`` given, every trainer races, and a run stops once it is past ``--steps`` and at the
target.

Each (trainer, seed) trains in its own process with one torch thread; ``--workers`` of them run
at a time (they then share the machine's load, which is recorded with the result). Figures: the
README's Benchmarks table (``make bench-report``), never quoted here.

    python benchmarks/ppo_bench.py --env HalfCheetah-v5 --steps 1000000 --seeds 5 \\
        --peers sb3-zoo,rsl-rl --json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PEERS = ("sb3-zoo", "rsl-rl")
Point = tuple[int, float, float]  # (env steps, training seconds, evaluation return)


def card_for(env_id: str) -> Any:
    """The task card whose base env is ``env_id`` (HalfCheetah-v5 -> the HalfCheetah card)."""
    from lifelong.robotics.tasks import list_tasks, load_card

    for name in list_tasks():
        card = load_card(name)
        if card.base_env == env_id and card.name == env_id.split("-v")[0]:
            return card
    raise SystemExit(f"no task card whose base_env is {env_id}")


# ---- timing and evaluation, the same for every trainer --------------------------------------


@dataclass
class Checkpoints:
    """The training clock (evaluations taken out) and a deterministic evaluation every ``every`` steps."""

    card: Any
    every: int
    episodes: int
    min_steps: int = 0                 # a run may stop early only past these steps...
    target: float | None = None        # ...and at this return
    start: float = field(default_factory=time.perf_counter)
    paused_s: float = 0.0
    curve: list[Point] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Past ``min_steps`` and at the target: racing on would measure nothing more."""
        return (self.target is not None and bool(self.curve) and self.curve[-1][0] >= self.min_steps
                and self.curve[-1][2] >= self.target)

    def train_s(self) -> float:
        return time.perf_counter() - self.start - self.paused_s

    def restart(self) -> None:
        """Start the clock where training starts: after the imports, before the simulator and
        the model are built (ours builds both inside ``train``, so the peers' count too)."""
        self.start, self.paused_s = time.perf_counter(), 0.0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - t

    def due(self, env_steps: int) -> bool:
        last = self.curve[-1][0] if self.curve else 0
        return env_steps - last >= self.every

    def evaluate(self, env_steps: int, actor: Any) -> None:
        """Evaluate ``actor`` (``act(obs, deterministic)``) now; the time it takes is not training."""
        from lifelong.robotics.ppo import evaluate

        train_s = self.train_s()
        with self.paused():
            ret = evaluate(self.card, actor, seeds=list(range(self.episodes))).return_mean
        self.curve.append((env_steps, train_s, float(ret)))


@dataclass
class Run:
    """One trainer on one seed."""

    trainer: str
    seed: int
    env_steps: int
    train_s: float
    curve: list[Point]
    hyperparams: dict[str, Any]

    @property
    def final_return(self) -> float:
        return self.curve[-1][2]

    def return_at(self, steps: int) -> float:
        """The last evaluation at or before ``steps``: the return at equal steps."""
        return [ret for n, _, ret in self.curve if n <= steps][-1]

    def time_to(self, target: float) -> float | None:
        """Training seconds at the first evaluation at or above ``target`` (None: never)."""
        return next((s for _, s, ret in self.curve if ret >= target), None)


# ---- the trainers ---------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised from ``train``'s on_update hook: the run reached the target (see Checkpoints.done)."""


def run_ours(card: Any, steps: int, seed: int, clock: Checkpoints) -> tuple[int, dict[str, Any]]:
    from lifelong.robotics.ppo import PPOConfig, train

    def on_update(env_steps: int, policy: Any) -> None:
        if clock.due(env_steps):
            clock.evaluate(env_steps, policy)
        if clock.done:
            raise _Stop

    cfg = PPOConfig.from_overrides(card.ppo)
    clock.restart()
    try:
        result = train(card, card.reward_fn("human"), steps=steps, seed=seed, threads=1, config=cfg,
                       on_update=on_update)
    except _Stop:
        return clock.curve[-1][0], asdict(cfg)
    if not clock.curve or clock.curve[-1][0] != result.env_steps:
        clock.evaluate(result.env_steps, result.policy)
    return result.env_steps, asdict(cfg)


def zoo_hyperparams(env_id: str) -> tuple[str, dict[str, Any]]:
    """rl-zoo3's tuned PPO entry for ``env_id`` (else the same task's newest other version)."""
    import rl_zoo3
    import yaml

    table = yaml.safe_load((Path(rl_zoo3.__file__).parent / "hyperparams" / "ppo.yml").read_text())
    name = env_id.rsplit("-v", 1)[0]
    versions = sorted((k for k in table if k.rsplit("-v", 1)[0] == name),
                      key=lambda k: int(k.rsplit("-v", 1)[1]), reverse=True)
    key = env_id if env_id in table else (versions[0] if versions else "default")
    return key, dict(table[key])


class _SB3Actor:
    """A zoo-trained SB3 model as ``act(obs, deterministic)``: the zoo's VecNormalize, then predict."""

    def __init__(self, model: Any, vec_normalize: Any) -> None:
        self.model, self.vec_normalize = model, vec_normalize

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        if self.vec_normalize is not None:
            obs = self.vec_normalize.normalize_obs(obs)
        return self.model.predict(obs, deterministic=deterministic)[0]


def sb3_zoo_model(card: Any, seed: int) -> tuple[Any, Any, dict[str, Any]]:
    """SB3 PPO built as rl-zoo3 builds it: its schedules, policy kwargs and VecNormalize."""
    import torch
    from rl_zoo3.exp_manager import ExperimentManager
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import VecNormalize

    key, hp = zoo_hyperparams(card.base_env)
    shown = {"zoo_entry": key, **{k: str(v) for k, v in hp.items()}}
    normalize = hp.pop("normalize", False)
    norm_kwargs = eval(normalize) if isinstance(normalize, str) else {}
    if "gamma" in hp:
        norm_kwargs["gamma"] = hp["gamma"]
    n_envs = hp.pop("n_envs", 1)
    hp.pop("n_timesteps", None)
    hp = ExperimentManager._preprocess_schedules(hp)
    if isinstance(hp.get("policy_kwargs"), str):
        hp["policy_kwargs"] = eval(hp["policy_kwargs"], {"nn": torch.nn, "dict": dict})
    env = make_vec_env(card.base_env, n_envs=n_envs, seed=seed, env_kwargs=card.env_kwargs)
    if normalize:
        env = VecNormalize(env, **norm_kwargs)
    model = PPO(env=env, seed=seed, device="cpu", verbose=0, **hp)
    model.set_logger(Logger(folder=None, output_formats=[]))  # no /tmp/SB3-* folder
    return model, env if normalize else None, shown


def run_sb3_zoo(card: Any, steps: int, seed: int, clock: Checkpoints) -> tuple[int, dict[str, Any]]:
    import rl_zoo3.exp_manager  # noqa: F401 - imported before the clock starts
    from stable_baselines3.common.callbacks import BaseCallback

    clock.restart()
    model, vec_normalize, shown = sb3_zoo_model(card, seed)
    actor = _SB3Actor(model, vec_normalize)

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if clock.due(self.num_timesteps):
                clock.evaluate(self.num_timesteps, actor)
            return not clock.done

    model.learn(total_timesteps=steps, callback=Evaluate())
    if not clock.curve or clock.curve[-1][0] != model.num_timesteps:
        clock.evaluate(int(model.num_timesteps), actor)
    return int(clock.curve[-1][0]), shown


def rsl_rl_config(cfg: Any) -> dict[str, Any]:
    """rsl-rl's runner config holding our hyper-parameters (see the module docstring)."""
    mlp = {"class_name": "MLPModel", "hidden_dims": list(cfg.hidden), "activation": "tanh",
           "obs_normalization": cfg.norm_obs}
    return {
        "num_steps_per_env": cfg.num_steps, "save_interval": 10**9, "check_for_nan": False,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "algorithm": {
            "class_name": "PPO", "num_learning_epochs": cfg.epochs, "num_mini_batches": cfg.minibatches,
            "clip_param": cfg.clip_coef, "gamma": cfg.gamma, "lam": cfg.gae_lambda,
            # ours: vf_coef x 0.5 x clipped MSE; rsl-rl: value_loss_coef x clipped MSE
            "value_loss_coef": cfg.vf_coef * 0.5, "entropy_coef": cfg.ent_coef,
            "learning_rate": cfg.lr, "max_grad_norm": cfg.max_grad_norm,
            "use_clipped_value_loss": True, "normalize_advantage_per_mini_batch": True,
            "schedule": "adaptive" if cfg.desired_kl is not None else "fixed",
            "desired_kl": cfg.desired_kl,
        },
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution",
                                               "init_std": math.exp(cfg.init_log_std), "std_type": "log"}},
        "critic": mlp,
    }


def sim_vec_env(card: Any, cfg: Any, seed: int) -> Any:
    """Our batched simulator as rsl-rl's VecEnv, with our trainer's reward normalisation."""
    import torch
    from rsl_rl.env import VecEnv
    from tensordict import TensorDict

    from lifelong.robotics.ppo import RunningMeanStd
    from lifelong.robotics.sim import call_reward
    from lifelong.robotics.tasks import make_sim

    class SimVecEnv(VecEnv):
        def __init__(self) -> None:
            self.sim = make_sim(card, cfg.num_envs, seed=seed, nthread=1)
            self.reward_fn = card.reward_fn("human")
            self.num_envs, self.num_actions = cfg.num_envs, self.sim.action_dim
            self.max_episode_length = self.sim.max_episode_steps
            self.episode_length_buf = torch.zeros(cfg.num_envs, dtype=torch.long)
            self.device, self.cfg = "cpu", {}
            self.obs = self.sim.reset()
            self.ret_rms, self.disc_ret = RunningMeanStd(), np.zeros(cfg.num_envs)

        def get_observations(self) -> TensorDict:
            obs = torch.as_tensor(self.obs, dtype=torch.float32)
            return TensorDict({"policy": obs}, batch_size=[self.num_envs])

        def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
            res = self.sim.step(actions.numpy())
            reward, _ = call_reward(self.reward_fn, res.state, self.num_envs)
            done = res.terminated | res.truncated
            if cfg.norm_reward:  # exactly as lifelong.robotics.ppo.train normalises
                self.disc_ret = self.disc_ret * cfg.gamma + reward
                self.ret_rms.update(self.disc_ret)
                reward = np.clip(reward / np.sqrt(self.ret_rms.var + 1e-8), -10, 10)
                self.disc_ret[done] = 0.0
            self.obs = res.obs
            self.episode_length_buf = (self.episode_length_buf + 1) * torch.as_tensor(~done)
            return (self.get_observations(), torch.as_tensor(reward, dtype=torch.float32),
                    torch.as_tensor(done), {"time_outs": torch.as_tensor(res.truncated)})

    return SimVecEnv()


class _RslActor:
    """rsl-rl's actor as ``act(obs, deterministic)`` (its normaliser is inside the model)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        import torch
        from tensordict import TensorDict

        with torch.inference_mode():
            x = TensorDict({"policy": torch.as_tensor(obs, dtype=torch.float32)}, batch_size=[len(obs)])
            return self.actor(x, stochastic_output=not deterministic).numpy().astype(np.float64)


def run_rsl_rl(card: Any, steps: int, seed: int, clock: Checkpoints) -> tuple[int, dict[str, Any]]:
    import torch
    from rsl_rl.runners import OnPolicyRunner

    from lifelong.robotics.ppo import PPOConfig

    cfg = PPOConfig.from_overrides(card.ppo)
    torch.manual_seed(seed)
    config = rsl_rl_config(cfg)
    batch = cfg.num_envs * cfg.num_steps
    per_eval = max(1, clock.every // batch)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the models and every iteration
        clock.restart()
        runner = OnPolicyRunner(sim_vec_env(card, cfg, seed), config, log_dir=None, device="cpu")
        actor = _RslActor(runner.alg.actor)
        done, iterations = 0, max(1, steps // batch)
        while done < iterations and not clock.done:
            chunk = min(per_eval, iterations - done)
            runner.learn(num_learning_iterations=chunk)
            done += chunk
            clock.evaluate(done * batch, actor)
    return done * batch, config


TRAINERS: dict[str, Callable[[Any, int, int, Checkpoints], tuple[int, dict[str, Any]]]] = {
    "ours": run_ours, "sb3-zoo": run_sb3_zoo, "rsl-rl": run_rsl_rl,
}


def run_job(trainer: str, env_id: str, steps: int, seed: int, every: int, episodes: int,
            race_steps: int | None = None, target: float | None = None) -> Run:
    """One training run, in a worker process with one torch thread: ``steps`` env steps, or up
    to ``race_steps`` until it is past ``steps`` at ``target``."""
    import torch

    torch.set_num_threads(1)
    card = card_for(env_id)
    clock = Checkpoints(card, every, episodes, min_steps=steps, target=target)
    env_steps, hyperparams = TRAINERS[trainer](card, max(steps, race_steps or 0), seed, clock)
    return Run(trainer, seed, env_steps, clock.train_s(), clock.curve, hyperparams)


# ---- the report -------------------------------------------------------------------------------------


def _median(xs: list[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def summarize(runs: list[Run], target: float, steps: int) -> dict[str, Any]:
    """Per-trainer figures; a seed that never reaches the target counts as slower than all others."""
    times = [run.time_to(target) for run in runs]
    ranked = [math.inf if t is None else t for t in times]
    median = statistics.median(ranked) if ranked else math.inf
    reached = [t for t in times if t is not None]
    return {
        "time_to_target_s": None if math.isinf(median) else median,
        "time_to_target_range_s": [min(reached), max(reached)] if reached else None,
        "time_to_target_per_seed_s": times,
        "reached": f"{len(reached)}/{len(runs)}",
        "final_return": [run.return_at(steps) for run in runs],
        "last_return": [run.final_return for run in runs],
        "steps_per_s": _median([run.env_steps / run.train_s for run in runs]),
        "env_steps": [run.env_steps for run in runs],
        "train_s": [round(run.train_s, 1) for run in runs],
        "seeds": [run.seed for run in runs],
        "curves": [run.curve for run in runs],
        "hyperparams": runs[0].hyperparams if runs else {},
    }


def report(runs: list[Run], args: argparse.Namespace, loads: list[float]) -> dict[str, Any]:
    by = {name: [r for r in runs if r.trainer == name] for name in dict.fromkeys(r.trainer for r in runs)}
    target, source = args.target, "--target"
    if target is None:
        source = "sb3-zoo" if by.get("sb3-zoo") else "ours"
        target = statistics.median(r.return_at(args.steps) for r in by[source])
        source = f"{source}'s median final return"
    trainers = {name: summarize(rs, target, args.steps) for name, rs in by.items()}
    ours = trainers["ours"]["time_to_target_s"]
    speedup = {name: (t["time_to_target_s"] / ours if ours and t["time_to_target_s"] else None)
               for name, t in trainers.items() if name != "ours"}
    return {"env": args.env, "steps": args.steps, "race_steps": args.race_steps, "seeds": args.seeds,
            "eval_every": args.eval_every, "target_note": args.target_note,
            "eval_episodes": args.eval_episodes, "workers": args.workers, "target_return": target,
            "target_source": source, "trainers": trainers, "ours_speedup_to_target": speedup,
            "load_avg_1m": loads, "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--env", default="HalfCheetah-v5")
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated: sb3-zoo, rsl-rl, or none")
    ap.add_argument("--target", type=float, default=None, help="default: sb3-zoo's median final return")
    ap.add_argument("--target-note", default="", help="where a given --target comes from")
    ap.add_argument("--race-steps", type=int, default=None,
                    help="let trainers go on to this many steps to reach the target (default: --steps)")
    ap.add_argument("--eval-every", type=int, default=None, help="env steps (default: steps / 20)")
    ap.add_argument("--eval-episodes", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="trainings at a time")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    peers = [p for p in args.peers.split(",") if p and p != "none"]
    if bad := set(peers) - set(PEERS):
        ap.error(f"unknown peers {sorted(bad)}; known: {', '.join(PEERS)}")
    args.eval_every = args.eval_every or max(1, args.steps // 20)
    jobs = [(t, s) for s in range(args.seeds) for t in ("ours", *peers)]
    loads = [round(os.getloadavg()[0], 2)]
    setter = None if args.target is not None else ("sb3-zoo" if "sb3-zoo" in peers else "ours")

    def race(trainer: str) -> int | None:
        return None if trainer == setter else args.race_steps

    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn"), max_tasks_per_child=1) as pool:
        futures = [pool.submit(run_job, t, args.env, args.steps, s, args.eval_every, args.eval_episodes,
                               race(t), args.target) for t, s in jobs]
        runs = []
        for future in futures:
            runs.append(future.result())
            run = runs[-1]
            print(f"{run.trainer} seed {run.seed}: return {run.final_return:.0f} after {run.env_steps} steps, "
                  f"{run.env_steps / run.train_s:.0f} steps/s", file=sys.stderr, flush=True)
            loads.append(round(os.getloadavg()[0], 2))
    out = report(runs, args, loads)
    print(json.dumps(out) if args.json else json.dumps({k: v for k, v in out.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
