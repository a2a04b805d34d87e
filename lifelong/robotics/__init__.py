"""Eureka on MuJoCo: task cards (tasks), batched simulation (sim), PPO (ppo), reward design (reward).

Submodules are imported explicitly (``from lifelong.robotics.tasks import load_card``) so that
importing the package stays cheap; importing ``lifelong.robotics.tasks`` registers every task card
with gymnasium as ``lifelong/<Task>-v0``.
"""
