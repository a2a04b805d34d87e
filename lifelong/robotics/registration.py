"""Robotics' names in the core's registry (:mod:`lifelong.worlds`): its skill kinds and LLM role.

Imported on demand by :func:`lifelong.worlds.load_worlds`, so it must stay cheap: no MuJoCo, no torch.
"""

from __future__ import annotations

from lifelong.worlds import register_world

WORLD = "robotics"
REWARD = "reward-function"
"""A ``compute_reward(state)`` Python function, verified by training a policy on it."""
POLICY = "policy"
"""A trained PPO policy (the checkpoint is an artifact; the code is the reward it was trained on)."""
ROLES = {"reward": "gpt-4o"}

register_world(WORLD, kinds={REWARD: ".py", POLICY: ".py"}, roles=ROLES)
