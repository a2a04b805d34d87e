"""Task cards, gymnasium registration and the batched simulator's faithfulness to gymnasium."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from lifelong.robotics import tasks
from lifelong.robotics.sim import BatchSim, RewardShapeError, call_reward

GYM_TASKS = ["Ant", "HalfCheetah", "Hopper", "Walker2d", "Humanoid", "Swimmer", "Reacher",
             "Pusher", "InvertedPendulum", "InvertedDoublePendulum"]
# For these, contact forces come from MuJoCo's in-step computation (see sim.py), not gymnasium's
# post-step recomputation: compare everything but the contact-force part of obs and reward.
CONTACT_OBS = {"Ant": 27, "Humanoid": 348 - 78}


def test_required_cards_exist_and_custom_tasks_are_present():
    names = tasks.list_tasks()
    assert set(GYM_TASKS) <= set(names)
    custom = [n for n in names if n not in GYM_TASKS]
    assert len(custom) >= 2, custom


@pytest.mark.parametrize("name", tasks.list_tasks())
def test_card_loads_registers_and_matches_sim_state(name):
    card = tasks.load_card(name)
    assert card.gym_id in gym.registry
    sim = tasks.make_sim(card, num_envs=3, seed=0)
    res = sim.step(np.zeros((3, sim.action_dim)))
    # The context shown to the LLM lists exactly the fields the reward receives.
    assert set(card.context.fields) == set(res.state)
    for key, value in res.state.items():
        assert value.shape[0] == 3, key
    for which in ("human", "sparse"):
        reward, comps = call_reward(card.reward_fn(which), res.state, 3)
        assert reward.shape == (3,) and comps
        assert all(c.shape == (3,) for c in comps.values())
    assert card.success_values(res.state, sim.dt).shape == (3,)
    assert res.obs.shape == (3, sim.obs_dim) and res.obs.dtype == np.float32
    env = gym.make(card.gym_id)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (sim.obs_dim,)
    _, r, *_, info = env.step(env.action_space.sample())
    assert np.isfinite(r) and "success" in info and info["reward_components"]
    env.close()


@pytest.mark.parametrize("name", GYM_TASKS)
def test_batch_sim_reproduces_gymnasium(name):
    """Same start state + same actions -> same obs, termination and human reward as gymnasium."""
    card = tasks.load_card(name)
    sim = tasks.make_sim(card, num_envs=2, seed=0)
    env = gym.make(card.base_env)
    u = env.unwrapped
    obs, _ = env.reset(seed=3)
    sim.batch.reset()
    sim.raw["qpos"][:] = u.data.qpos
    sim.raw["qvel"][:] = u.data.qvel
    sim.batch.forward()
    if sim.robot.position is not None:
        sim._pos = sim.robot.position(sim.u, sim.raw).copy()
    human = card.reward_fn("human")
    k = CONTACT_OBS.get(name, len(obs))
    rng = np.random.default_rng(0)
    lo, hi = env.action_space.low, env.action_space.high
    for t in range(60):
        action = rng.uniform(lo, hi) * 0.5
        obs, r, term, trunc, info = env.step(action)
        res = sim.step(np.tile(action, (2, 1)))
        np.testing.assert_allclose(res.final_obs[0, :k], obs[:k], rtol=1e-5, atol=1e-5)
        assert bool(res.terminated[0]) == term
        reward, comps = call_reward(human, res.state, 2)
        expected = r - info.get("reward_contact", 0.0) + comps.get("reward_contact", [0.0])[0]
        assert reward[0] == pytest.approx(expected, rel=1e-6, abs=1e-6)
        if term or trunc:
            break
    env.close()


def test_auto_reset_and_time_limit():
    card = tasks.load_card("Reacher")
    sim = tasks.make_sim(card, num_envs=4, seed=1)
    for t in range(49):
        res = sim.step(np.zeros((4, 2)))
        assert not res.truncated.any()
    res = sim.step(np.zeros((4, 2)))
    assert res.truncated.all() and not res.terminated.any()
    assert (sim.t == 0).all()
    assert not np.allclose(res.obs, res.final_obs)


def test_termination_resets_only_finished_envs():
    card = tasks.load_card("InvertedPendulum")
    sim = tasks.make_sim(card, num_envs=2, seed=0)
    for _ in range(200):
        res = sim.step(np.array([[3.0], [0.0]]))  # env 0 pushes hard and falls quickly
        if res.terminated[0]:
            break
    assert res.terminated[0] and res.state["upright"][0] == 0.0
    assert sim.t[0] == 0 and sim.t[1] > 0


def test_unknown_task_lists_known_ones():
    with pytest.raises(tasks.UnknownTaskError) as e:
        tasks.load_card("Cartwheel")
    assert "HalfCheetah" in str(e.value) and "Cartwheel" in str(e.value)


def test_task_names_are_case_insensitive_and_accept_gym_ids():
    assert tasks.load_card("halfcheetah").name == "HalfCheetah"
    assert tasks.load_card("lifelong/Hopper-v0").name == "Hopper"


def test_malformed_card_names_the_field(tmp_path):
    text = (tasks.tasks_dir() / "Hopper.yaml").read_text()
    bad = tmp_path / "Hopper.yaml"
    bad.write_text(text.replace("aggregate: sum", "aggregate: median"))
    with pytest.raises(tasks.TaskCardError, match=r"success\.aggregate"):
        tasks.load_card(bad)
    bad.write_text(text.replace("budget: 1000000\n", ""))
    with pytest.raises(tasks.TaskCardError, match="field 'budget'"):
        tasks.load_card(bad)
    bad.write_text(text.replace("def compute_reward(state):", "def reward(state):", 1))
    with pytest.raises(tasks.TaskCardError, match="human_reward"):
        tasks.load_card(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(tasks.TaskCardError, match="mapping"):
        tasks.load_card(bad)


def test_reward_output_is_checked():
    state = {"qpos": np.zeros((2, 1))}
    with pytest.raises(RewardShapeError, match="shape"):
        call_reward(lambda s: (np.zeros(3), {}), state, 2)
    with pytest.raises(RewardShapeError, match="NaN"):
        call_reward(lambda s: (np.array([0.0, np.nan]), {}), state, 2)
    with pytest.raises(RewardShapeError, match="return"):
        call_reward(lambda s: np.zeros(2), state, 2)
    reward, comps = call_reward(lambda s: (1.0, {"bonus": 2.0}), state, 2)
    assert reward.tolist() == [1.0, 1.0] and comps["bonus"].tolist() == [2.0, 2.0]


def test_batch_sim_rejects_unsupported_env():
    with pytest.raises(KeyError, match="supported"):
        BatchSim("CartPole-v1", 2)
