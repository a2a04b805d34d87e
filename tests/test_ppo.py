"""PPO trainer: learning (acceptance), logged statistics, evaluation, checkpoints, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.robotics import ppo
from lifelong.robotics.tasks import load_card


@pytest.fixture(scope="module")
def pendulum():
    return load_card("InvertedPendulum")


@pytest.fixture(scope="module")
def trained(pendulum):
    """The acceptance run: human reward on InvertedPendulum, the card's default budget."""
    return ppo.train(pendulum, pendulum.reward_fn("human"), seed=0, threads=1)


def test_inverted_pendulum_reaches_950_deterministic_return(pendulum, trained):
    ev = ppo.evaluate(pendulum, trained.policy, seeds=range(5))
    assert ev.return_mean >= 950, ev.returns
    assert ev.success_mean == pytest.approx(ev.return_mean)  # F = upright steps = return here
    assert trained.env_steps <= pendulum.budget


def test_history_keeps_component_and_success_curves(trained):
    comps = trained.component_series()
    assert list(comps) == ["reward_survive"]
    assert len(comps["reward_survive"]) == len(trained.history)
    assert all(0.0 <= v <= 1.0 for v in comps["reward_survive"])
    success = [v for v in trained.series("success") if not math.isnan(v)]
    assert success and trained.max_success == max(success)
    assert success[-1] > success[0]  # it learned while we watched
    steps = trained.series("env_steps")
    assert steps == sorted(steps) and steps[-1] == trained.env_steps


def test_evaluation_is_deterministic_and_seeded(pendulum, trained):
    a = ppo.evaluate(pendulum, trained.policy, seeds=[3, 4])
    b = ppo.evaluate(pendulum, trained.policy, seeds=[3, 4])
    c = ppo.evaluate(pendulum, trained.policy, seeds=[4])
    assert a.returns == b.returns
    assert c.returns == a.returns[1:]  # an episode depends only on its seed


def test_checkpoint_round_trip(trained, tmp_path):
    path = tmp_path / "policies" / "pendulum.pt"
    trained.policy.save(path)
    loaded = ppo.Policy.load(path)
    obs = np.random.default_rng(0).normal(size=(7, trained.policy.obs_dim))
    np.testing.assert_array_equal(loaded.act(obs), trained.policy.act(obs))
    assert loaded.task == "InvertedPendulum"
    assert not list(path.parent.glob("*.tmp"))


def test_short_run_logs_tensorboard_and_custom_components(tmp_path):
    card = load_card("HalfCheetah")

    def reward(state):
        speed = state["x_velocity"]
        effort = -0.1 * np.square(state["action"]).sum(1)
        return speed + effort, {"speed": speed, "effort": effort}

    cfg = ppo.PPOConfig(num_envs=4, num_steps=16, epochs=1, minibatches=2)
    result = ppo.train(card, reward, steps=256, config=cfg, log_dir=tmp_path / "tb")
    assert result.env_steps == 256 and len(result.history) == 4
    assert set(result.component_series()) == {"speed", "effort"}
    assert all(v <= 0 for v in result.component_series()["effort"])
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_reward_errors_propagate_to_the_caller():
    card = load_card("Hopper")

    def broken(state):
        return state["no_such_field"], {}

    with pytest.raises(KeyError, match="no_such_field"):
        ppo.train(card, broken, steps=64, config=ppo.PPOConfig(num_envs=2, num_steps=4))


def test_thread_count_does_not_change_learning_and_is_restored():
    """The rollout runs torch on one thread and the update on ``threads``: same numbers either way."""
    card = load_card("HalfCheetah")
    cfg = ppo.PPOConfig(num_envs=4, num_steps=16, minibatches=2, epochs=2)
    one = ppo.train(card, card.reward_fn("human"), steps=128, seed=3, threads=1, config=cfg)
    two = ppo.train(card, card.reward_fn("human"), steps=128, seed=3, threads=2, config=cfg)
    assert torch.get_num_threads() == 2
    for a, b in zip(one.policy.parameters(), two.policy.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_gae_matches_a_scalar_reference():
    rng = np.random.default_rng(0)
    T, N, gamma, lam = 6, 3, 0.9, 0.8
    rew, val = rng.normal(size=(T, N)), rng.normal(size=(T, N))
    done = (rng.random((T, N)) < 0.3).astype(float)
    last = rng.normal(size=N)
    adv, ret = ppo._gae(rew, val, done, last, gamma, lam)
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            nxt = last[n] if t == T - 1 else val[t + 1, n]
            delta = rew[t, n] + gamma * nxt * (1 - done[t, n]) - val[t, n]
            running = delta + gamma * lam * (1 - done[t, n]) * running
            assert adv[t, n] == pytest.approx(running)
    np.testing.assert_allclose(ret, adv + val)


def test_config_overrides_are_checked():
    assert ppo.PPOConfig.from_overrides({"hidden": [32, 32]}).hidden == (32, 32)
    with pytest.raises(ValueError, match="learning_rate"):
        ppo.PPOConfig.from_overrides({"learning_rate": 1.0})


def test_cli_train_robot_json(tmp_path):
    result = CliRunner().invoke(app, ["train-robot", "InvertedPendulum", "--reward", "human", "--budget", "2048",
                                      "--eval-episodes", "2", "--json",
                                      "--save-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("task", "reward", "eval_return_mean", "eval_return_std_episodes", "success_mean",
                "env_steps", "wall_s"):
        assert key in out
    assert out["task"] == "InvertedPendulum" and out["reward"] == "human"
    assert out["env_steps"] == 2048
    assert (tmp_path / "InvertedPendulum-seed0.pt").exists()


def test_cli_reward_file_goes_through_the_sandbox(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import numpy as np\n\ndef compute_reward(state):\n"
                    "    up = state['upright']\n    return up, {'up': up}\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef compute_reward(state):\n    return state['upright'], {}\n")
    runner = CliRunner()
    ok = runner.invoke(app, ["train-robot", "InvertedPendulum", "--reward", str(good),
                             "--budget", "1024", "--eval-episodes", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["reward"] == str(good)
    rejected = runner.invoke(app, ["train-robot", "InvertedPendulum", "--reward", str(bad)])
    assert rejected.exit_code == 2
    assert "os" in rejected.output and "rejected" in rejected.output


def test_cli_bad_input_is_actionable():
    runner = CliRunner()
    unknown = runner.invoke(app, ["train-robot", "Cartwheel"])
    assert unknown.exit_code == 2 and "known tasks" in unknown.output
    wrong = runner.invoke(app, ["train-robot", "Hopper", "--reward", "dense"])
    assert wrong.exit_code == 2 and "human" in wrong.output


@pytest.mark.slow  # ~10 s idle: three short trainings
def test_ppo_bench_races_three_trainers_to_one_target():
    """benchmarks/ppo_bench.py end to end in this process: ours, SB3 with the zoo's tuned settings
    and normalisation, rsl-rl with our settings on our simulator; one target, one report shape."""
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    import ppo_bench

    threads = torch.get_num_threads()
    try:
        runs = [ppo_bench.run_job(t, "InvertedPendulum-v5", 1024, 0, every=512, episodes=2)
                for t in ("ours", "sb3-zoo", "rsl-rl")]
        # racing: a run past --steps that is at the target stops there, not at --race-steps
        raced = ppo_bench.run_job("ours", "InvertedPendulum-v5", 512, 0, every=512, episodes=2,
                                  race_steps=8192, target=-1.0)
    finally:
        torch.set_num_threads(threads)
    args = argparse.Namespace(env="InvertedPendulum-v5", steps=1024, race_steps=None, seeds=1,
                              eval_every=512, eval_episodes=2, workers=1, target=None, target_note="")
    out = ppo_bench.report(runs, args, [0.0])
    sb3 = out["trainers"]["sb3-zoo"]
    assert out["target_return"] == sb3["final_return"][0] and sb3["time_to_target_s"] is not None
    for name, t in out["trainers"].items():
        assert t["env_steps"][0] >= 512 and t["steps_per_s"] > 0, name
        steps = [p[0] for p in t["curves"][0]]
        assert steps == sorted(steps) and steps[-1] == t["env_steps"][0], name  # evaluated at the end
    assert sb3["hyperparams"]["zoo_entry"] == "InvertedPendulum-v2"  # the zoo's tuned entry
    card = load_card("InvertedPendulum")
    assert out["trainers"]["rsl-rl"]["hyperparams"]["algorithm"]["num_learning_epochs"] == \
        ppo.PPOConfig.from_overrides(card.ppo).epochs  # our hyper-parameters
    assert raced.env_steps == 512 and raced.time_to(-1.0) is not None
